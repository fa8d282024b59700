/**
 * Delivery of events to subscriptions, as Event Grid does it: at least once, one request at a time
 * per subscription, retried on Event Grid's schedule (scaled for tests), a failing event waiting
 * out of the way of the others, and dead-lettered after the last attempt or at once for the
 * statuses Event Grid does not retry. The handshake is retried on the same schedule. Nothing here
 * runs in a request of the vault's API: events are queued there and sent from timers.
 */
import type { EventSchema } from "../../events/keyVaultEvents.js";
import type { DeadLetter, DeadLetterList, DeadLetterReason } from "./deadLetters.js";
import {
  eventTimeText,
  renderEvent,
  type VaultEvent,
  type VaultIdentity,
} from "./eventEnvelope.js";
import { attemptHandshake } from "./handshake.js";
import { shownEndpoint, type DeliveryJob, type Subscription } from "./subscriptions.js";
import type { WebhookClient, WebhookRequest } from "./webhookClient.js";

/**
 * Event Grid's delays before each retry: 10 s, 30 s, 1 min, 5 min, 10 min, 30 min, 1 h, then
 * hourly.
 */
export const retryScheduleInMs = [10_000, 30_000, 60_000, 300_000, 600_000, 1_800_000, 3_600_000];

/** Answers Event Grid does not retry: the event goes to the dead letters at once. */
const nonRetriableStatuses = new Set([400, 401, 403, 413]);

/** Most events waiting for one subscription; more go to the dead letters. */
export const maxQueuedPerSubscription = 10_000;

/**
 * The delay before the next attempt.
 * @param failedAttempts - attempts made so far (1 or more)
 * @param scale - `retryDelayScale`
 * @returns milliseconds, at least 1
 */
export function retryDelayInMs(failedAttempts: number, scale: number): number {
  const step = Math.min(failedAttempts, retryScheduleInMs.length) - 1;
  return Math.max(1, Math.round(retryScheduleInMs[step] * scale));
}

/** How deliveries are timed. */
export interface DeliverySettings {
  retryDelayScale: number;
  maxDeliveryAttempts: number;
}

/** Sends events and handshakes to webhooks; owns the timers of their retries. */
export class EventDelivery {
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  /**
   * @param client - sends the requests
   * @param settings - retry delays and most attempts
   * @param identity - the vault (its URL is known once it listens)
   * @param deadLetters - where undeliverable events go
   */
  constructor(
    private readonly client: WebhookClient,
    private readonly settings: DeliverySettings,
    private readonly identity: VaultIdentity,
    readonly deadLetters: DeadLetterList,
  ) {}

  /**
   * Starts a subscription's handshake; retried until it succeeds or every attempt failed.
   * @param subscription - a pending subscription
   */
  validate(subscription: Subscription): void {
    if (this.closed || subscription.state !== "pending") return;
    void attemptHandshake(this.client, subscription, this.identity).then((result) => {
      if (this.closed) return;
      subscription.handshakeAttempts += 1;
      if (result.ok) {
        delete subscription.handshakeOutcome;
        subscription.state = "validated";
        this.pump(subscription);
        return;
      }
      subscription.handshakeOutcome = result.outcome;
      if (subscription.handshakeAttempts < this.settings.maxDeliveryAttempts) {
        this.later(
          retryDelayInMs(subscription.handshakeAttempts, this.settings.retryDelayScale),
          () => this.validate(subscription),
        );
        return;
      }
      subscription.state = "failed";
      for (const job of subscription.queue.splice(0)) {
        this.deadLetter(subscription, job, "SubscriptionValidationFailed");
      }
    });
  }

  /**
   * Queues an event for a subscription: sent at once when its handshake is done, after it when
   * pending, dead-lettered when it failed.
   * @param subscription - a subscription that takes the event's type
   * @param event - the event
   */
  publish(subscription: Subscription, event: VaultEvent): void {
    if (this.closed) return;
    const job: DeliveryJob = { event, attempts: 0 };
    if (subscription.state === "failed") {
      this.deadLetter(subscription, job, "SubscriptionValidationFailed");
      return;
    }
    if (subscription.queue.length >= maxQueuedPerSubscription) {
      this.deadLetter(subscription, job, "QueueFull");
      return;
    }
    subscription.queue.push(job);
    this.pump(subscription);
  }

  /** Stops every retry timer; requests in flight are ended by the client's owner. */
  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /** Sends the subscription's next event, when its handshake is done and nothing is in flight. */
  private pump(subscription: Subscription): void {
    if (this.closed || subscription.state !== "validated" || subscription.sending) return;
    const job = subscription.queue.shift();
    if (job === undefined) return;
    subscription.sending = true;
    void this.attempt(subscription, job).finally(() => {
      subscription.sending = false;
      this.pump(subscription);
    });
  }

  private async attempt(subscription: Subscription, job: DeliveryJob): Promise<void> {
    const request = this.eventRequest(subscription, job);
    job.attempts += 1;
    job.lastAttemptMs = Date.now();
    let status: number | undefined;
    try {
      status = (await this.client.send(subscription.endpoint, request)).status;
      job.lastOutcome = `HTTP ${status}`;
      job.lastStatus = status;
    } catch (error) {
      job.lastOutcome = (error as Error).message;
      delete job.lastStatus;
    }
    if (this.closed) return;
    if (status !== undefined && status >= 200 && status <= 299) return;
    if (status !== undefined && nonRetriableStatuses.has(status)) {
      this.deadLetter(subscription, job, "NonRetriableStatus");
      return;
    }
    if (job.attempts >= this.settings.maxDeliveryAttempts) {
      this.deadLetter(subscription, job, "MaxDeliveryAttemptsExceeded");
      return;
    }
    // The failing event waits out of the queue; the others go on.
    this.later(retryDelayInMs(job.attempts, this.settings.retryDelayScale), () => {
      subscription.queue.push(job);
      this.pump(subscription);
    });
  }

  private eventRequest(subscription: Subscription, job: DeliveryJob): WebhookRequest {
    const rendered = renderEvent(job.event, subscription.schema, this.identity);
    const headers: Record<string, string> = {
      "content-type": contentTypes[subscription.schema],
      "aeg-event-type": "Notification",
      "aeg-subscription-name": subscription.name.toUpperCase(),
      "aeg-delivery-count": String(job.attempts),
    };
    if (subscription.schema === "EventGridSchema") {
      headers["aeg-data-version"] = "1";
      headers["aeg-metadata-version"] = "1";
      return { method: "POST", headers, body: JSON.stringify([rendered]) };
    }
    return { method: "POST", headers, body: JSON.stringify(rendered) };
  }

  private deadLetter(subscription: Subscription, job: DeliveryJob, reason: DeadLetterReason): void {
    const letter: DeadLetter = {
      subscription: subscription.name,
      endpoint: shownEndpoint(subscription.endpoint),
      deadLetterReason: reason,
      deliveryAttempts: job.attempts,
      publishTime: eventTimeText(job.event.timeMs),
      event: renderEvent(job.event, subscription.schema, this.identity),
    };
    if (job.lastOutcome !== undefined) letter.lastDeliveryOutcome = job.lastOutcome;
    if (job.lastStatus !== undefined) letter.lastHttpStatusCode = job.lastStatus;
    if (job.lastAttemptMs !== undefined) {
      letter.lastDeliveryAttemptTime = new Date(job.lastAttemptMs).toISOString();
    }
    this.deadLetters.add(letter);
  }

  /** Runs `work` after `delayMs`, unless the vault closes first. */
  private later(delayMs: number, work: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.closed) work();
    }, delayMs);
    this.timers.add(timer);
  }
}

/** The body's type per schema: a JSON array of events, or one structured CloudEvent. */
const contentTypes: Record<EventSchema, string> = {
  EventGridSchema: "application/json; charset=utf-8",
  CloudEventSchemaV1_0: "application/cloudevents+json; charset=utf-8",
};
