import assert from "node:assert/strict";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import {
  assertVaultError,
  callVault,
  notFoundMessage,
  pause,
  type Answer,
} from "./localVaultTestKit.js";

// Long enough that the "still deleting" answers are seen even on a loaded machine.
const delayMs = 400;
const day = 86_400_000;

describe("local vault: soft delete", () => {
  let vault: LocalVault;

  before(async () => {
    vault = await startLocalVault({ delayMs });
  });
  beforeEach(() => vault.reset());
  after(() => vault.close());

  async function setAndDelete(name: string): Promise<{ setId: string; deleted: Answer["body"] }> {
    await callVault(vault, "PUT", `/secrets/${name}`, { body: { value: "old" } });
    const set = await callVault(vault, "PUT", `/secrets/${name}`, { body: { value: "v" } });
    const deleted = await callVault(vault, "DELETE", `/secrets/${name}`);
    assert.equal(deleted.status, 200);
    return { setId: set.body.id, deleted: deleted.body };
  }

  it("delete answers the DeletedSecretBundle with versioned id and purge schedule", async () => {
    const { setId, deleted } = await setAndDelete("del");
    assert.equal(deleted.id, setId);
    assert.equal(deleted.value, undefined);
    assert.equal(deleted.recoveryId, `${vault.vaultUrl}/deletedsecrets/del`);
    assert.ok(Number.isInteger(deleted.deletedDate));
    assert.equal(deleted.scheduledPurgeDate, deleted.deletedDate + 90 * 86400);
    assert.equal(deleted.attributes.recoveryLevel, "Recoverable+Purgeable");
    assertVaultError(
      await callVault(vault, "GET", "/secrets/del"),
      404,
      "SecretNotFound",
      notFoundMessage("del"),
    );
  });

  it("get deleted answers 404 until the delete completes, then 200", async () => {
    const { setId } = await setAndDelete("slow");
    assertVaultError(
      await callVault(vault, "GET", "/deletedsecrets/slow"),
      404,
      "SecretNotFound",
      "Deleted Secret not found: slow",
    );
    assert.deepEqual((await callVault(vault, "GET", "/deletedsecrets")).body.value, []);
    await pause(delayMs + 10);
    const done = await callVault(vault, "GET", "/deletedsecrets/slow");
    assert.equal(done.status, 200);
    assert.equal(done.body.id, setId);
    assert.equal(done.body.recoveryId, `${vault.vaultUrl}/deletedsecrets/slow`);
    const listed = await callVault(vault, "GET", "/deletedsecrets");
    assert.equal(listed.body.value.length, 1);
    assert.equal(listed.body.value[0].id, `${vault.vaultUrl}/secrets/slow`);
    assert.equal(listed.body.value[0].scheduledPurgeDate, done.body.scheduledPurgeDate);
  });

  it("answers 409 'being deleted' to purge and recover while deleting", async () => {
    await setAndDelete("busy");
    assertVaultError(
      await callVault(vault, "DELETE", "/deletedsecrets/busy"),
      409,
      "Conflict",
      "Secret is currently being deleted.",
    );
    assertVaultError(
      await callVault(vault, "POST", "/deletedsecrets/busy/recover"),
      409,
      "Conflict",
      "Secret is currently being deleted.",
    );
  });

  it("answers 409 ObjectIsDeletedButRecoverable to set on a deleted name", async () => {
    await setAndDelete("Taken");
    assertVaultError(
      await callVault(vault, "PUT", "/secrets/taken", { body: { value: "again" } }),
      409,
      "Conflict",
      "Secret Taken is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.",
      "ObjectIsDeletedButRecoverable",
    );
  });

  it("recover brings every version back after the delay, 409 ObjectIsBeingRecovered meanwhile", async () => {
    const { setId } = await setAndDelete("rec");
    await pause(delayMs + 10);
    const recovered = await callVault(vault, "POST", "/deletedsecrets/rec/recover");
    assert.equal(recovered.status, 200);
    assert.equal(recovered.body.id, setId);
    assert.equal(recovered.body.value, undefined);
    assert.equal(recovered.body.recoveryId, undefined);
    assertVaultError(
      await callVault(vault, "GET", "/secrets/rec/"),
      404,
      "SecretNotFound",
      notFoundMessage("rec"),
    );
    assertVaultError(
      await callVault(vault, "PUT", "/secrets/rec", { body: { value: "x" } }),
      409,
      "Conflict",
      "Secret rec is currently being recovered and cannot be re-created; retry later.",
      "ObjectIsBeingRecovered",
    );
    await pause(delayMs + 10);
    const got = await callVault(vault, "GET", "/secrets/rec/");
    assert.equal(got.status, 200);
    assert.equal(got.body.value, "v");
    const versions = await callVault(vault, "GET", "/secrets/rec/versions");
    assert.equal(versions.body.value.length, 2);
    assertVaultError(
      await callVault(vault, "GET", "/deletedsecrets/rec"),
      404,
      "SecretNotFound",
      notFoundMessage("rec"),
    );
  });

  it("purge answers 204 with no body and frees the name", async () => {
    await setAndDelete("purged");
    await pause(delayMs + 10);
    const purged = await callVault(vault, "DELETE", "/deletedsecrets/purged");
    assert.equal(purged.status, 204);
    assert.equal(purged.text, "");
    assert.equal(purged.headers.get("content-type"), null);
    assert.ok(purged.headers.get("x-ms-request-id"));
    assertVaultError(
      await callVault(vault, "DELETE", "/deletedsecrets/purged"),
      404,
      "SecretNotFound",
      "Deleted Secret not found: purged",
    );
    const again = await callVault(vault, "PUT", "/secrets/purged", { body: { value: "new" } });
    assert.equal(again.status, 200);
  });

  it("answers 404 to delete of an unknown secret and to recover of an unknown deleted one", async () => {
    assertVaultError(
      await callVault(vault, "DELETE", "/secrets/nobody"),
      404,
      "SecretNotFound",
      notFoundMessage("nobody"),
    );
    assertVaultError(
      await callVault(vault, "POST", "/deletedsecrets/nobody/recover"),
      404,
      "SecretNotFound",
      // The service's generic message, not "Deleted Secret not found" (real recordings).
      notFoundMessage("nobody"),
    );
  });

  it("purges automatically once the scheduled purge date has passed", async () => {
    await setAndDelete("expiring");
    vault.advanceClock(89 * day);
    assert.equal((await callVault(vault, "GET", "/deletedsecrets/expiring")).status, 200);
    vault.advanceClock(day + 1000);
    assertVaultError(
      await callVault(vault, "GET", "/deletedsecrets/expiring"),
      404,
      "SecretNotFound",
      notFoundMessage("expiring"),
    );
    assert.equal(
      (await callVault(vault, "PUT", "/secrets/expiring", { body: { value: "n" } })).status,
      200,
    );
  });

  it("stamps created/updated from the shifted clock", async () => {
    const first = await callVault(vault, "PUT", "/secrets/stamp", { body: { value: "1" } });
    vault.advanceClock(10 * day);
    const updated = await callVault(vault, "PATCH", "/secrets/stamp", { body: { tags: {} } });
    assert.equal(updated.body.attributes.created, first.body.attributes.created);
    assert.ok(updated.body.attributes.updated >= first.body.attributes.created + 10 * 86400);
  });

  it("shifts the clock and resets over the HTTP test controls", async () => {
    await setAndDelete("ctl");
    const clock = await callVault(vault, "POST", "/__local/clock", {
      body: { advanceMs: 91 * day },
      apiVersion: null,
    });
    assert.equal(clock.status, 200);
    assert.ok(clock.body.now >= Math.floor(Date.now() / 1000) + 91 * 86400 - 5);
    assert.equal((await callVault(vault, "GET", "/deletedsecrets/ctl")).status, 404);
    await callVault(vault, "PUT", "/secrets/ctl2", { body: { value: "v" } });
    const reset = await callVault(vault, "POST", "/__local/reset", {
      apiVersion: null,
    });
    assert.equal(reset.status, 204);
    assert.equal((await callVault(vault, "GET", "/secrets/ctl2")).status, 404);
    const bad = await callVault(vault, "POST", "/__local/clock", {
      body: { advanceMs: -1 },
      apiVersion: null,
    });
    assertVaultError(bad, 400, "BadParameter", /advanceMs/);
  });
});

describe("local vault: recovery levels", () => {
  it("Purgeable deletes at once and answers without recovery fields", async () => {
    const vault = await startLocalVault({ recoveryLevel: "Purgeable" });
    try {
      const set = await callVault(vault, "PUT", "/secrets/p", { body: { value: "v" } });
      assert.equal(set.body.attributes.recoveryLevel, "Purgeable");
      assert.equal(set.body.attributes.recoverableDays, undefined);
      const deleted = await callVault(vault, "DELETE", "/secrets/p");
      assert.equal(deleted.status, 200);
      assert.equal(deleted.body.id, set.body.id);
      assert.equal(deleted.body.recoveryId, undefined);
      assert.equal(deleted.body.deletedDate, undefined);
      assert.equal(deleted.body.scheduledPurgeDate, undefined);
      assertVaultError(
        await callVault(vault, "GET", "/deletedsecrets/p"),
        404,
        "SecretNotFound",
        notFoundMessage("p"),
      );
      assert.equal(
        (await callVault(vault, "PUT", "/secrets/p", { body: { value: "w" } })).status,
        200,
      );
    } finally {
      await vault.close();
    }
  });

  it("answers 403 Forbidden to purge when the level is not purgeable", async () => {
    const vault = await startLocalVault({ recoveryLevel: "Recoverable", delayMs: 0 });
    try {
      await callVault(vault, "PUT", "/secrets/kept", { body: { value: "v" } });
      await callVault(vault, "DELETE", "/secrets/kept");
      assertVaultError(
        await callVault(vault, "DELETE", "/deletedsecrets/kept"),
        403,
        "Forbidden",
        /purge protection is enabled/,
      );
      assert.equal((await callVault(vault, "GET", "/deletedsecrets/kept")).status, 200);
    } finally {
      await vault.close();
    }
  });
});
