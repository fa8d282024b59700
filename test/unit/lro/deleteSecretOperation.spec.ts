import assert from "node:assert/strict";
import type { PollOperationState } from "@azure/core-lro";
import { RestError } from "@azure/core-rest-pipeline";
import { beginDeleteSecretPoller } from "../../../src/lro/deleteSecretOperation.js";
import type { DeleteSecretOperationClient } from "../../../src/lro/deleteSecretOperation.js";
import type { DeletedSecret } from "../../../src/models.js";
import { deletedSecret, notFound, scripted } from "./fakeClients.js";
import type { ScriptedMethod } from "./fakeClients.js";

interface FakeDeleteClient extends DeleteSecretOperationClient {
  deleteSecret: ScriptedMethod<DeletedSecret>;
  getDeletedSecret: ScriptedMethod<DeletedSecret>;
}

function fakeClient(
  deleteAnswer: DeletedSecret | Error,
  ...pollAnswers: Array<DeletedSecret | Error>
): FakeDeleteClient {
  return { deleteSecret: scripted(deleteAnswer), getDeletedSecret: scripted(...pollAnswers) };
}

const polledSecret = deletedSecret(null, { recoveryId: "polled" });

describe("beginDeleteSecretPoller", () => {
  it("sends DELETE and one poll before resolving; getResult() is the DELETE result", async () => {
    const initial = deletedSecret();
    const client = fakeClient(initial, notFound());
    const poller = await beginDeleteSecretPoller(client, "my-secret", { intervalInMs: 1 });

    assert.equal(client.deleteSecret.calls.length, 1);
    assert.equal(client.deleteSecret.calls[0]?.name, "my-secret");
    assert.equal(client.getDeletedSecret.calls.length, 1);
    const state = poller.getOperationState() as PollOperationState<DeletedSecret> & {
      name: string;
    };
    assert.equal(state.isStarted, true);
    assert.ok(!state.isCompleted);
    assert.equal(state.error, undefined);
    assert.equal(state.name, "my-secret");
    assert.equal(state.result, initial);
    assert.equal(poller.getResult(), initial);
    assert.equal(poller.isDone(), false);
  });

  it("polls until the deleted secret is readable (404, 404, 200) and resolves to it", async () => {
    const client = fakeClient(deletedSecret(), notFound(), notFound(), polledSecret);
    const poller = await beginDeleteSecretPoller(client, "my-secret", { intervalInMs: 1 });

    const result = await poller.pollUntilDone();

    assert.equal(result, polledSecret);
    assert.equal(client.getDeletedSecret.calls.length, 3);
    assert.equal(client.deleteSecret.calls.length, 1);
    assert.equal(poller.isDone(), true);
    assert.equal(poller.getOperationState().isCompleted, true);
    assert.equal(poller.getResult(), polledSecret);
  });

  it("is done at once, without polling, when the DELETE result has no recoveryId", async () => {
    const initial = deletedSecret(null);
    const client = fakeClient(initial, notFound());
    const poller = await beginDeleteSecretPoller(client, "my-secret", { intervalInMs: 1 });

    assert.equal(poller.isDone(), true);
    assert.equal(await poller.pollUntilDone(), initial);
    assert.equal(client.getDeletedSecret.calls.length, 0);
  });

  it("rejects with the service error when the DELETE itself fails", async () => {
    const missing = new RestError("Secret not found: my-secret", { statusCode: 404 });
    const client = fakeClient(missing, polledSecret);

    await assert.rejects(
      beginDeleteSecretPoller(client, "my-secret", { intervalInMs: 1 }),
      (error: unknown) => error === missing,
    );
    assert.equal(client.getDeletedSecret.calls.length, 0);
  });

  it("rejects cancelOperation(): the service cannot cancel a deletion", async () => {
    const poller = await beginDeleteSecretPoller(fakeClient(deletedSecret(), notFound()), "s", {
      intervalInMs: 1,
    });
    await assert.rejects(poller.cancelOperation(), {
      message: "Canceling the deletion of a secret is not supported.",
    });
  });

  describe("toString and resumeFrom", () => {
    it("accepts the state format of @azure/keyvault-secrets 4.x", async () => {
      // What 4.x's toString() gives after a first 404 (its result is the mapped DELETE answer).
      const resumeFrom = JSON.stringify({
        state: {
          name: "my-secret",
          isStarted: true,
          result: JSON.parse(JSON.stringify(deletedSecret())),
        },
      });
      const client = fakeClient(deletedSecret(), polledSecret);
      const resumed = await beginDeleteSecretPoller(client, "my-secret", {
        intervalInMs: 1,
        resumeFrom,
      });

      assert.equal(await resumed.pollUntilDone(), polledSecret);
      assert.equal(client.deleteSecret.calls.length, 0);
    });

    const invalid: Array<[string, string]> = [
      [
        "a state of a recover poller",
        JSON.stringify({
          state: {
            name: "my-secret",
            isStarted: true,
            result: { name: "my-secret", vaultUrl: "x" },
          },
        }),
      ],
    ];
    for (const [what, resumeFrom] of invalid) {
      it(`rejects a resumeFrom of ${what} with a TypeError, before any request`, async () => {
        const client = fakeClient(deletedSecret(), polledSecret);
        await assert.rejects(
          beginDeleteSecretPoller(client, "my-secret", { resumeFrom }),
          (error: unknown) =>
            error instanceof TypeError && /resumeFrom/.test(error.message) ? true : false,
        );
        assert.equal(client.deleteSecret.calls.length + client.getDeletedSecret.calls.length, 0);
      });
    }
  });
});
