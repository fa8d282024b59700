/**
 * The settings of watching: `run --watch` and its restart flags, `KEYVAULT_SECRETS_WATCH` of the
 * preload, the durations they take, and the test seam that lets tests use millisecond durations.
 */
import { constants } from "node:os";
import { booleanTextGrammar, parseBooleanText } from "../util/booleanText.js";
import { seededRandom } from "../util/random.js";
import { maxTimerDelayInMs } from "../util/limits.js";
import { InjectError } from "./connection.js";

/** The variable that turns watching on in the preload: an interval, or `true` for the default. */
export const watchVariable = "KEYVAULT_SECRETS_WATCH";

/**
 * Test seam, deliberately undocumented: a positive integer makes watch durations accept `ms`, the
 * retries of the watcher's reads wait milliseconds instead of seconds, and seeds the restart
 * jitter with that integer. Tests of watching then take no seconds and are repeatable. A secret
 * cannot set it (`KEYVAULT_*` is refused), and all it does is make polls sooner.
 */
export const testTimingVariable = "KEYVAULT_SECRETS_TEST_TIMING";

/** What {@link testTimingVariable} turns on, when it is set. */
export interface TestTiming {
  /** Seeds the restart jitter. */
  seed: number;
}

/** Defaults of watching, as the help and the README give them. */
export const watchDefaults = {
  interval: "5m",
  stopSignal: "SIGTERM" as NodeJS.Signals,
  grace: "10s",
  minRestartInterval: "1m",
  /** The jitter's default, as a part of the interval. */
  jitterPartOfInterval: 0.1,
};

/** The least interval of watching (and least duration of the restart flags other than 0). */
export const minimumWatchIntervalInMs = 1000;

/** How `run --watch` restarts the command. */
export interface WatchSettings {
  /** Time between two polls of the vault. */
  intervalInMs: number;
  /** Sent to the command to stop it before a restart. */
  stopSignal: NodeJS.Signals;
  /** How long the command may take to stop before SIGKILL. */
  graceInMs: number;
  /** The longest random wait before a restart (a fleet does not restart at one moment). */
  jitterInMs: number;
  /** The least time between two starts of the command. */
  minRestartIntervalInMs: number;
  /** Where the jitter comes from. */
  random: () => number;
}

const unitsInMs: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Reads the test seam.
 * @param env - the environment
 * @returns the seam's settings, or undefined when it is not set
 */
export function testTimingFrom(env: Record<string, string | undefined>): TestTiming | undefined {
  const text = env[testTimingVariable]?.trim();
  if (text === undefined || !/^[1-9][0-9]{0,8}$/.test(text)) return undefined;
  return { seed: Number(text) };
}

/**
 * A duration: seconds (`30`), or a number with a unit (`30s`, `5m`, `1h`; `ms` only under the
 * test seam).
 * @param text - the duration as written
 * @param source - the flag or variable, for messages
 * @param timing - the test seam, when set
 * @param minimumInMs - the least accepted (0 lets `0` through)
 * @returns milliseconds
 * @throws InjectError (status 2) for anything else
 */
export function parseDuration(
  text: string,
  source: string,
  timing: TestTiming | undefined,
  minimumInMs = minimumWatchIntervalInMs,
): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  const unit = match?.[2] ?? "s";
  const scale = unit === "ms" && timing !== undefined ? 1 : unitsInMs[unit];
  const durationInMs = match === null || scale === undefined ? NaN : Number(match[1]) * scale;
  const least = timing === undefined ? minimumInMs : Math.min(minimumInMs, 1);
  if (!Number.isFinite(durationInMs) || durationInMs > maxTimerDelayInMs || durationInMs < least) {
    const lowest = minimumInMs === 0 ? "0" : `${minimumInMs / 1000}s`;
    throw new InjectError(
      `${source} must be a duration from ${lowest} to 24 days: seconds, or a number with s, m or h, e.g. 30s or 5m; got "${text}".`,
      2,
    );
  }
  return Math.round(durationInMs);
}

/**
 * A signal name: `SIGTERM`, `TERM` or `term`.
 * @param text - the name
 * @param source - the flag, for messages
 * @returns the signal
 * @throws InjectError (status 2) for a name the system does not know
 */
export function parseSignal(text: string, source: string): NodeJS.Signals {
  const upper = text.trim().toUpperCase();
  const name = upper.startsWith("SIG") ? upper : `SIG${upper}`;
  if (!Object.hasOwn(constants.signals, name)) {
    throw new InjectError(
      `${source} must be a signal name such as SIGTERM, SIGINT or SIGHUP; got "${text}".`,
      2,
    );
  }
  return name as NodeJS.Signals;
}

/** The restart flags of `run` as written (undefined: not given). */
export interface WatchFlags {
  watch: string | undefined;
  stopSignal: string | undefined;
  grace: string | undefined;
  jitter: string | undefined;
  minRestartInterval: string | undefined;
}

/**
 * Checks the watch flags of `run`.
 * @param flags - the flags as given
 * @param env - the environment (for the test seam)
 * @returns the settings, or undefined without `--watch`
 * @throws InjectError (status 2) for a bad value, or a restart flag without `--watch`
 */
export function watchSettingsFrom(
  flags: WatchFlags,
  env: Record<string, string | undefined>,
): WatchSettings | undefined {
  if (flags.watch === undefined) {
    const stray = (
      [
        ["--stop-signal", flags.stopSignal],
        ["--grace", flags.grace],
        ["--jitter", flags.jitter],
        ["--min-restart-interval", flags.minRestartInterval],
      ] as const
    ).find(([, value]) => value !== undefined);
    if (stray !== undefined) {
      throw new InjectError(`${stray[0]} applies to restarts: add --watch.`, 2);
    }
    return undefined;
  }
  const timing = testTimingFrom(env);
  const intervalInMs = parseDuration(flags.watch, "--watch", timing);
  return {
    intervalInMs,
    stopSignal:
      flags.stopSignal === undefined
        ? watchDefaults.stopSignal
        : parseSignal(flags.stopSignal, "--stop-signal"),
    graceInMs: parseDuration(flags.grace ?? watchDefaults.grace, "--grace", timing, 0),
    jitterInMs:
      flags.jitter === undefined
        ? Math.round(intervalInMs * watchDefaults.jitterPartOfInterval)
        : parseDuration(flags.jitter, "--jitter", timing, 0),
    minRestartIntervalInMs: parseDuration(
      flags.minRestartInterval ?? watchDefaults.minRestartInterval,
      "--min-restart-interval",
      timing,
      0,
    ),
    random: timing === undefined ? Math.random : seededRandom(timing.seed),
  };
}

/**
 * The preload's watch interval: {@link watchVariable} unset or empty is off; a true/false word
 * (the one grammar of `util/booleanText.ts`: 1/0, true/false, yes/no, on/off, any case) turns it
 * off or on at the default interval; anything else is a duration.
 * @param env - the environment
 * @returns the interval in milliseconds, or undefined when not watching
 * @throws InjectError (status 2) for a value that is neither a true/false word nor a duration
 */
export function watchIntervalFrom(env: Record<string, string | undefined>): number | undefined {
  const text = env[watchVariable]?.trim() ?? "";
  if (text === "") return undefined;
  const on = parseBooleanText(text);
  if (on === false) return undefined;
  try {
    return parseDuration(
      on === true ? watchDefaults.interval : text,
      watchVariable,
      testTimingFrom(env),
    );
  } catch (error) {
    throw new InjectError(
      `${(error as Error).message.replace(/\.$/, "")}, or ${booleanTextGrammar}.`,
      2,
    );
  }
}
