/**
 * The dead letters: events the vault gave up delivering, with why, as Event Grid's dead-letter
 * records describe them. Kept in memory, the newest {@link maxDeadLetters}.
 */
import type { RenderedEvent } from "./eventEnvelope.js";

/** Why an event went to the dead letters. */
export type DeadLetterReason =
  /** Every attempt failed (`maxDeliveryAttempts`). */
  | "MaxDeliveryAttemptsExceeded"
  /** The webhook answered 400, 401, 403 or 413, which Event Grid does not retry. */
  | "NonRetriableStatus"
  /** The subscription's handshake failed: it never took events. */
  | "SubscriptionValidationFailed"
  /** Too many events were waiting for the subscription. */
  | "QueueFull";

/** One event the vault gave up delivering. */
export interface DeadLetter {
  /** The subscription's name. */
  subscription: string;
  /** Its webhook, without the query. */
  endpoint: string;
  deadLetterReason: DeadLetterReason;
  deliveryAttempts: number;
  /** What the last attempt got: `HTTP 500`, or why no answer came. */
  lastDeliveryOutcome?: string;
  lastHttpStatusCode?: number;
  /** When the event happened (vault clock), ISO 8601. */
  publishTime: string;
  /** When the last attempt was made (wall clock), ISO 8601. */
  lastDeliveryAttemptTime?: string;
  /** The event as the webhook would have received it (never a value: events hold none). */
  event: RenderedEvent;
}

/** Most dead letters kept; older ones are dropped. */
export const maxDeadLetters = 1000;

/** The vault's dead letters, oldest first. */
export class DeadLetterList {
  private readonly letters: DeadLetter[] = [];

  /**
   * Keeps a dead letter (dropping the oldest beyond {@link maxDeadLetters}).
   * @param letter - the dead letter
   */
  add(letter: DeadLetter): void {
    this.letters.push(letter);
    if (this.letters.length > maxDeadLetters) this.letters.shift();
  }

  /** The dead letters, oldest first. */
  list(): readonly DeadLetter[] {
    return this.letters;
  }
}
