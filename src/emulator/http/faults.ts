/**
 * Fault injection: throttling per 10-second window, random 5xx answers, added latency and dropped
 * connections. Randomness comes from a seeded generator so a test sees the same sequence each run.
 */
import { validateFaults, type LocalVaultFaultOptions } from "../options.js";
import { seededRandom } from "../../util/random.js";

/** Length of a throttling window, as the real service counts. */
export const throttleWindowMs = 10_000;

/** Seed of the fault generator; fixed so a given fault setting behaves the same in every run. */
const faultSeed = 0x6b76_2024;

/** What to do with one request, decided before it is handled. */
export type FaultDecision =
  | { kind: "none" }
  | { kind: "drop" }
  | { kind: "throttle"; retryAfterSeconds: number | undefined }
  | { kind: "error"; status: 500 | 503 };

/** The vault's fault settings and the state they need (window counter, generator). */
export class FaultInjector {
  private faults: LocalVaultFaultOptions = {};
  private windowStart = 0;
  private windowCount = 0;
  private random: () => number = seededRandom(faultSeed);
  private nextError: 500 | 503 = 500;
  /** Whether any fault is on; lets the hot path skip everything else. */
  active = false;

  /**
   * Creates the injector.
   * @param faults - initial settings
   */
  constructor(faults: LocalVaultFaultOptions | undefined) {
    this.set(faults ?? {});
  }

  /**
   * Replaces the settings; restarts the window and the generator.
   * @param faults - new settings
   * @throws RangeError for values outside their range
   */
  set(faults: LocalVaultFaultOptions): void {
    validateFaults(faults);
    this.faults = { ...faults };
    this.windowStart = 0;
    this.windowCount = 0;
    this.random = seededRandom(faultSeed);
    this.nextError = 500;
    this.active =
      faults.throttleLimit !== undefined ||
      (faults.errorRate ?? 0) > 0 ||
      (faults.dropRate ?? 0) > 0 ||
      (faults.latencyMs ?? 0) > 0;
  }

  /**
   * Milliseconds to wait before answering.
   * @returns the latency
   */
  get latencyMs(): number {
    return this.faults.latencyMs ?? 0;
  }

  /**
   * Decides the fate of one request.
   * @param nowMs - wall-clock milliseconds
   * @returns the decision
   */
  decide(nowMs: number): FaultDecision {
    const { throttleLimit, errorRate = 0, dropRate = 0 } = this.faults;
    if (dropRate > 0 && this.random() < dropRate) return { kind: "drop" };
    if (throttleLimit !== undefined) {
      if (nowMs >= this.windowStart + throttleWindowMs) {
        this.windowStart = nowMs;
        this.windowCount = 0;
      }
      if (this.windowCount >= throttleLimit) {
        // A throttled request does not count toward the limit, as on the real service.
        const retryAfterSeconds =
          this.faults.throttleRetryAfter === false
            ? undefined
            : Math.max(1, Math.ceil((this.windowStart + throttleWindowMs - nowMs) / 1000));
        return { kind: "throttle", retryAfterSeconds };
      }
      this.windowCount++;
    }
    if (errorRate > 0 && this.random() < errorRate) {
      const status = this.nextError;
      this.nextError = status === 500 ? 503 : 500;
      return { kind: "error", status };
    }
    return { kind: "none" };
  }
}
