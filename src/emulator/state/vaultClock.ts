/**
 * The vault's clock: wall time, shifted forward by the test control `advanceClock` within bounds.
 */

/** Largest shift of the vault clock, in one step and in all: 100 years. */
export const maxClockShiftMs = 100 * 365.25 * 86_400_000;

/**
 * What is wrong with a clock shift, if anything: it must be a whole, non-negative number of
 * milliseconds, and the clock may run at most 100 years ahead (so dates stay integral seconds in
 * range).
 * @param ms - the shift asked for
 * @param offsetMs - the clock's current shift
 * @returns the problem, or undefined for a valid shift
 */
export function clockShiftProblem(ms: unknown, offsetMs: number): string | undefined {
  if (typeof ms !== "number" || !Number.isInteger(ms) || ms < 0) {
    return `advanceMs must be a whole, non-negative number of milliseconds, got ${String(ms)}.`;
  }
  if (ms + offsetMs > maxClockShiftMs) {
    return `advanceMs would move the vault clock more than 100 years (${maxClockShiftMs} ms) ahead.`;
  }
  return undefined;
}

/** The vault's clock: wall time shifted by the test control `advanceClock`. */
export class VaultClock {
  /** Milliseconds the clock runs ahead of wall time. */
  offsetMs = 0;

  /**
   * Current vault time.
   * @returns milliseconds since the epoch, shifted
   */
  nowMs(): number {
    return Date.now() + this.offsetMs;
  }

  /**
   * Shifts the clock forward.
   * @param ms - milliseconds to add
   */
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}
