/**
 * The vault's event subscriptions: each one's webhook, schema and event types, where its handshake
 * stands, and the events waiting for it. Subscriptions come only from the vault's options, its
 * command line and the authenticated control route, at most {@link maxEventSubscriptions} in all.
 */
import { randomUUID } from "node:crypto";
import type { EventSchema, KeyVaultSecretEventType } from "../../events/keyVaultEvents.js";
import type { VaultEvent } from "./eventEnvelope.js";
import { maxEventSubscriptions, type CheckedEventSubscription } from "./eventOptions.js";

/**
 * Where a subscription's handshake stands: `pending` until the webhook completes it (events
 * wait), `validated` once it did (events go out), `failed` once every attempt failed (events go
 * to the dead letters).
 */
export type SubscriptionState = "pending" | "validated" | "failed";

/** One event on its way to one subscription. */
export interface DeliveryJob {
  event: VaultEvent;
  /** Attempts made so far. */
  attempts: number;
  /** What the last attempt got: `HTTP 500`, or why no answer came. */
  lastOutcome?: string;
  lastStatus?: number;
  /** Wall-clock milliseconds of the last attempt. */
  lastAttemptMs?: number;
}

/** A subscription and its deliveries. */
export interface Subscription {
  /** `local-1`, `local-2`, ... in the order they were made (Event Grid's `aeg-subscription-name`). */
  readonly name: string;
  readonly endpoint: URL;
  readonly schema: EventSchema;
  readonly eventTypes: ReadonlySet<KeyVaultSecretEventType>;
  /** The code the webhook echoes (Event Grid schema). */
  readonly validationCode: string;
  state: SubscriptionState;
  /** Handshake attempts made so far. */
  handshakeAttempts: number;
  /** What the last failed handshake attempt got, while the handshake is not done. */
  handshakeOutcome?: string;
  /** Events waiting for the handshake or for their turn, oldest first. */
  readonly queue: DeliveryJob[];
  /** Whether a request to the webhook is in flight (one at a time per subscription). */
  sending: boolean;
}

/** A subscription as the control route and the page show it. */
export interface SubscriptionSummary {
  name: string;
  /** The webhook without its query (which may hold a key). */
  endpoint: string;
  schema: EventSchema;
  eventTypes: KeyVaultSecretEventType[];
  state: SubscriptionState;
  /** Events waiting for the handshake or for their turn. */
  queued: number;
  /** What the last failed handshake attempt got (`HTTP 404 without the validation code as validationResponse`). */
  handshakeOutcome?: string;
}

/** The vault's subscriptions. */
export class SubscriptionRegistry {
  private readonly subscriptions: Subscription[] = [];

  /**
   * Adds a subscription, its handshake pending.
   * @param checked - the subscription, checked
   * @returns the new subscription
   * @throws RangeError when the vault holds {@link maxEventSubscriptions} already
   */
  add(checked: CheckedEventSubscription): Subscription {
    if (this.subscriptions.length >= maxEventSubscriptions) {
      throw new RangeError(
        `The vault holds ${maxEventSubscriptions} event subscriptions, the most it takes.`,
      );
    }
    const subscription: Subscription = {
      name: `local-${this.subscriptions.length + 1}`,
      endpoint: checked.endpoint,
      schema: checked.schema,
      eventTypes: new Set(checked.eventTypes),
      validationCode: randomUUID(),
      state: "pending",
      handshakeAttempts: 0,
      queue: [],
      sending: false,
    };
    this.subscriptions.push(subscription);
    return subscription;
  }

  /** Every subscription, oldest first. */
  all(): readonly Subscription[] {
    return this.subscriptions;
  }

  /**
   * The subscriptions that take an event type.
   * @param type - the event's type
   * @returns them, oldest first
   */
  taking(type: KeyVaultSecretEventType): Subscription[] {
    return this.subscriptions.filter((s) => s.eventTypes.has(type));
  }
}

/**
 * A subscription as the control route and the page show it.
 * @param subscription - the subscription
 * @returns its summary (the endpoint without its query)
 */
export function summarize(subscription: Subscription): SubscriptionSummary {
  return {
    name: subscription.name,
    endpoint: shownEndpoint(subscription.endpoint),
    schema: subscription.schema,
    eventTypes: [...subscription.eventTypes],
    state: subscription.state,
    queued: subscription.queue.length,
    ...(subscription.handshakeOutcome === undefined
      ? {}
      : { handshakeOutcome: subscription.handshakeOutcome }),
  };
}

/**
 * A webhook URL as the vault shows it: without the query, which may hold a key (an Azure
 * Function's `code`).
 * @param endpoint - the webhook
 * @returns origin and path
 */
export function shownEndpoint(endpoint: URL): string {
  return `${endpoint.origin}${endpoint.pathname}`;
}
