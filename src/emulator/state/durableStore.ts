/**
 * What a request sees of the vault's state. A change is checked and made against every change
 * accepted so far (so concurrent writers follow the service's rules), but readers see it only once
 * it is durable: after a crash no reader has seen anything that is gone.
 */
import type { SecretStore } from "./store.js";
import type { StoreRecord } from "./storeTypes.js";
import type { VaultClock } from "./vaultClock.js";

/** The same call on one of the two stores. */
type Call<K extends keyof SecretStore> = SecretStore[K] extends (...args: infer A) => infer R
  ? (...args: A) => R
  : never;

/**
 * Two replicas of the store fed the same records: `accepted` takes each change as it is made,
 * `durable` takes it once the journal reports it durable ({@link DurableStore.commit}). Without a
 * journal both are the same store.
 */
export class DurableStore {
  /**
   * @param accepted - the store every change is made in first
   * @param durable - the store readers see; the same object when nothing is journaled
   */
  constructor(
    private readonly accepted: SecretStore,
    private readonly durable: SecretStore = accepted,
  ) {}

  /** The clock readers see. */
  get clock(): VaultClock {
    return this.durable.clock;
  }

  // ---- reads: durable state only --------------------------------------------------------------

  /** {@inheritDoc SecretStore.get} */
  readonly get: Call<"get"> = (...args) => this.durable.get(...args);

  /** {@inheritDoc SecretStore.getDeleted} */
  readonly getDeleted: Call<"getDeleted"> = (...args) => this.durable.getDeleted(...args);

  /** {@inheritDoc SecretStore.list} */
  readonly list: Call<"list"> = (...args) => this.durable.list(...args);

  /** {@inheritDoc SecretStore.listVersions} */
  readonly listVersions: Call<"listVersions"> = (...args) => this.durable.listVersions(...args);

  /** {@inheritDoc SecretStore.listDeleted} */
  readonly listDeleted: Call<"listDeleted"> = (...args) => this.durable.listDeleted(...args);

  /** {@inheritDoc SecretStore.exportSecret} */
  readonly exportSecret: Call<"exportSecret"> = (...args) => this.durable.exportSecret(...args);

  /** {@inheritDoc SecretStore.reveal} */
  readonly reveal: Call<"reveal"> = (...args) => this.durable.reveal(...args);

  /** {@inheritDoc SecretStore.snapshot} */
  readonly snapshot: Call<"snapshot"> = (...args) => this.durable.snapshot(...args);

  /**
   * {@inheritDoc SecretStore.currentVersions}
   * Read from the accepted state: an expiry event is decided against every change made, so a
   * notice made a moment ago is not made twice while it becomes durable.
   */
  readonly currentVersions: Call<"currentVersions"> = (...args) =>
    this.accepted.currentVersions(...args);

  // ---- changes: checked against every accepted change -----------------------------------------

  /** {@inheritDoc SecretStore.set} */
  readonly set: Call<"set"> = (...args) => this.accepted.set(...args);

  /** {@inheritDoc SecretStore.update} */
  readonly update: Call<"update"> = (...args) => this.accepted.update(...args);

  /** {@inheritDoc SecretStore.delete} */
  readonly delete: Call<"delete"> = (...args) => this.accepted.delete(...args);

  /** {@inheritDoc SecretStore.purge} */
  readonly purge: Call<"purge"> = (...args) => this.accepted.purge(...args);

  /** {@inheritDoc SecretStore.recover} */
  readonly recover: Call<"recover"> = (...args) => this.accepted.recover(...args);

  /** {@inheritDoc SecretStore.restore} */
  readonly restore: Call<"restore"> = (...args) => this.accepted.restore(...args);

  /**
   * Applies a change made outside the methods above (test controls) to the accepted state.
   * @param record - the change
   */
  apply(record: StoreRecord): void {
    this.accepted.apply(record);
  }

  /**
   * Makes a change visible to readers; called once the journal holds it durably, in journal order.
   * @param record - a change already applied to the accepted state
   */
  commit(record: StoreRecord): void {
    if (this.durable !== this.accepted) this.durable.apply(record);
  }

  /**
   * Replays a journaled change into both states (at start, before any request).
   * @param record - the change
   */
  replay(record: StoreRecord): void {
    this.accepted.apply(record);
    this.commit(record);
  }
}
