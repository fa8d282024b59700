/**
 * The one backoff every worker of a {@link SecretCache} load or refresh shares: when any request is
 * throttled, all workers wait until the vault is expected to accept requests again.
 */
import { delay } from "@azure/core-util";
import { logger } from "../log.js";
import { backoffDelayInMs } from "../util/retry.js";
import { isThrottled, retryAfterInMs, StillThrottledError } from "./errors.js";

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
 */
export class SharedBackoff {
  private resumeAtMs = 0;
  private level = 0;
  private pauseDecidedAtMs = Number.NEGATIVE_INFINITY;
  private readonly now: () => number;
  private readonly random: () => number;

  /** Creates the backoff. */
  constructor(private readonly settings: SharedBackoffSettings) {
    this.now = settings.now ?? Date.now;
    this.random = settings.random ?? Math.random;
  }

  /** When the current pause ends (0 or a past time when there is none). */
  get pausedUntilMs(): number {
    return this.resumeAtMs;
  }

  /**
   * The time to pass to {@link SharedBackoff.throttled} or {@link SharedBackoff.succeeded}.
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
      try {
        await delay(remaining, { abortSignal: signal });
      } catch (error) {
        // The signal's reason (why the load was stopped), not the wait's own AbortError.
        signal.throwIfAborted();
        throw error;
      }
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

/** How {@link withSharedBackoff} retries one request. */
export interface SharedBackoffAttempts {
  /** Attempts while the vault keeps answering 429. */
  maxAttempts: number;
  /** Ends the waits and the request. */
  signal: AbortSignal;
  /** What the request reads, for the log line of a throttled attempt (never a value). */
  subject: string;
}

/**
 * Sends a request under the shared backoff: waits out the current pause, sends, and when the
 * answer is a 429 pauses every worker and tries again, up to `maxAttempts` times.
 *
 * @param attempts - attempt limit, signal and log subject
 * @throws StillThrottledError after `maxAttempts` 429s; any other error of the request at once
 */
export async function withSharedBackoff<T>(
  backoff: SharedBackoff,
  attempts: SharedBackoffAttempts,
  request: () => Promise<T>,
): Promise<T> {
  const { maxAttempts, signal, subject } = attempts;
  for (let attempt = 1; ; attempt++) {
    await backoff.wait(signal);
    const startedAt = backoff.requestStarted();
    try {
      const result = await request();
      backoff.succeeded(startedAt);
      return result;
    } catch (error) {
      if (!isThrottled(error) || signal.aborted) throw error;
      if (attempt >= maxAttempts) throw new StillThrottledError(attempt, error);
      const waitMs = backoff.throttled(error, startedAt);
      logger.warning(
        `SecretCache: ${subject} was throttled (attempt ${attempt} of ${maxAttempts}); every worker pauses ${waitMs} ms.`,
      );
    }
  }
}
