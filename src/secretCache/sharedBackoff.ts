/**
 * The one backoff every worker of a {@link SecretCache} load or refresh shares: when any request is
 * throttled, all workers wait until the vault is expected to accept requests again.
 */
import { isRestError } from "@azure/core-rest-pipeline";
import { backoffDelayInMs, getRetryAfterInMs } from "../policies/retryStrategies.js";

/**
 * Whether an error is the vault throttling the caller (HTTP 429).
 *
 * @param error - Anything thrown by a client method.
 * @returns True for a RestError with status 429.
 * @internal
 */
export function isThrottled(error: unknown): boolean {
  return isRestError(error) && error.statusCode === 429;
}

/**
 * Reads how long a throttled request was asked to wait: `retry-after-ms`, `x-ms-retry-after-ms`, or
 * `Retry-After` in seconds or as an HTTP date.
 *
 * @param error - The error of a throttled request.
 * @param nowMs - The current time, for `Retry-After` dates.
 * @returns Milliseconds to wait, or undefined when the response named no valid wait.
 * @internal
 */
export function retryAfterInMs(error: unknown, nowMs: number = Date.now()): number | undefined {
  // The same reading of the headers as the client's retry policy.
  return isRestError(error) ? getRetryAfterInMs(error.response, nowMs) : undefined;
}

/** Settings of a {@link SharedBackoff}. */
export interface SharedBackoffSettings {
  /** First delay when a 429 names no wait. */
  initialDelayInMs: number;
  /** Largest delay when a 429 names no wait. */
  maxDelayInMs: number;
  /** Clock; injectable for tests. */
  now?: () => number;
  /** Jitter source in [0, 1); injectable for tests. */
  random?: () => number;
}

/**
 * A pause shared by every worker. A worker calls {@link SharedBackoff.wait} before each request,
 * {@link SharedBackoff.throttled} when the request ends in a 429 and
 * {@link SharedBackoff.succeeded} when it succeeds.
 *
 * Many workers in flight at once are throttled together; their 429s are one episode. Only a 429 of
 * a request sent after the current pause was decided deepens the exponential delay, so 32 workers
 * throttled at once wait 1 s, not 2^32 s.
 *
 * @internal
 */
export class SharedBackoff {
  private resumeAtMs = 0;
  private level = 0;
  private pauseDecidedAtMs = Number.NEGATIVE_INFINITY;
  private readonly now: () => number;
  private readonly random: () => number;

  /**
   * Creates the backoff.
   * @param settings - delays, clock and jitter source
   */
  constructor(private readonly settings: SharedBackoffSettings) {
    this.now = settings.now ?? Date.now;
    this.random = settings.random ?? Math.random;
  }

  /**
   * When the current pause ends (0 or a past time when there is none).
   * @returns epoch milliseconds
   */
  get pausedUntilMs(): number {
    return this.resumeAtMs;
  }

  /**
   * The time to pass to {@link SharedBackoff.throttled} or {@link SharedBackoff.succeeded}.
   * @returns the current time
   */
  requestStarted(): number {
    return this.now();
  }

  /**
   * Waits until the current pause, if any, is over.
   * @param signal - ends the wait early with an AbortError
   * @returns once requests may be sent again
   */
  async wait(signal: AbortSignal): Promise<void> {
    for (;;) {
      signal.throwIfAborted();
      const remaining = this.resumeAtMs - this.now();
      if (remaining <= 0) return;
      await sleep(remaining, signal);
    }
  }

  /**
   * Records a 429 and extends the pause of every worker.
   * @param error - the 429 error (its Retry-After is honoured)
   * @param requestStartedAtMs - when the throttled request was sent
   * @returns the wait in milliseconds from now
   */
  throttled(error: unknown, requestStartedAtMs: number): number {
    const nowMs = this.now();
    const newEpisode = requestStartedAtMs >= this.pauseDecidedAtMs;
    if (newEpisode) {
      this.pauseDecidedAtMs = nowMs;
      this.level++;
    }
    const delay =
      retryAfterInMs(error, nowMs) ?? this.exponentialDelay(Math.max(0, this.level - 1));
    this.resumeAtMs = Math.max(this.resumeAtMs, nowMs + delay);
    return this.resumeAtMs - nowMs;
  }

  /**
   * Records a success: a request sent after the last pause was decided resets the backoff.
   * @param requestStartedAtMs - when the request was sent
   */
  succeeded(requestStartedAtMs: number): void {
    if (requestStartedAtMs >= this.pauseDecidedAtMs) this.level = 0;
  }

  private exponentialDelay(level: number): number {
    // The client's backoff, jitter included, so many instances throttled together spread out.
    const { initialDelayInMs, maxDelayInMs } = this.settings;
    return backoffDelayInMs(
      level,
      { retryDelayInMs: initialDelayInMs, maxRetryDelayInMs: maxDelayInMs },
      this.random,
    );
  }
}

/**
 * Waits, unless aborted.
 * @param ms - milliseconds
 * @param signal - aborts the wait
 * @returns a promise that resolves after `ms` or rejects with the signal's reason
 * @internal
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
