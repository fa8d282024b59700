/**
 * What a request sees of the vault's state. A change is checked and made against every change
 * accepted so far (so concurrent writers follow the service's rules), but readers see it only once
 * it is durable: after a crash no reader has seen anything that is gone.
 */
import type {
  DeletedSecretBundleWire,
  DeletedSecretItemWire,
  SecretBundleWire,
  SecretItemWire,
} from "../api/wireTypes.js";
import type {
  Mutation,
  RenderContext,
  SecretStore,
  SerializedSecret,
  SetFields,
  StoreRecord,
  UpdateFields,
  VaultClock,
} from "./store.js";

type Page<T> = { items: T[]; lastKey: string; more: boolean };

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
  get(name: string, version: string, ctx: RenderContext): SecretBundleWire {
    return this.durable.get(name, version, ctx);
  }

  /** {@inheritDoc SecretStore.getDeleted} */
  getDeleted(name: string, ctx: RenderContext): DeletedSecretBundleWire {
    return this.durable.getDeleted(name, ctx);
  }

  /** {@inheritDoc SecretStore.list} */
  list(afterKey: string, max: number, ctx: RenderContext): Page<SecretItemWire> {
    return this.durable.list(afterKey, max, ctx);
  }

  /** {@inheritDoc SecretStore.listVersions} */
  listVersions(
    name: string,
    afterVersion: string,
    max: number,
    ctx: RenderContext,
  ): Page<SecretItemWire> {
    return this.durable.listVersions(name, afterVersion, max, ctx);
  }

  /** {@inheritDoc SecretStore.listDeleted} */
  listDeleted(afterKey: string, max: number, ctx: RenderContext): Page<DeletedSecretItemWire> {
    return this.durable.listDeleted(afterKey, max, ctx);
  }

  /** {@inheritDoc SecretStore.exportSecret} */
  exportSecret(name: string): SerializedSecret {
    return this.durable.exportSecret(name);
  }

  /** {@inheritDoc SecretStore.snapshot} */
  snapshot(): StoreRecord[] {
    return this.durable.snapshot();
  }

  // ---- changes: checked against every accepted change -----------------------------------------

  /** {@inheritDoc SecretStore.set} */
  set(name: string, fields: SetFields, ctx: RenderContext): Mutation<SecretBundleWire> {
    return this.accepted.set(name, fields, ctx);
  }

  /** {@inheritDoc SecretStore.update} */
  update(
    name: string,
    version: string,
    fields: UpdateFields,
    ctx: RenderContext,
  ): Mutation<SecretBundleWire> {
    return this.accepted.update(name, version, fields, ctx);
  }

  /** {@inheritDoc SecretStore.delete} */
  delete(name: string, ctx: RenderContext): Mutation<DeletedSecretBundleWire> {
    return this.accepted.delete(name, ctx);
  }

  /** {@inheritDoc SecretStore.purge} */
  purge(name: string): Mutation<undefined> {
    return this.accepted.purge(name);
  }

  /** {@inheritDoc SecretStore.recover} */
  recover(name: string, ctx: RenderContext): Mutation<SecretBundleWire> {
    return this.accepted.recover(name, ctx);
  }

  /** {@inheritDoc SecretStore.restore} */
  restore(secret: SerializedSecret, ctx: RenderContext): Mutation<SecretBundleWire> {
    return this.accepted.restore(secret, ctx);
  }

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
