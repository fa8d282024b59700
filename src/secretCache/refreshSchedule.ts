/**
 * The background refreshes of a {@link SecretCache}: one timer for the cache-wide interval and one
 * per secret given its own interval. The one owner of the cache's timers; none keeps the process
 * alive, and `close()` stops them all.
 */

/** What the timers run, and where their failures go. */
export interface RefreshTasks {
  /** A refresh of every secret (list, then fetch what changed). */
  refreshAll(): Promise<unknown>;
  /** A read of one secret. */
  refreshSecret(secretName: string, key: string): Promise<unknown>;
  /** A background refresh failed. */
  reportError(error: unknown): void;
}

/** The refresh timers of one cache. */
export class RefreshSchedule {
  private cacheWideTimer: NodeJS.Timeout | undefined;
  private readonly secretTimers = new Map<string, NodeJS.Timeout>();
  private closed = false;

  /**
   * @param intervalInMs - the cache-wide interval, if any
   * @param secretIntervals - key -> the secret's name and its own interval
   * @param tasks - what the timers run
   */
  constructor(
    private readonly intervalInMs: number | undefined,
    private readonly secretIntervals: Map<string, { secretName: string; intervalInMs: number }>,
    private readonly tasks: RefreshTasks,
  ) {}

  /** Starts every timer not yet running (once the cache is loaded). */
  startAll(): void {
    this.startCacheWide();
    for (const key of this.secretIntervals.keys()) this.startSecret(key);
  }

  /** Starts the cache-wide timer unless it runs, there is none or the cache is closed. */
  startCacheWide(): void {
    if (this.intervalInMs === undefined || this.cacheWideTimer !== undefined || this.closed) return;
    this.cacheWideTimer = this.arm(
      this.intervalInMs,
      () => this.tasks.refreshAll(),
      () => {
        this.cacheWideTimer = undefined;
        this.startCacheWide();
      },
    );
  }

  /**
   * Starts the timer of one secret, when it has its own interval and its timer is not running.
   * @param key - the secret's key
   */
  startSecret(key: string): void {
    const setting = this.secretIntervals.get(key);
    if (setting === undefined || this.secretTimers.has(key) || this.closed) return;
    const timer = this.arm(
      setting.intervalInMs,
      () => this.tasks.refreshSecret(setting.secretName, key),
      () => {
        this.secretTimers.delete(key);
        this.startSecret(key);
      },
    );
    this.secretTimers.set(key, timer);
  }

  /** Stops every timer; none starts again. */
  close(): void {
    this.closed = true;
    clearTimeout(this.cacheWideTimer);
    this.cacheWideTimer = undefined;
    for (const timer of this.secretTimers.values()) clearTimeout(timer);
    this.secretTimers.clear();
  }

  /** A timer that runs `task` once, reports its failure, then calls `again`. */
  private arm(delayInMs: number, task: () => Promise<unknown>, again: () => void): NodeJS.Timeout {
    const timer = setTimeout(() => {
      task()
        .catch((error: unknown) => this.tasks.reportError(error))
        .finally(again);
    }, delayInMs);
    // An app that is otherwise done should be able to exit; close() is for orderly shutdowns.
    timer.unref();
    return timer;
  }
}
