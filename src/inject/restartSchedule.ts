/**
 * When `run --watch` may restart the command after a change: a random wait per instance (jitter,
 * so that a fleet that sees one rotation does not restart at one moment) after the least time
 * between two starts (the rate cap, so that a flapping secret cannot crash-loop the app).
 */
import { performance } from "node:perf_hooks";

/** What a {@link RestartSchedule} needs: the two durations and the source of jitter. */
export interface RestartScheduleSettings {
  /** The longest random wait before a restart. */
  jitterInMs: number;
  /** The least time between two starts of the command. */
  minRestartIntervalInMs: number;
  /** Uniform in [0, 1). */
  random: () => number;
}

/** The wait before a restart, and whether the rate cap made it longer. */
export interface RestartDelay {
  delayInMs: number;
  /** The command started less than the minimum interval ago. */
  capped: boolean;
}

/** Decides how long to wait before each restart. */
export class RestartSchedule {
  private lastStartAtMs = Number.NEGATIVE_INFINITY;

  /**
   * @param settings - jitter, rate cap and randomness
   * @param now - the clock (milliseconds, monotonic)
   */
  constructor(
    private readonly settings: RestartScheduleSettings,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The command (re)started now. */
  started(): void {
    this.lastStartAtMs = this.now();
  }

  /**
   * How long to wait, from now, before a restart for a change found now: until the minimum
   * interval since the last start has passed, then a random part of the jitter.
   * @returns the wait
   */
  delay(): RestartDelay {
    const { jitterInMs, minRestartIntervalInMs, random } = this.settings;
    const capInMs = Math.max(0, this.lastStartAtMs + minRestartIntervalInMs - this.now());
    return {
      delayInMs: Math.ceil(capInMs + random() * jitterInMs),
      capped: capInMs > 0,
    };
  }
}
