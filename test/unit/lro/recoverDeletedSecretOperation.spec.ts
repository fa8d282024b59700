import assert from "node:assert/strict";
import type { PollOperationState } from "@azure/core-lro";
import { RestError } from "@azure/core-rest-pipeline";
import { beginRecoverDeletedSecretPoller } from "../../../src/lro/recoverDeletedSecretOperation.js";
import type { RecoverDeletedSecretOperationClient } from "../../../src/lro/recoverDeletedSecretOperation.js";
import type { SecretProperties } from "../../../src/models.js";
import { deletedSecret, notFound, scripted, secretProperties } from "./fakeClients.js";
import type { ScriptedMethod } from "./fakeClients.js";

interface FakeRecoverClient extends RecoverDeletedSecretOperationClient {
  recoverDeletedSecret: ScriptedMethod<SecretProperties>;
  getSecret: ScriptedMethod<SecretProperties>;
}

function fakeClient(
  recoverAnswer: SecretProperties | Error,
  ...pollAnswers: Array<SecretProperties | Error>
): FakeRecoverClient {
  // The first getSecret is the pre-check that finds the secret deleted (404), as in 4.x.
  return {
    recoverDeletedSecret: scripted(recoverAnswer),
    getSecret: scripted<SecretProperties>(notFound(), ...pollAnswers),
  };
}

const recovered = secretProperties("v1");
const polled = secretProperties("v1-polled");

describe("beginRecoverDeletedSecretPoller", () => {
  it("sends the recover request and one poll before resolving; getResult() is its result", async () => {
    const client = fakeClient(recovered, notFound());
    const poller = await beginRecoverDeletedSecretPoller(client, "my-secret", { intervalInMs: 1 });

    assert.equal(client.recoverDeletedSecret.calls.length, 1);
    assert.equal(client.recoverDeletedSecret.calls[0]?.name, "my-secret");
    assert.equal(client.getSecret.calls.length, 2);
    const state = poller.getOperationState() as PollOperationState<SecretProperties> & {
      name: string;
    };
    assert.equal(state.isStarted, true);
    assert.ok(!state.isCompleted);
    assert.equal(state.name, "my-secret");
    assert.equal(poller.getResult(), recovered);
  });

  it("polls until the secret is readable (404, 404, 200) and resolves to its properties", async () => {
    const client = fakeClient(recovered, notFound(), notFound(), polled);
    const poller = await beginRecoverDeletedSecretPoller(client, "my-secret", { intervalInMs: 1 });
    const progress: boolean[] = [];
    poller.onProgress((state) => progress.push(Boolean(state.isCompleted)));

    assert.equal(await poller.pollUntilDone(), polled);
    assert.equal(client.getSecret.calls.length, 4);
    assert.equal(client.recoverDeletedSecret.calls.length, 1);
    assert.deepEqual(progress, [false, true]);
  });

  it("rejects with the service error when the recover request fails", async () => {
    const conflict = new RestError("Secret is not deleted", { statusCode: 409 });
    const client = fakeClient(conflict, polled);

    await assert.rejects(
      beginRecoverDeletedSecretPoller(client, "my-secret", { intervalInMs: 1 }),
      (error: unknown) => error === conflict,
    );
    assert.equal(client.getSecret.calls.length, 1);
  });

  it("is done at once, without a recover request, when the secret can already be read", async () => {
    const client: FakeRecoverClient = {
      recoverDeletedSecret: scripted<SecretProperties>(recovered),
      getSecret: scripted(polled),
    };
    const poller = await beginRecoverDeletedSecretPoller(client, "my-secret", { intervalInMs: 1 });
    assert.equal(poller.isDone(), true);
    assert.equal(await poller.pollUntilDone(), polled);
    assert.equal(client.recoverDeletedSecret.calls.length, 0);
  });

  it("does not swallow a network error of the pre-check", async () => {
    const reset = new Error("socket hang up");
    const client: FakeRecoverClient = {
      recoverDeletedSecret: scripted<SecretProperties>(recovered),
      getSecret: scripted<SecretProperties>(reset),
    };
    await assert.rejects(
      beginRecoverDeletedSecretPoller(client, "s", { intervalInMs: 1 }),
      /hang up/,
    );
    assert.equal(client.recoverDeletedSecret.calls.length, 0);
  });

  it("rejects cancelOperation(): the service cannot cancel a recovery", async () => {
    const poller = await beginRecoverDeletedSecretPoller(fakeClient(recovered, notFound()), "s", {
      intervalInMs: 1,
    });
    await assert.rejects(poller.cancelOperation(), {
      message: "Canceling the recovery of a deleted secret is not supported.",
    });
  });

  it("resumes from toString() without sending the recover request again", async () => {
    const original = await beginRecoverDeletedSecretPoller(
      fakeClient(recovered, notFound()),
      "my-secret",
      { intervalInMs: 1 },
    );
    const client = fakeClient(recovered, notFound(), polled);
    const resumed = await beginRecoverDeletedSecretPoller(client, "my-secret", {
      intervalInMs: 1,
      resumeFrom: original.toString(),
    });

    assert.equal(client.recoverDeletedSecret.calls.length, 0);
    assert.ok(resumed.getResult()?.createdOn instanceof Date);
    assert.equal(await resumed.pollUntilDone(), polled);
    // No pre-check on resume: the three scripted answers (404, 404, 200) are all polls.
    assert.equal(client.getSecret.calls.length, 3);
  });

  it("rejects the toString() of a delete poller as resumeFrom, before any request", async () => {
    const resumeFrom = JSON.stringify({
      state: { name: "my-secret", isStarted: true, result: deletedSecret() },
    });
    const client = fakeClient(recovered, polled);

    await assert.rejects(
      beginRecoverDeletedSecretPoller(client, "my-secret", { resumeFrom }),
      TypeError,
    );
    await assert.rejects(
      beginRecoverDeletedSecretPoller(client, "my-secret", { resumeFrom: "{not json" }),
      TypeError,
    );
    assert.equal(client.recoverDeletedSecret.calls.length + client.getSecret.calls.length, 0);
  });
});
