import assert from "node:assert/strict";
import { InjectError } from "../../../src/inject/connection.js";
import {
  parseDuration,
  parseSignal,
  watchIntervalFrom,
  watchSettingsFrom,
  type WatchFlags,
} from "../../../src/inject/watchSettings.js";

const seam = { seed: 1 };
const noFlags: WatchFlags = {
  watch: undefined,
  stopSignal: undefined,
  grace: undefined,
  jitter: undefined,
  minRestartInterval: undefined,
};

function usageError(message: RegExp): (error: unknown) => boolean {
  return (error) =>
    error instanceof InjectError && error.exitCode === 2 && message.test(error.message);
}

describe("keyvault-secrets run --watch settings", () => {
  it("reads durations in seconds, or with s, m or h", () => {
    assert.equal(parseDuration("30", "--watch", undefined), 30_000);
    assert.equal(parseDuration("30s", "--watch", undefined), 30_000);
    assert.equal(parseDuration(" 5m ", "--watch", undefined), 300_000);
    assert.equal(parseDuration("1.5h", "--watch", undefined), 5_400_000);
    assert.equal(parseDuration("1s", "--watch", undefined), 1000);
  });

  it("refuses intervals under 1 s, other units and nonsense, naming the flag", () => {
    for (const text of ["0.5s", "0", "500ms", "5 m", "5d", "-1s", "soon", "", "30days"]) {
      assert.throws(
        () => parseDuration(text, "--watch", undefined),
        usageError(/^--watch must be a duration from 1s to 24 days: .*got "/),
        text,
      );
    }
    assert.throws(() => parseDuration("30d", "--grace", undefined, 0), usageError(/--grace/));
    assert.throws(
      () => parseDuration(`${2 ** 31}ms`, "--watch", seam),
      usageError(/at most|24 days/),
    );
  });

  it("accepts 0 where the flag allows it, and milliseconds only under the test seam", () => {
    assert.equal(parseDuration("0", "--jitter", undefined, 0), 0);
    assert.equal(parseDuration("50ms", "--watch", seam), 50);
    assert.throws(() => parseDuration("50ms", "--watch", undefined), InjectError);
  });

  it("reads signal names with or without SIG, in any case", () => {
    assert.equal(parseSignal("SIGINT", "--stop-signal"), "SIGINT");
    assert.equal(parseSignal("hup", "--stop-signal"), "SIGHUP");
    assert.throws(
      () => parseSignal("SIGNOPE", "--stop-signal"),
      usageError(/--stop-signal must be a signal name/),
    );
  });

  it("gives the documented defaults", () => {
    const settings = watchSettingsFrom({ ...noFlags, watch: "5m" }, {})!;
    assert.equal(settings.intervalInMs, 300_000);
    assert.equal(settings.stopSignal, "SIGTERM");
    assert.equal(settings.graceInMs, 10_000);
    assert.equal(settings.jitterInMs, 30_000, "a tenth of the interval");
    assert.equal(settings.minRestartIntervalInMs, 60_000);
    assert.equal(settings.random, Math.random);
  });

  it("seeds the jitter under the test seam, so two seeds differ and one seed repeats", () => {
    const draw = (seed: string): number =>
      watchSettingsFrom(
        { ...noFlags, watch: "1s" },
        { KEYVAULT_SECRETS_TEST_TIMING: seed },
      )!.random();
    assert.equal(draw("1"), draw("1"));
    assert.notEqual(draw("1"), draw("2"));
  });

  it("is off without --watch, and refuses a restart flag without it", () => {
    assert.equal(watchSettingsFrom(noFlags, {}), undefined);
    for (const [flags, name] of [
      [{ stopSignal: "SIGINT" }, "--stop-signal"],
      [{ grace: "5s" }, "--grace"],
      [{ jitter: "5s" }, "--jitter"],
      [{ minRestartInterval: "5s" }, "--min-restart-interval"],
    ] as const) {
      assert.throws(
        () => watchSettingsFrom({ ...noFlags, ...flags }, {}),
        usageError(new RegExp(`^${name} applies to restarts: add --watch\\.$`)),
      );
    }
  });

  it("reads KEYVAULT_SECRETS_WATCH for the preload: off, the default, or an interval", () => {
    for (const off of [undefined, "", " ", "false", "FALSE", "0", "no", "Off"]) {
      assert.equal(watchIntervalFrom({ KEYVAULT_SECRETS_WATCH: off }), undefined, String(off));
    }
    for (const on of ["true", "1", "yes", "ON"]) {
      assert.equal(watchIntervalFrom({ KEYVAULT_SECRETS_WATCH: on }), 300_000, on);
    }
    assert.equal(watchIntervalFrom({ KEYVAULT_SECRETS_WATCH: "30s" }), 30_000);
    assert.throws(
      () => watchIntervalFrom({ KEYVAULT_SECRETS_WATCH: "often" }),
      usageError(
        /^KEYVAULT_SECRETS_WATCH must be a duration .*got "often", or true or false \(also 1\/0, yes\/no, on\/off\)\.$/,
      ),
    );
  });
});
