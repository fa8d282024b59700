/**
 * The vault's events, wired: durable changes become events (`SecretNewVersionCreated` for a set or
 * a restore, the expiry events for notices), each published to the subscriptions that take its
 * type; the expiry watch makes the notices. One owner for the subscriptions, the watch, the
 * delivery timers and the outgoing connections: `close()` ends them all.
 */
import {
  secretExpiredEventType,
  secretNearExpiryEventType,
  secretNewVersionCreatedEventType,
} from "../../events/keyVaultEvents.js";
import type { LocalVaultEventOptions } from "./eventOptions.js";
import { checkEventSubscription, type CheckedEventSubscription } from "./eventOptions.js";
import type { StoreRecord } from "../state/storeTypes.js";
import { DeadLetterList, type DeadLetter } from "./deadLetters.js";
import { EventDelivery } from "./delivery.js";
import { newVaultEvent, type VaultEvent, type VaultIdentity } from "./eventEnvelope.js";
import { ExpiryWatch, type ExpiryWatchStore, type NoticeRecord } from "./expiryWatch.js";
import { SubscriptionRegistry, summarize, type SubscriptionSummary } from "./subscriptions.js";
import { WebhookClient } from "./webhookClient.js";

/** The subscriptions and dead letters as the control route and the page show them. */
export interface EventsStatus {
  subscriptions: SubscriptionSummary[];
  deadLetters: number;
}

/** The events of one vault. */
export class VaultEvents {
  private readonly subscriptions = new SubscriptionRegistry();
  private readonly client = new WebhookClient();
  private readonly identity: VaultIdentity;
  private readonly delivery: EventDelivery;
  private readonly watch: ExpiryWatch;
  private started = false;
  private closed = false;

  /**
   * @param settings - the subscriptions given at start and the events' timing
   * @param store - the vault clock and the current versions (for the expiry watch)
   * @param notify - makes a notice: applies it and journals it (it comes back once durable)
   */
  constructor(
    settings: Required<LocalVaultEventOptions> & { subscriptions: CheckedEventSubscription[] },
    private readonly store: ExpiryWatchStore,
    notify: (record: NoticeRecord) => void,
  ) {
    this.identity = { vaultUrl: "", vaultName: settings.vaultName };
    this.delivery = new EventDelivery(this.client, settings, this.identity, new DeadLetterList());
    this.watch = new ExpiryWatch(store, settings.nearExpiryInMs, notify);
    for (const subscription of settings.subscriptions) this.subscriptions.add(subscription);
  }

  /**
   * Starts once the vault listens (changes before, such as a seed, make no event): the
   * handshakes of the subscriptions given, and the expiry watch.
   * @param vaultUrl - the vault's URL, the start of every `data.Id`
   */
  start(vaultUrl: string): void {
    if (this.started || this.closed) return;
    this.identity.vaultUrl = vaultUrl;
    this.started = true;
    for (const subscription of this.subscriptions.all()) this.delivery.validate(subscription);
    this.watch.start();
  }

  /**
   * Takes a change once it is durable: publishes its event, if it makes one, and lets the
   * expiry watch look again. Never throws and never waits: deliveries run from timers.
   * @param record - the change
   */
  recordDurable(record: StoreRecord): void {
    if (!this.started || this.closed) return;
    const event = eventOf(record, this.store.clock.nowMs());
    if (event !== undefined) {
      for (const subscription of this.subscriptions.taking(event.type)) {
        this.delivery.publish(subscription, event);
      }
    }
    this.watch.changed(record);
  }

  /**
   * Adds a subscription (the control route); its handshake starts at once.
   * @param body - `{ endpoint, eventTypes?, schema? }`
   * @returns the subscription, pending
   * @throws TypeError or RangeError for a subscription the vault does not take
   */
  subscribe(body: unknown): SubscriptionSummary {
    const subscription = this.subscriptions.add(checkEventSubscription(body, "The subscription"));
    if (this.started) this.delivery.validate(subscription);
    return summarize(subscription);
  }

  /** The subscriptions and how many dead letters there are. */
  status(): EventsStatus {
    return {
      subscriptions: this.subscriptions.all().map(summarize),
      deadLetters: this.delivery.deadLetters.list().length,
    };
  }

  /** The dead letters, oldest first. */
  deadLetters(): readonly DeadLetter[] {
    return this.delivery.deadLetters.list();
  }

  /** Stops the watch, every retry timer, every request in flight and every connection. */
  close(): void {
    this.closed = true;
    this.watch.close();
    this.delivery.close();
    this.client.close();
  }
}

/** The event a durable change makes, if any. */
function eventOf(record: StoreRecord, nowMs: number): VaultEvent | undefined {
  switch (record.type) {
    case "set":
      return newVaultEvent(secretNewVersionCreatedEventType, record, nowMs);
    case "restore": {
      // A restore brings back every version; the one it makes current is the new one to readers.
      const latest = record.secret.versions[record.secret.versions.length - 1];
      const { version, nbf, exp } = latest;
      return newVaultEvent(
        secretNewVersionCreatedEventType,
        { name: record.secret.name, version, nbf, exp },
        nowMs,
      );
    }
    case "notice":
      return newVaultEvent(
        record.kind === "nearExpiry" ? secretNearExpiryEventType : secretExpiredEventType,
        record,
        nowMs,
      );
    default:
      return undefined;
  }
}
