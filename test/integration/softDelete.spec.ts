import assert from "node:assert/strict";
import { type SecretClient } from "../../src/index.js";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import {
  assertRestError,
  collect,
  dayInMs,
  deletedButRecoverableMessage,
  deletedSecretNotFoundMessage,
  localClient,
  requestLog,
  secretNotFoundMessage,
  uniqueName,
} from "./integrationTestKit.js";

const delayMs = 50;
const intervalInMs = 10;

describe("integration: delete, recover and purge over HTTP", () => {
  let vault: LocalVault;
  let client: SecretClient;

  before(async () => {
    vault = await startLocalVault({ delayMs });
    client = localClient(vault);
  });
  after(async () => {
    client.close();
    await vault.close();
  });

  async function deleteAndWait(name: string): Promise<void> {
    const poller = await client.beginDeleteSecret(name, { intervalInMs });
    await poller.pollUntilDone();
  }

  describe("beginDeleteSecret", () => {
    it("polls through 404 until the deleted secret can be read, then holds the deleted secret", async () => {
      const log = requestLog("perRetry");
      const logged = localClient(vault, { additionalPolicies: [log.config] });
      const name = uniqueName("del");
      const set = await logged.setSecret(name, "v", { tags: { t: "1" } });
      const poller = await logged.beginDeleteSecret(name, { intervalInMs });
      assert.equal(poller.getOperationState().isStarted, true);
      assert.equal(poller.isDone(), false);
      const deleted = await poller.pollUntilDone();
      assert.equal(poller.isDone(), true);

      const deletes = log.matching("DELETE", `/secrets/${name}`).filter((r) => r.authorized);
      assert.deepEqual(
        deletes.map((r) => r.status),
        [200],
      );
      const polls = log
        .matching("GET", `/deletedsecrets/${name}`)
        .filter((r) => r.authorized)
        .map((r) => r.status);
      assert.ok(polls.length >= 2, `polls: ${polls.join(",")}`);
      assert.equal(polls[0], 404);
      assert.equal(polls[polls.length - 1], 200);
      assert.ok(polls.slice(0, -1).every((s) => s === 404));

      assert.equal(deleted.name, name);
      assert.equal(deleted.properties.id, set.properties.id);
      assert.equal(deleted.properties.version, set.properties.version);
      assert.deepEqual(deleted.properties.tags, { t: "1" });
      assert.equal(deleted.value, undefined);
      assert.equal(deleted.recoveryId, `${vault.vaultUrl}/deletedsecrets/${name}`);
      assert.equal(deleted.properties.recoveryId, deleted.recoveryId);
      assert.ok(deleted.deletedOn instanceof Date);
      assert.ok(deleted.scheduledPurgeDate instanceof Date);
      assert.equal(
        deleted.scheduledPurgeDate.getTime() - deleted.deletedOn.getTime(),
        90 * dayInMs,
      );
      assert.ok(Math.abs(deleted.deletedOn.getTime() - Date.now()) < 5000);
      assert.deepEqual(poller.getResult(), deleted);
      logged.close();
    });

    it("answers 404 SecretNotFound for a secret that does not exist", async () => {
      const name = uniqueName("delmissing");
      await assertRestError(client.beginDeleteSecret(name, { intervalInMs }), {
        statusCode: 404,
        code: "SecretNotFound",
        message: secretNotFoundMessage(name),
      });
    });

    it("makes the name unusable: get answers 404, set answers 409 ObjectIsDeletedButRecoverable", async () => {
      const name = uniqueName("reuse");
      await client.setSecret(name, "v");
      await deleteAndWait(name);
      await assertRestError(client.getSecret(name), {
        statusCode: 404,
        code: "SecretNotFound",
        message: secretNotFoundMessage(name),
      });
      await assertRestError(client.setSecret(name, "again"), {
        statusCode: 409,
        code: "Conflict",
        message: deletedButRecoverableMessage(name),
        innerCode: "ObjectIsDeletedButRecoverable",
      });
    });

    it("resumes from toString() in a new client without sending DELETE again", async () => {
      const name = uniqueName("resume");
      await client.setSecret(name, "v");
      const first = await client.beginDeleteSecret(name, { intervalInMs });
      const serialized = first.toString();
      assert.equal(JSON.parse(serialized).state.name, name);
      assert.equal(JSON.parse(serialized).state.isStarted, true);
      first.stopPolling();

      const log = requestLog("perCall");
      const second = localClient(vault, { additionalPolicies: [log.config] });
      const resumed = await second.beginDeleteSecret(name, {
        resumeFrom: serialized,
        intervalInMs,
      });
      const deleted = await resumed.pollUntilDone();
      assert.equal(deleted.name, name);
      assert.equal(deleted.recoveryId, `${vault.vaultUrl}/deletedsecrets/${name}`);
      assert.equal(log.matching("DELETE", `/secrets/${name}`).length, 0);
      const polls = log.matching("GET", `/deletedsecrets/${name}`);
      assert.ok(polls.length >= 1);
      assert.equal(polls[polls.length - 1].status, 200);
      assert.ok(log.requests.every((r) => r.path === `/deletedsecrets/${name}`));
      second.close();
    });

    it("ends pollUntilDone at once when its abort signal fires during the wait", async () => {
      const name = uniqueName("abort");
      await client.setSecret(name, "v");
      const poller = await client.beginDeleteSecret(name, { intervalInMs: 60_000 });
      assert.equal(poller.isDone(), false);
      const controller = new AbortController();
      const started = Date.now();
      setTimeout(() => controller.abort(), 20);
      await assert.rejects(poller.pollUntilDone({ abortSignal: controller.signal }), (error) => {
        assert.ok(error instanceof Error);
        assert.equal(error.name, "AbortError");
        return true;
      });
      assert.ok(Date.now() - started < 2000, "the wait should end when the signal fires");
      assert.equal(poller.isDone(), false);
      // The operation itself went on: the deleted secret appears.
      const resumed = await client.beginDeleteSecret(name, {
        resumeFrom: poller.toString(),
        intervalInMs,
      });
      const deleted = await resumed.pollUntilDone();
      assert.equal(deleted.name, name);
    });
  });

  describe("getDeletedSecret and listDeletedSecrets", () => {
    it("reads a deleted secret with its deletion dates", async () => {
      const name = uniqueName("getdel");
      const set = await client.setSecret(name, "v", { contentType: "text/plain" });
      await deleteAndWait(name);
      const deleted = await client.getDeletedSecret(name);
      assert.equal(deleted.name, name);
      assert.equal(deleted.properties.id, set.properties.id);
      assert.equal(deleted.properties.contentType, "text/plain");
      assert.equal(deleted.recoveryId, `${vault.vaultUrl}/deletedsecrets/${name}`);
      assert.ok(deleted.deletedOn instanceof Date);
      assert.equal(
        deleted.scheduledPurgeDate?.getTime(),
        deleted.deletedOn.getTime() + 90 * dayInMs,
      );
    });

    it("answers 404 with the service's generic message for a name that is not deleted", async () => {
      const name = uniqueName("notdel");
      await assertRestError(client.getDeletedSecret(name), {
        statusCode: 404,
        code: "SecretNotFound",
        message: secretNotFoundMessage(name),
      });
    });

    it("lists the deleted secrets with recovery ids and dates", async () => {
      const names = [uniqueName("ld"), uniqueName("ld"), uniqueName("ld")];
      for (const name of names) await client.setSecret(name, "v");
      for (const name of names) await deleteAndWait(name);
      const listed = (await collect(client.listDeletedSecrets())).filter((d) =>
        names.includes(d.name),
      );
      assert.deepEqual(listed.map((d) => d.name).sort(), [...names].sort());
      for (const deleted of listed) {
        assert.equal(deleted.recoveryId, `${vault.vaultUrl}/deletedsecrets/${deleted.name}`);
        assert.ok(deleted.deletedOn instanceof Date);
        assert.equal(
          deleted.scheduledPurgeDate?.getTime(),
          deleted.deletedOn.getTime() + 90 * dayInMs,
        );
        assert.equal(deleted.properties.id, `${vault.vaultUrl}/secrets/${deleted.name}`);
      }
      const pages = await collect(client.listDeletedSecrets().byPage({ maxPageSize: 1 }));
      assert.ok(pages.every((page) => page.length <= 1));
      assert.ok(pages.length >= 3);
    });
  });

  describe("purgeDeletedSecret", () => {
    it("purges for good: getDeletedSecret answers 404 and the name can be used again", async () => {
      const name = uniqueName("purge");
      await client.setSecret(name, "v");
      await deleteAndWait(name);
      const result = await client.purgeDeletedSecret(name);
      assert.equal(result, undefined);
      await assertRestError(client.getDeletedSecret(name), {
        statusCode: 404,
        code: "SecretNotFound",
        message: secretNotFoundMessage(name),
      });
      const again = await client.setSecret(name, "new life");
      assert.equal(again.value, "new life");
      assert.equal(
        (await collect(client.listPropertiesOfSecretVersions(name))).length,
        1,
        "a purged secret's versions are gone",
      );
    });

    it("answers 409 Conflict while the deletion is still running", async () => {
      const name = uniqueName("purgeearly");
      await client.setSecret(name, "v");
      const poller = await client.beginDeleteSecret(name, { intervalInMs });
      assert.equal(poller.isDone(), false);
      await assertRestError(client.purgeDeletedSecret(name), {
        statusCode: 409,
        code: "Conflict",
        message: "Secret is currently being deleted.",
      });
      await poller.pollUntilDone();
      await client.purgeDeletedSecret(name);
    });

    it("answers 404 for a name that is not deleted", async () => {
      const name = uniqueName("purgemissing");
      await assertRestError(client.purgeDeletedSecret(name), {
        statusCode: 404,
        code: "SecretNotFound",
        message: deletedSecretNotFoundMessage(name),
      });
    });
  });

  describe("beginRecoverDeletedSecret", () => {
    it("polls through 404 until the secret is back, with every version", async () => {
      const name = uniqueName("recover");
      const set = [];
      for (const value of ["a", "b", "c"]) set.push(await client.setSecret(name, value));
      await deleteAndWait(name);

      const log = requestLog("perRetry");
      const logged = localClient(vault, { additionalPolicies: [log.config] });
      const poller = await logged.beginRecoverDeletedSecret(name, { intervalInMs });
      const recovered = await poller.pollUntilDone();
      assert.equal(recovered.name, name);
      assert.equal(recovered.version, set[2].properties.version);
      assert.equal(recovered.id, set[2].properties.id);
      assert.equal((recovered as { recoveryId?: string }).recoveryId, undefined);

      const recovers = log
        .matching("POST", `/deletedsecrets/${name}/recover`)
        .filter((r) => r.authorized);
      assert.deepEqual(
        recovers.map((r) => r.status),
        [200],
      );
      const polls = log
        .matching("GET", `/secrets/${name}/`)
        .filter((r) => r.authorized)
        .map((r) => r.status);
      // The 4.x pre-check (already readable?) answers 404, then 404 while recovering, then 200.
      assert.equal(polls[0], 404);
      assert.equal(polls[polls.length - 1], 200);
      assert.ok(polls.length >= 3, `polls: ${polls.join(",")}`);

      for (const [i, value] of ["a", "b", "c"].entries()) {
        const secret = await client.getSecret(name, { version: set[i].properties.version });
        assert.equal(secret.value, value);
      }
      assert.equal((await client.getSecret(name)).value, "c");
      const versions = await collect(client.listPropertiesOfSecretVersions(name));
      assert.equal(versions.length, 3);
      await assertRestError(client.getDeletedSecret(name), {
        statusCode: 404,
        code: "SecretNotFound",
      });
      logged.close();
    });

    it("answers 409 ObjectIsBeingRecovered to a set while the recovery runs", async () => {
      const name = uniqueName("recbusy");
      await client.setSecret(name, "v");
      await deleteAndWait(name);
      const poller = await client.beginRecoverDeletedSecret(name, { intervalInMs });
      assert.equal(poller.isDone(), false);
      await assertRestError(client.setSecret(name, "too early"), {
        statusCode: 409,
        code: "Conflict",
        message: `Secret ${name} is currently being recovered and cannot be re-created; retry later.`,
        innerCode: "ObjectIsBeingRecovered",
      });
      await poller.pollUntilDone();
      assert.equal((await client.getSecret(name)).value, "v");
    });

    it("answers 404 for a name that is neither active nor deleted", async () => {
      const name = uniqueName("recmissing");
      await assertRestError(client.beginRecoverDeletedSecret(name, { intervalInMs }), {
        statusCode: 404,
        code: "SecretNotFound",
        message: secretNotFoundMessage(name),
      });
    });

    it("is done at once for a secret that is not deleted (as 4.x)", async () => {
      const name = uniqueName("recactive");
      const set = await client.setSecret(name, "v");
      const log = requestLog("perCall");
      const logged = localClient(vault, { additionalPolicies: [log.config] });
      const poller = await logged.beginRecoverDeletedSecret(name, { intervalInMs });
      assert.equal(poller.isDone(), true);
      const result = await poller.pollUntilDone();
      assert.equal(result.version, set.properties.version);
      assert.equal(log.matching("POST", `/deletedsecrets/${name}/recover`).length, 0);
      logged.close();
    });

    it("resumes from toString() in a new client without sending the recover request again", async () => {
      const name = uniqueName("recresume");
      await client.setSecret(name, "v");
      await deleteAndWait(name);
      const first = await client.beginRecoverDeletedSecret(name, { intervalInMs });
      const serialized = first.toString();
      first.stopPolling();
      const log = requestLog("perCall");
      const second = localClient(vault, { additionalPolicies: [log.config] });
      const resumed = await second.beginRecoverDeletedSecret(name, {
        resumeFrom: serialized,
        intervalInMs,
      });
      const properties = await resumed.pollUntilDone();
      assert.equal(properties.name, name);
      assert.equal(log.matching("POST", `/deletedsecrets/${name}/recover`).length, 0);
      assert.equal((await client.getSecret(name)).value, "v");
      second.close();
    });
  });
});

describe("integration: recovery levels and retention", () => {
  it("completes a delete at once on a vault without soft delete (Purgeable)", async () => {
    const vault = await startLocalVault({ delayMs, recoveryLevel: "Purgeable" });
    const log = requestLog("perCall");
    const client = localClient(vault, { additionalPolicies: [log.config] });
    try {
      const name = uniqueName("hard");
      const set = await client.setSecret(name, "v");
      assert.equal(set.properties.recoveryLevel, "Purgeable");
      assert.equal(set.properties.recoverableDays, undefined);
      const poller = await client.beginDeleteSecret(name, { intervalInMs });
      assert.equal(poller.isDone(), true);
      const deleted = await poller.pollUntilDone();
      assert.equal(deleted.name, name);
      assert.equal(deleted.recoveryId, undefined);
      assert.equal(deleted.deletedOn, undefined);
      assert.equal(deleted.scheduledPurgeDate, undefined);
      assert.equal(log.matching("GET", `/deletedsecrets/${name}`).length, 0);
      await assertRestError(client.getDeletedSecret(name), {
        statusCode: 404,
        code: "SecretNotFound",
      });
      assert.equal((await client.setSecret(name, "reborn")).value, "reborn");
    } finally {
      client.close();
      await vault.close();
    }
  });

  it("schedules the purge after recoverableDays and purges on its own once it has passed", async () => {
    const vault = await startLocalVault({ delayMs, recoverableDays: 7 });
    const client = localClient(vault);
    try {
      const name = uniqueName("retention");
      const set = await client.setSecret(name, "v");
      assert.equal(set.properties.recoveryLevel, "CustomizedRecoverable+Purgeable");
      assert.equal(set.properties.recoverableDays, 7);
      const deleted = await (
        await client.beginDeleteSecret(name, { intervalInMs })
      ).pollUntilDone();
      assert.equal(
        deleted.scheduledPurgeDate?.getTime(),
        (deleted.deletedOn?.getTime() ?? 0) + 7 * dayInMs,
      );
      vault.advanceClock(6 * dayInMs);
      assert.equal((await client.getDeletedSecret(name)).name, name);
      vault.advanceClock(dayInMs + 1000);
      await assertRestError(client.getDeletedSecret(name), {
        statusCode: 404,
        code: "SecretNotFound",
        message: secretNotFoundMessage(name),
      });
      assert.equal((await client.setSecret(name, "after retention")).value, "after retention");
    } finally {
      client.close();
      await vault.close();
    }
  });

  it("answers 403 Forbidden to a purge when the vault is not purgeable (Recoverable)", async () => {
    const vault = await startLocalVault({ delayMs, recoveryLevel: "Recoverable" });
    const client = localClient(vault);
    try {
      const name = uniqueName("protected");
      await client.setSecret(name, "v");
      await (await client.beginDeleteSecret(name, { intervalInMs })).pollUntilDone();
      await assertRestError(client.purgeDeletedSecret(name), {
        statusCode: 403,
        code: "Forbidden",
      });
      assert.equal((await client.getDeletedSecret(name)).name, name);
    } finally {
      client.close();
      await vault.close();
    }
  });
});
