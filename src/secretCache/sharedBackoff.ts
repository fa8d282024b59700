/**
 * The one backoff every worker of a {@link SecretCache} load or refresh shares: when any request is
 * throttled, all workers wait until the vault is expected to accept requests again.
 */
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
  /** Set by every pause: the first request after it goes alone. */
  private probeNeeded = false;
  /** Whether the probe's request is out. */
  private probeOut = false;
  /** Workers waiting, oldest first: the oldest becomes the next probe. */
  private parked: Array<(probe: boolean) => void> = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private level = 0;
  /** Whether the current episode's pause came from a Retry-After. */
  private retryAfterEpisode = false;
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
   * Waits until the current pause, if any, is over. After a pause, one worker goes first (the
   * probe) and the others wait for its answer: a vault that is still throttling sees one request,
   * not one per worker. The probe is the worker that has waited longest, so a probe answered with
   * 429 goes to the back and no one request spends all its attempts probing. The probe must call
   * {@link SharedBackoff.probeEnded} when its request ends.
   * @param signal - ends the wait early with an AbortError
   * @returns true when the caller is the probe
   */
  wait(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    if (this.parked.length === 0 && !this.probeOut && this.resumeAtMs - this.now() <= 0) {
      if (!this.probeNeeded) return Promise.resolve(false);
      this.probeNeeded = false;
      this.probeOut = true;
      return Promise.resolve(true);
    }
    return new Promise<boolean>((resolve, reject) => {
      const entry = (probe: boolean): void => {
        signal.removeEventListener("abort", onAbort);
        resolve(probe);
      };
      const onAbort = (): void => {
        this.parked = this.parked.filter((parked) => parked !== entry);
        if (this.parked.length === 0 && this.timer !== undefined) {
          clearTimeout(this.timer);
          this.timer = undefined;
        }
        reject(signal.reason as Error);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.parked.push(entry);
      this.dispatch();
    });
  }

  /**
   * Ends the probe: the waiting workers go on (or wait out the pause its 429 began).
   */
  probeEnded(): void {
    this.probeOut = false;
    this.dispatch();
  }

  /** Releases the parked workers when it is their turn: a probe first after a pause. */
  private dispatch(): void {
    if (this.probeOut || this.parked.length === 0) return;
    const remaining = this.resumeAtMs - this.now();
    if (remaining > 0) {
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.dispatch();
      }, remaining);
      return;
    }
    if (this.probeNeeded) {
      this.probeNeeded = false;
      this.probeOut = true;
      this.parked.shift()!(true);
      return;
    }
    const released = this.parked;
    this.parked = [];
    for (const entry of released) entry(false);
  }

  /**
   * Records a 429 and extends the pause of every worker. Within one episode a Retry-After can only
   * bring the end of a Retry-After pause closer (see the comment inside).
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
    const retryAfter = retryAfterInMs(error, nowMs);
    const delay = retryAfter ?? this.exponentialDelay(Math.max(0, this.level - 1));
    if (!newEpisode && retryAfter !== undefined && this.retryAfterEpisode) {
      // Each Retry-After of one episode names the same window end, rounded up to whole seconds
      // from the moment it was answered: the earliest is the closest. The probe finds out.
      this.resumeAtMs = Math.min(this.resumeAtMs, nowMs + delay);
    } else {
      this.resumeAtMs = Math.max(this.resumeAtMs, nowMs + delay);
    }
    if (newEpisode) this.retryAfterEpisode = retryAfter !== undefined;
    this.probeNeeded = true;
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
  /** Sees each 429 before the pause it begins. */
  onThrottled?: (error: unknown) => void;
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
  const { maxAttempts, signal, subject, onThrottled } = attempts;
  for (let attempt = 1; ; attempt++) {
    const probe = await backoff.wait(signal);
    const startedAt = backoff.requestStarted();
    try {
      const result = await request();
      backoff.succeeded(startedAt);
      return result;
    } catch (error) {
      if (!isThrottled(error) || signal.aborted) throw error;
      onThrottled?.(error);
      if (attempt >= maxAttempts) throw new StillThrottledError(attempt, error);
      const waitMs = backoff.throttled(error, startedAt);
      logger.warning(
        `SecretCache: ${subject} was throttled (attempt ${attempt} of ${maxAttempts}); every worker pauses ${waitMs} ms.`,
      );
    } finally {
      if (probe) backoff.probeEnded();
    }
  }
}
