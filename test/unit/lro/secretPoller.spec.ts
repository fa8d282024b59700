import assert from "node:assert/strict";
import { PollerStoppedError } from "@azure/core-lro";
import type { PollOperationState } from "@azure/core-lro";
import { RestError } from "@azure/core-rest-pipeline";
import {
  beginSecretPoller,
  type SecretOperationDefinition,
} from "../../../src/lro/secretPoller.js";
import type { DeletedSecret, SecretPollerOptions } from "../../../src/models.js";
import { deletedSecret, forbidden, notFound, scripted } from "./fakeClients.js";
import type { ScriptedMethod } from "./fakeClients.js";

// The rules every secret poller follows, tested once against the poller base with a made-up
// operation; the operation specs test only how each operation starts, polls and ends.

interface FakeOperation {
  definition: SecretOperationDefinition<DeletedSecret>;
  start: ScriptedMethod<DeletedSecret>;
  poll: ScriptedMethod<DeletedSecret>;
}

function fakeOperation(
  startAnswer: DeletedSecret | Error,
  ...pollAnswers: Array<DeletedSecret | Error>
): FakeOperation {
  const start = scripted(startAnswer);
  const poll = scripted(...pollAnswers);
  return {
    start,
    poll,
    definition: {
      kind: "test operation",
      cancelMessage: "Canceling a test operation is not supported.",
      async start(name, options) {
        return { result: await start(name, options), isCompleted: false };
      },
      poll: (name, options) => poll(name, options),
      isResult: (value) => typeof value["name"] === "string" && "deletedOn" in value,
    },
  };
}

function begin(operation: FakeOperation, name: string, options: SecretPollerOptions = {}) {
  return beginSecretPoller(operation.definition, name, options);
}

const polledSecret = deletedSecret(null, { recoveryId: "polled" });

describe("beginSecretPoller (the rules every secret poller shares)", () => {
  it("rejects cancelOperation() with the operation's message", async () => {
    const poller = await begin(fakeOperation(deletedSecret(), notFound()), "s", {
      intervalInMs: 1,
    });
    await assert.rejects(poller.cancelOperation(), {
      message: "Canceling a test operation is not supported.",
    });
  });

  it("serializes as JSON.stringify({ state }) without the secret value", async () => {
    const initial = deletedSecret(null, { value: "s3cr3t-value" });
    initial.recoveryId = "https://my-vault.vault.azure.net/deletedsecrets/my-secret";
    const poller = await begin(fakeOperation(initial, notFound()), "my-secret", {
      intervalInMs: 1,
    });

    const serialized = poller.toString();
    const parsed = JSON.parse(serialized) as { state: Record<string, unknown> };

    assert.deepEqual(Object.keys(parsed), ["state"]);
    assert.equal(parsed.state["name"], "my-secret");
    assert.equal(parsed.state["isStarted"], true);
    assert.equal(parsed.state["isCompleted"], undefined);
    assert.equal((parsed.state["result"] as { name: string }).name, "my-secret");
    assert.ok(!serialized.includes("s3cr3t-value"));
  });

  it("resumes without starting again, revives dates, and polls to the end", async () => {
    const first = fakeOperation(deletedSecret(), notFound());
    const original = await begin(first, "my-secret", { intervalInMs: 1 });
    const resumeFrom = original.toString();

    const second = fakeOperation(deletedSecret(), notFound(), polledSecret);
    const resumed = await begin(second, "my-secret", {
      intervalInMs: 1,
      resumeFrom,
    });

    assert.equal(second.start.calls.length, 0);
    assert.equal(resumed.getOperationState().isStarted, true);
    const initialResult = resumed.getResult();
    assert.equal(initialResult?.name, "my-secret");
    assert.ok(initialResult?.deletedOn instanceof Date, "dates are revived");
    assert.ok(initialResult?.properties.createdOn instanceof Date, "nested dates are revived");
    assert.equal(initialResult?.properties.createdOn?.toISOString(), "2025-12-01T00:00:00.000Z");
    assert.equal(await resumed.pollUntilDone(), polledSecret);
    assert.equal(second.poll.calls.length, 2);
  });

  it("round-trips a completed operation: done at once with its result, no request", async () => {
    const client = fakeOperation(deletedSecret(), polledSecret);
    const original = await begin(client, "my-secret", { intervalInMs: 1 });
    assert.equal(original.isDone(), true);

    const idle = fakeOperation(deletedSecret(), notFound());
    const resumed = await begin(idle, "my-secret", {
      resumeFrom: original.toString(),
    });

    assert.equal(resumed.isDone(), true);
    assert.equal(resumed.toString(), original.toString());
    const result = await resumed.pollUntilDone();
    assert.equal(result.recoveryId, "polled");
    assert.ok(result.scheduledPurgeDate instanceof Date);
    assert.equal(idle.start.calls.length + idle.poll.calls.length, 0);
  });

  it("resumes a failed operation as failed: pollUntilDone rejects with the recorded error", async () => {
    const serverError = new RestError("Internal error", { statusCode: 500, code: "Boom" });
    const client = fakeOperation(deletedSecret(), serverError);
    await assert.rejects(
      begin(client, "my-secret", { intervalInMs: 1 }),
      (error: unknown) => error === serverError,
    );
    const resumeFrom = JSON.stringify({
      state: {
        name: "my-secret",
        isStarted: true,
        isCompleted: true,
        error: { name: "RestError", message: "Internal error", statusCode: 500, code: "Boom" },
      },
    });

    const idle = fakeOperation(deletedSecret(), notFound());
    const resumed = await begin(idle, "my-secret", { resumeFrom });

    assert.equal(resumed.isDone(), true);
    await assert.rejects(resumed.pollUntilDone(), { statusCode: 500, code: "Boom" });
    assert.equal(idle.poll.calls.length, 0);
  });

  it("is done with the initial result when reading the outcome is forbidden (403)", async () => {
    const initial = deletedSecret();
    const client = fakeOperation(initial, forbidden());
    const poller = await begin(client, "my-secret", { intervalInMs: 1 });

    assert.equal(poller.isDone(), true);
    assert.equal(await poller.pollUntilDone(), initial);
    assert.equal(client.poll.calls.length, 1);
    assert.equal(poller.getOperationState().error, undefined);
  });

  it("fails pollUntilDone with any other poll error (500) and records it in the state", async () => {
    const serverError = new RestError("Internal error", { statusCode: 500, code: "InternalError" });
    const client = fakeOperation(deletedSecret(), notFound(), serverError, polledSecret);
    const poller = await begin(client, "my-secret", { intervalInMs: 1 });

    await assert.rejects(poller.pollUntilDone(), (error: unknown) => error === serverError);
    assert.equal(client.poll.calls.length, 2);
    assert.equal(poller.isDone(), true);
    assert.equal(poller.getOperationState().error, serverError);
  });

  it("passes abortSignal, requestOptions, tracingOptions and onResponse to every request", async () => {
    const controller = new AbortController();
    const onResponse = (): void => undefined;
    const options = {
      abortSignal: controller.signal,
      requestOptions: { headers: { "x-test": "1" }, timeout: 1234 },
      tracingOptions: { tracingContext: undefined },
      onResponse,
    };
    const client = fakeOperation(deletedSecret(), notFound(), polledSecret);
    const poller = await begin(client, "my-secret", {
      ...options,
      intervalInMs: 1,
    });
    await poller.pollUntilDone();

    const calls = [...client.start.calls, ...client.poll.calls];
    assert.equal(calls.length, 3);
    for (const call of calls) {
      assert.equal(call.name, "my-secret");
      assert.deepEqual(call.options, options);
      assert.equal(call.options.abortSignal, controller.signal);
      assert.equal(call.options.requestOptions, options.requestOptions);
      assert.equal(call.options.onResponse, onResponse);
      assert.ok(!("intervalInMs" in call.options));
      assert.ok(!("resumeFrom" in call.options));
    }
  });

  it("calls onProgress after each poll with the state of that poll", async () => {
    const client = fakeOperation(deletedSecret(), notFound(), notFound(), notFound(), polledSecret);
    const poller = await begin(client, "my-secret", { intervalInMs: 1 });
    const seen: Array<PollOperationState<DeletedSecret>> = [];
    poller.onProgress((state) => seen.push(state));

    await poller.pollUntilDone();

    assert.deepEqual(
      seen.map((state) => Boolean(state.isCompleted)),
      [false, false, true],
    );
    assert.equal(seen[2]?.result, polledSecret);
    assert.equal(client.poll.calls.length, 4);
  });

  it("stops polling on stopPolling(): pollUntilDone rejects and no request follows", async () => {
    const client = fakeOperation(deletedSecret(), notFound());
    const poller = await begin(client, "my-secret", { intervalInMs: 1 });
    poller.onProgress(() => {
      if (client.poll.calls.length === 3) poller.stopPolling();
    });

    await assert.rejects(poller.pollUntilDone(), PollerStoppedError);
    assert.equal(poller.isStopped(), true);
    assert.equal(poller.isDone(), false);
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(client.poll.calls.length, 3);
  });

  it("ends a long wait between polls at once when stopped", async () => {
    const client = fakeOperation(deletedSecret(), notFound());
    const poller = await begin(client, "my-secret", { intervalInMs: 10000 });
    const done = poller.pollUntilDone();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const stoppedAt = Date.now();
    poller.stopPolling();

    await assert.rejects(done, PollerStoppedError);
    assert.ok(Date.now() - stoppedAt < 1000);
    assert.equal(client.poll.calls.length, 2);
  });

  it("rejects pollUntilDone promptly with an AbortError when aborted during the wait", async () => {
    const client = fakeOperation(deletedSecret(), notFound());
    const poller = await begin(client, "my-secret", { intervalInMs: 10000 });
    const controller = new AbortController();
    const done = poller.pollUntilDone({ abortSignal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const abortedAt = Date.now();
    controller.abort();

    await assert.rejects(done, { name: "AbortError" });
    assert.ok(Date.now() - abortedAt < 1000, `took ${Date.now() - abortedAt} ms`);
    assert.equal(client.poll.calls.length, 2);
    // The poll during pollUntilDone got that signal; an abort does not fail the operation.
    assert.equal(client.poll.calls[1]?.options.abortSignal, controller.signal);
    assert.equal(poller.getOperationState().error, undefined);
    assert.equal(poller.isDone(), false);
  });

  it("ends the wait with an AbortError when the signal given to begin aborts", async () => {
    const controller = new AbortController();
    const client = fakeOperation(deletedSecret(), notFound());
    const poller = await begin(client, "my-secret", {
      intervalInMs: 10000,
      abortSignal: controller.signal,
    });
    const done = poller.pollUntilDone();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const abortedAt = Date.now();
    controller.abort();

    await assert.rejects(done, { name: "AbortError" });
    assert.ok(Date.now() - abortedAt < 1000);
  });

  it("hands an already-aborted pollUntilDone signal to the request (as 4.x) and stays resumable", async () => {
    const client = fakeOperation(deletedSecret(), notFound(), notFound());
    const poller = await begin(client, "my-secret", { intervalInMs: 1 });
    const controller = new AbortController();
    controller.abort();

    await assert.rejects(poller.pollUntilDone({ abortSignal: controller.signal }), {
      name: "AbortError",
    });
    // The pipeline rejects an aborted request before it reaches the wire; the poll's span is
    // recorded as in 4.x. The operation itself has not failed.
    assert.equal(client.poll.calls[1]?.options.abortSignal?.aborted, true);
    assert.equal(poller.getOperationState().error, undefined);
    assert.equal(poller.getOperationState().isCompleted, undefined);
  });

  it("gives requests a signal that aborts with either the begin or the pollUntilDone signal", async () => {
    const beginController = new AbortController();
    const pollController = new AbortController();
    const client = fakeOperation(deletedSecret(), notFound(), polledSecret);
    const poller = await begin(client, "my-secret", {
      intervalInMs: 1,
      abortSignal: beginController.signal,
    });
    await poller.pollUntilDone({ abortSignal: pollController.signal });

    const combined = client.poll.calls[1]?.options.abortSignal;
    assert.ok(combined);
    assert.equal(combined.aborted, false);
    // The request has settled, so the combined signal no longer follows its sources.
    pollController.abort();
    assert.equal(combined.aborted, false);
  });

  it("rejects an intervalInMs that is not a number of milliseconds, before any request", async () => {
    for (const intervalInMs of [-1, Number.NaN, Infinity, 2 ** 31]) {
      const client = fakeOperation(deletedSecret(), notFound());
      await assert.rejects(begin(client, "my-secret", { intervalInMs }), RangeError);
      assert.equal(client.start.calls.length, 0);
    }
  });

  const invalid: Array<[string, string]> = [
    ["text that is not JSON", "not json"],
    ["JSON without a state", JSON.stringify({ name: "my-secret" })],
    ["a state that is not an object", JSON.stringify({ state: "done" })],
    ["a state that was never started", JSON.stringify({ state: { name: "my-secret" } })],
    ["a state of another secret", JSON.stringify({ state: { name: "other", isStarted: true } })],
    [
      "an isCompleted that is not a boolean",
      JSON.stringify({ state: { name: "my-secret", isStarted: true, isCompleted: "yes" } }),
    ],
  ];
  for (const [what, resumeFrom] of invalid) {
    it(`rejects a resumeFrom of ${what} with a TypeError, before any request`, async () => {
      const client = fakeOperation(deletedSecret(), polledSecret);
      await assert.rejects(begin(client, "my-secret", { resumeFrom }), (error: unknown) =>
        error instanceof TypeError && /resumeFrom/.test(error.message) ? true : false,
      );
      assert.equal(client.start.calls.length + client.poll.calls.length, 0);
    });
  }
});
