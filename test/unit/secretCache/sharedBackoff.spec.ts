import assert from "node:assert/strict";
import { SecretCacheError } from "../../../src/secretCache/index.js";
import { retryAfterInMs } from "../../../src/secretCache/errors.js";
import { SharedBackoff } from "../../../src/secretCache/sharedBackoff.js";
import { cacheOf, FakeVault, rejection, throttled, trackCaches } from "./secretCacheKit.js";

describe("SecretCache shared backoff", () => {
  const track = trackCaches();

  describe("shared backoff", () => {
    it("pauses every worker until the Retry-After of a 429, then retries the throttled secret", async () => {
      const vault = new FakeVault();
      vault.pageSize = 25;
      vault.seed(24);
      let throttledAt = 0;
      vault.getHook = (name, call) => {
        if (name === "s004" && call === 1) {
          throttledAt = Date.now();
          return throttled({ "retry-after": "0.2" });
        }
        return undefined;
      };
      const cache = track(cacheOf(vault, { concurrency: 6 }));
      await cache.load();
      assert.equal(cache.get("s004"), "value-of-s004");
      assert.equal(vault.getsOf("s004"), 2);
      // Gets already in flight when the 429 came back finish; none starts during the pause.
      const startedDuringPause = vault.gets.filter(
        (g) => g.at > throttledAt + 5 && g.at < throttledAt + 190,
      );
      assert.deepEqual(startedDuringPause, []);
      const after = vault.gets.filter((g) => g.at >= throttledAt + 190);
      assert.ok(after.length >= 10, `the others resumed after the pause (${after.length})`);
      assert.ok(after.some((g) => g.name === "s004"));
    });

    it("after a pause, sends one request (the probe) and releases the others when it is answered", async () => {
      const vault = new FakeVault();
      vault.pageSize = 25;
      vault.seed(24);
      vault.getDelayMs = 20;
      let throttledAt = 0;
      vault.getHook = (name, call) => {
        if (name === "s004" && call === 1) {
          throttledAt = Date.now();
          return throttled({ "retry-after-ms": "30" });
        }
        return undefined;
      };
      const cache = track(cacheOf(vault, { concurrency: 6 }));
      await cache.load();
      assert.equal(cache.size, 24);
      // Gets started after the 429 came back: the first goes alone, the rest after its answer.
      const after = vault.gets.filter((g) => g.at >= throttledAt + 25);
      assert.ok(after.length >= 2, `gets after the pause: ${after.length}`);
      const [probe, ...rest] = after;
      assert.ok(
        rest.every((g) => g.at >= probe!.at + vault.getDelayMs - 1),
        `no get started while the probe was out (${after.map((g) => g.at - probe!.at).join(", ")})`,
      );
    });

    it("without Retry-After, pauses with an exponential delay from throttleDelayInMs", async () => {
      const vault = new FakeVault();
      vault.seed(6);
      const calls: number[] = [];
      vault.getHook = (name, call) => {
        if (name !== "s002") return undefined;
        calls.push(Date.now());
        return call <= 3 ? throttled() : undefined;
      };
      await track(
        cacheOf(vault, { throttleDelayInMs: 20, maxThrottleDelayInMs: 1000, concurrency: 1 }),
      ).load();
      assert.equal(calls.length, 4);
      const gaps = calls.slice(1).map((at, i) => at - calls[i]!);
      // 20, 40, 80 ms (+ up to 20 % jitter, + the fake's latency).
      assert.ok(gaps[0]! >= 18 && gaps[0]! < 100, `gaps ${gaps.join(", ")}`);
      assert.ok(gaps[1]! >= 38 && gaps[1]! < 200, `gaps ${gaps.join(", ")}`);
      assert.ok(gaps[2]! >= 78 && gaps[2]! < 400, `gaps ${gaps.join(", ")}`);
    });

    it("fails load() naming the secrets still throttled after maxAttempts", async () => {
      const vault = new FakeVault();
      vault.seed(4);
      vault.getHook = (name) =>
        name === "s001" || name === "s002" ? throttled({ "retry-after-ms": "5" }) : undefined;
      const cache = track(cacheOf(vault, { maxAttempts: 3 }));
      const error = (await rejection(cache.load())) as SecretCacheError;
      assert.ok(error instanceof SecretCacheError);
      assert.equal(
        error.message,
        'SecretCache.load() could not read 2 of 4 secrets: "s001" (still throttled (429) after 3 attempts; the vault last asked to wait 1 s), "s002" (still throttled (429) after 3 attempts; the vault last asked to wait 1 s). Nothing was loaded.',
      );
      assert.equal(vault.getsOf("s001"), 3);
      assert.equal(vault.getsOf("s002"), 3);
      assert.equal(cache.loaded, false);
    });

    it("resumes a throttled listing from the last page's continuation token", async () => {
      const vault = new FakeVault();
      vault.seed(7);
      vault.pageHook = (token, call) => (token === "3" && call === 2 ? throttled() : undefined);
      const cache = track(cacheOf(vault));
      await cache.load();
      assert.equal(cache.size, 7);
      assert.deepEqual(vault.pageRequests, [undefined, "3", "3", "6"]);
    });

    describe("SharedBackoff", () => {
      function backoff(now: { ms: number }) {
        return new SharedBackoff({
          initialDelayInMs: 1000,
          maxDelayInMs: 16_000,
          now: () => now.ms,
          random: () => 0,
        });
      }

      it("429s of requests in flight when the pause began do not deepen it", () => {
        const now = { ms: 10_000 };
        const shared = backoff(now);
        const started = shared.requestStarted();
        now.ms += 50;
        assert.equal(shared.throttled(throttled(), started), 1000);
        now.ms += 10;
        // 31 more workers, all sent before the pause began, come back throttled.
        for (let i = 0; i < 31; i++) shared.throttled(throttled(), started);
        // Each echo keeps the current delay (1 s from the latest 429), never 2, 4, 8 ... s.
        assert.equal(shared.pausedUntilMs, 11_060);
        // A request sent after the pause is a new episode: 2 s.
        now.ms = 11_100;
        assert.equal(shared.throttled(throttled(), shared.requestStarted()), 2000);
        now.ms = 13_200;
        const retried = shared.requestStarted();
        shared.succeeded(retried);
        assert.equal(shared.throttled(throttled(), retried), 1000, "a success resets the level");
      });

      it("lets one waiter through after a pause and holds the others until the probe ends", async () => {
        const now = { ms: 10_000 };
        const shared = backoff(now);
        const signal = new AbortController().signal;
        assert.equal(await shared.wait(signal), false, "no pause: no probe");
        shared.throttled(throttled(), shared.requestStarted());
        now.ms += 1000;
        const outcomes: boolean[] = [];
        const waits = [1, 2, 3].map(() => shared.wait(signal).then((p) => outcomes.push(p)));
        await new Promise((resolve) => setImmediate(resolve));
        assert.deepEqual(outcomes, [true], "only the probe goes");
        shared.probeEnded();
        await Promise.all(waits);
        assert.deepEqual(outcomes, [true, false, false]);
        assert.equal(await shared.wait(signal), false, "after the probe, no more probing");
      });

      it("within one episode, the earliest end named by a Retry-After wins", () => {
        const now = { ms: 10_000 };
        const shared = backoff(now);
        const sent = shared.requestStarted();
        // The window ends at 16,200; answers round the wait up to whole seconds.
        now.ms = 10_100;
        assert.equal(shared.throttled(throttled({ "retry-after": "7" }), sent), 7000);
        now.ms = 10_300;
        shared.throttled(throttled({ "retry-after": "6" }), sent);
        assert.equal(shared.pausedUntilMs, 16_300);
        now.ms = 10_900;
        shared.throttled(throttled({ "retry-after": "6" }), sent);
        assert.equal(
          shared.pausedUntilMs,
          16_300,
          "a later end of the same episode does not extend it",
        );
        // The probe sent after the pause is a new episode: its Retry-After extends the pause.
        now.ms = 16_300;
        shared.throttled(throttled({ "retry-after": "1" }), shared.requestStarted());
        assert.equal(shared.pausedUntilMs, 17_300);
      });

      it("after a probe's 429, the worker that waited longest probes next", async () => {
        const now = { ms: 10_000 };
        const shared = backoff(now);
        const signal = new AbortController().signal;
        const pause = () => shared.throttled(throttled({ "retry-after-ms": "5" }), now.ms);
        pause();
        now.ms += 5;
        assert.equal(await shared.wait(signal), true, "the first probe");
        const outcomes = new Map<string, boolean>();
        const second = shared.wait(signal).then((p) => outcomes.set("second", p));
        const third = shared.wait(signal).then((p) => outcomes.set("third", p));
        // The probe is throttled again: a new pause, and the first worker waits at the back.
        pause();
        shared.probeEnded();
        const first = shared.wait(signal).then((p) => outcomes.set("first", p));
        now.ms += 5;
        await second;
        assert.deepEqual([...outcomes], [["second", true]]);
        shared.probeEnded();
        await Promise.all([first, third]);
        assert.deepEqual(Object.fromEntries(outcomes), {
          second: true,
          third: false,
          first: false,
        });
      });

      it("a waiter held behind the probe ends with the abort signal", async () => {
        const now = { ms: 10_000 };
        const shared = backoff(now);
        shared.throttled(throttled(), shared.requestStarted());
        now.ms += 1000;
        assert.equal(await shared.wait(new AbortController().signal), true);
        const controller = new AbortController();
        const held = shared.wait(controller.signal);
        controller.abort(new Error("stop"));
        await assert.rejects(held, /stop/);
        shared.probeEnded();
      });

      it("honours Retry-After in seconds, as a date, and the millisecond headers", () => {
        const now = { ms: Date.parse("2025-01-01T00:00:00Z") };
        assert.equal(retryAfterInMs(throttled({ "retry-after": "3" })), 3000);
        assert.equal(
          retryAfterInMs(throttled({ "retry-after": "Wed, 01 Jan 2025 00:00:04 GMT" }), now.ms),
          4000,
        );
        assert.equal(retryAfterInMs(throttled({ "x-ms-retry-after-ms": "250" })), 250);
        assert.equal(retryAfterInMs(throttled({ "retry-after": "-1" })), undefined);
        assert.equal(retryAfterInMs(new Error("x")), undefined);
        const shared = backoff(now);
        assert.equal(shared.throttled(throttled({ "retry-after": "7" }), now.ms), 7000);
      });
    });
  });
});
