import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { createHttpHeaders, createPipelineRequest, RestError } from "@azure/core-rest-pipeline";
import { SharedBackoff, withSharedBackoff } from "../../../src/secretCache/sharedBackoff.js";
import { eventually } from "../../helpers/testKit.js";

// SharedBackoff on its own (test/unit/secretCache.spec.ts covers it through SecretCache): who goes
// when, what an abort leaves behind, and the timers it owns. The clock is the test's; the timers
// are real, so pauses are a few milliseconds.

function throttled(headers: Record<string, string> = {}): RestError {
  const request = createPipelineRequest({ url: "https://myvault.vault.azure.net/secrets/a" });
  return new RestError("Throttled", {
    statusCode: 429,
    code: "Throttled",
    request,
    response: { status: 429, headers: createHttpHeaders(headers), request },
  });
}

/** A backoff on a clock the test moves, without jitter. */
function backoffAt(now: { ms: number }): SharedBackoff {
  return new SharedBackoff({
    initialDelayInMs: 1000,
    maxDelayInMs: 16_000,
    now: () => now.ms,
    random: () => 0,
  });
}

/**
 * Counts the timers set through `setTimeout` while installed and neither fired nor cleared yet
 * (mocha keeps its own references to the timer functions, so its timers are not counted).
 */
class TimerCount {
  private readonly realSet = globalThis.setTimeout;
  private readonly realClear = globalThis.clearTimeout;
  private readonly pending = new Set<unknown>();

  constructor() {
    const pending = this.pending;
    const realSet = this.realSet;
    const realClear = this.realClear;
    globalThis.setTimeout = ((callback: () => void, ms?: number) => {
      const handle = realSet(() => {
        pending.delete(handle);
        callback();
      }, ms);
      pending.add(handle);
      return handle;
    }) as typeof setTimeout;
    globalThis.clearTimeout = ((handle: ReturnType<typeof setTimeout> | undefined) => {
      pending.delete(handle);
      realClear(handle);
    }) as typeof clearTimeout;
  }

  get size(): number {
    return this.pending.size;
  }

  restore(): void {
    globalThis.setTimeout = this.realSet;
    globalThis.clearTimeout = this.realClear;
  }
}

/** Lets settled promises run their callbacks. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A wait whose outcome the test can look at without awaiting it. */
function tracked(wait: Promise<boolean>): { outcome: () => string } {
  let outcome = "waiting";
  wait.then(
    (probe) => (outcome = probe ? "probe" : "go"),
    (error: Error) => (outcome = `aborted: ${error.message}`),
  );
  return { outcome: () => outcome };
}

describe("SharedBackoff", function () {
  let timers: TimerCount | undefined;
  afterEach(() => {
    timers?.restore();
    timers = undefined;
  });

  it("refuses at once a wait whose signal has already fired, even without a pause", async function () {
    const shared = backoffAt({ ms: 10_000 });
    const controller = new AbortController();
    controller.abort(new Error("gave up"));
    await assert.rejects(shared.wait(controller.signal), /gave up/);
  });

  it("makes a newcomer wait behind those already waiting, even when the pause is just over", async function () {
    const now = { ms: 10_000 };
    const shared = backoffAt(now);
    const signal = new AbortController().signal;
    shared.throttled(throttled({ "retry-after-ms": "20" }), shared.requestStarted());
    const first = tracked(shared.wait(signal));
    // The pause is over by the clock, before the timer that would release `first` fires.
    now.ms += 20;
    const newcomer = tracked(shared.wait(signal));
    await settle();
    assert.equal(first.outcome(), "probe", "the one that waited longest probes");
    assert.equal(newcomer.outcome(), "waiting");
    shared.probeEnded();
    await settle();
    assert.equal(newcomer.outcome(), "go");
  });

  it("sends no one while a probe released from the queue is out, newcomers included", async function () {
    const now = { ms: 10_000 };
    const shared = backoffAt(now);
    const signal = new AbortController().signal;
    shared.throttled(throttled({ "retry-after-ms": "5" }), shared.requestStarted());
    const first = tracked(shared.wait(signal));
    const second = tracked(shared.wait(signal));
    now.ms += 5;
    // The pause's timer releases the first as the probe.
    await eventually(() => first.outcome() !== "waiting");
    assert.equal(first.outcome(), "probe");
    const newcomer = tracked(shared.wait(signal));
    await settle();
    assert.deepEqual([second.outcome(), newcomer.outcome()], ["waiting", "waiting"]);
    shared.probeEnded();
    await settle();
    assert.deepEqual([second.outcome(), newcomer.outcome()], ["go", "go"]);
  });

  it("leaves no abort listener on a signal once its wait ends (one signal serves many waits)", async function () {
    const now = { ms: 10_000 };
    const shared = backoffAt(now);
    const signal = new AbortController().signal;
    shared.throttled(throttled({ "retry-after-ms": "5" }), shared.requestStarted());
    const waits = [1, 2, 3].map(() => tracked(shared.wait(signal)));
    assert.equal(getEventListeners(signal, "abort").length, 3);
    now.ms += 5;
    await eventually(() => waits[0]!.outcome() === "probe");
    shared.probeEnded();
    await eventually(() => waits.every((wait) => wait.outcome() !== "waiting"));
    assert.equal(getEventListeners(signal, "abort").length, 0);
  });

  it("forgets an aborted waiter: the next one in line becomes the probe", async function () {
    const now = { ms: 10_000 };
    const shared = backoffAt(now);
    shared.throttled(throttled({ "retry-after-ms": "5" }), shared.requestStarted());
    const controller = new AbortController();
    const aborted = tracked(shared.wait(controller.signal));
    const next = tracked(shared.wait(new AbortController().signal));
    controller.abort(new Error("stop"));
    now.ms += 5;
    await eventually(() => next.outcome() !== "waiting");
    assert.equal(aborted.outcome(), "aborted: stop");
    assert.equal(next.outcome(), "probe");
    shared.probeEnded();
  });

  it("clears its timer when the last waiter aborts, and keeps it while others wait", async function () {
    const now = { ms: 10_000 };
    const shared = backoffAt(now);
    timers = new TimerCount();
    // A pause of 60 s by the clock: a timer left behind would hold the process for a minute.
    shared.throttled(throttled({ "retry-after": "60" }), shared.requestStarted());
    const controllers = [new AbortController(), new AbortController()];
    const waits = controllers.map((controller) => tracked(shared.wait(controller.signal)));
    assert.equal(timers.size, 1, "one timer for every waiter");
    controllers[0]!.abort(new Error("first gone"));
    assert.equal(timers.size, 1, "the other still waits for the timer");
    controllers[1]!.abort(new Error("second gone"));
    assert.equal(timers.size, 0, "no one waits: no timer");
    await settle();
    assert.deepEqual(
      waits.map((wait) => wait.outcome()),
      ["aborted: first gone", "aborted: second gone"],
    );
  });

  it("keeps one timer however many wait, and sets none when a probe ends with no one waiting", async function () {
    const now = { ms: 10_000 };
    const shared = backoffAt(now);
    timers = new TimerCount();
    shared.throttled(throttled({ "retry-after-ms": "5" }), shared.requestStarted());
    now.ms += 5;
    assert.equal(await shared.wait(new AbortController().signal), true, "the probe");
    // The probe is throttled again and ends while no one waits.
    shared.throttled(throttled({ "retry-after-ms": "5" }), now.ms);
    shared.probeEnded();
    assert.equal(timers.size, 0, "nothing to release: no timer");
    const signal = new AbortController().signal;
    const waits = [1, 2, 3].map(() => tracked(shared.wait(signal)));
    assert.equal(timers.size, 1);
    now.ms += 5;
    await eventually(() => waits[0]!.outcome() !== "waiting");
    shared.probeEnded();
    await settle();
    assert.deepEqual(
      waits.map((wait) => wait.outcome()),
      ["probe", "go", "go"],
    );
    assert.equal(timers.size, 0);
  });

  it("a success resets the delay only for a request sent after the pause was decided", function () {
    const now = { ms: 10_000 };
    const shared = backoffAt(now);
    const early = shared.requestStarted();
    now.ms += 50;
    assert.equal(shared.throttled(throttled(), early), 1000);
    shared.succeeded(early);
    // Sent in the millisecond the pause was decided: after it, so a new episode, one level deeper.
    const same = shared.requestStarted();
    assert.equal(shared.throttled(throttled(), same), 2000, "an old success does not reset");
    now.ms += 2000;
    shared.succeeded(same);
    assert.equal(shared.throttled(throttled(), shared.requestStarted()), 1000, "a new one does");
  });

  it("in an episode begun by a Retry-After, a 429 without one never shortens the pause", function () {
    const now = { ms: 10_000 };
    const shared = backoffAt(now);
    const sent = shared.requestStarted();
    now.ms += 100;
    shared.throttled(throttled({ "retry-after": "2" }), sent);
    assert.equal(shared.pausedUntilMs, 12_100);
    // An echo without Retry-After: its backoff (1 s from now) ends sooner, the pause stays.
    shared.throttled(throttled(), sent);
    assert.equal(shared.pausedUntilMs, 12_100);
    // Still a Retry-After episode: a closer end named by a Retry-After wins.
    shared.throttled(throttled({ "retry-after-ms": "300" }), sent);
    assert.equal(shared.pausedUntilMs, 10_400);
    now.ms += 100;
    shared.throttled(throttled(), sent);
    assert.equal(shared.pausedUntilMs, 11_200, "a later backoff end extends it");
  });

  it("in an episode begun by a backoff, a Retry-After only extends the pause", function () {
    const now = { ms: 10_000 };
    const shared = backoffAt(now);
    const sent = shared.requestStarted();
    now.ms += 100;
    shared.throttled(throttled(), sent);
    assert.equal(shared.pausedUntilMs, 11_100);
    shared.throttled(throttled({ "retry-after-ms": "300" }), sent);
    assert.equal(shared.pausedUntilMs, 11_100);
    shared.throttled(throttled({ "retry-after": "3" }), sent);
    assert.equal(shared.pausedUntilMs, 13_100);
  });
});

describe("withSharedBackoff", function () {
  it("resets the backoff after a success, so the next 429 waits the first delay again", async function () {
    const now = { ms: 10_000 };
    const shared = backoffAt(now);
    const signal = new AbortController().signal;
    const attempts = { maxAttempts: 1, signal, subject: '"a"' };
    shared.throttled(throttled(), shared.requestStarted());
    now.ms += 1000;
    assert.equal(await withSharedBackoff(shared, attempts, async () => "ok"), "ok");
    assert.equal(shared.throttled(throttled(), shared.requestStarted()), 1000);
  });

  it("keeps the others waiting for the probe when a request sent before the pause ends meanwhile", async function () {
    const now = { ms: 10_000 };
    const shared = backoffAt(now);
    const signal = new AbortController().signal;
    const attempts = { maxAttempts: 1, signal, subject: '"a"' };
    let answerEarly!: (value: string) => void;
    const early = withSharedBackoff(
      shared,
      attempts,
      () => new Promise<string>((resolve) => (answerEarly = resolve)),
    );
    await settle();
    // Another worker's 429 pauses everyone while `early` is still out.
    shared.throttled(throttled({ "retry-after-ms": "5" }), shared.requestStarted());
    now.ms += 5;
    let answerProbe!: (value: string) => void;
    const probe = withSharedBackoff(
      shared,
      attempts,
      () => new Promise<string>((resolve) => (answerProbe = resolve)),
    );
    await settle();
    const waiting = tracked(shared.wait(signal));
    answerEarly("early");
    assert.equal(await early, "early");
    await settle();
    assert.equal(waiting.outcome(), "waiting", "the probe is still out");
    answerProbe("probe");
    assert.equal(await probe, "probe");
    await settle();
    assert.equal(waiting.outcome(), "go");
  });
});
