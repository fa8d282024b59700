import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalVault } from "../../../src/emulator/index.js";
import { assertVaultError, callVault } from "./localVaultTestKit.js";

describe("local vault: persistence across restarts", () => {
  let location: string;

  beforeEach(async () => {
    location = await mkdtemp(join(tmpdir(), "kv-local-vault-"));
  });
  afterEach(() => rm(location, { recursive: true, force: true }));

  it("replays every change: versions, updates, deletes, purges, keys and the clock", async () => {
    const first = await startLocalVault({ location, delayMs: 0, strictAuth: true });
    const token = (await first.credential.getToken("https://vault.azure.net/.default"))?.token;
    const call = (method: string, path: string, body?: unknown) =>
      callVault(first, method, path, { token, body });
    const v1 = await call("PUT", "/secrets/Kept", { value: "one" });
    const v2 = await call("PUT", "/secrets/kept", { value: "two", tags: { a: "b" } });
    await call("PATCH", `/secrets/kept/${v1.body.id.split("/").pop()}`, { contentType: "ct" });
    await call("PUT", "/secrets/deleted", { value: "d" });
    const deleted = await call("DELETE", "/secrets/deleted");
    await call("PUT", "/secrets/purged", { value: "p" });
    await call("DELETE", "/secrets/purged");
    assert.equal((await call("DELETE", "/deletedsecrets/purged")).status, 204);
    const backup = await call("POST", "/secrets/kept/backup");
    first.advanceClock(86_400_000);
    await first.close();

    // The purge was journaled a moment ago: without this, the restore below would conflict.
    const second = await startLocalVault({
      location,
      delayMs: 0,
      strictAuth: true,
      restoreConflictAfterPurgeInMs: 0,
    });
    try {
      const again = (method: string, path: string, body?: unknown) =>
        callVault(second, method, path, { token, body });
      const swap = (id: string) => id.replace(first.vaultUrl, second.vaultUrl);
      // The signing key survived: the old token still passes strictAuth.
      const latest = await again("GET", "/secrets/kept");
      assert.equal(latest.status, 200);
      assert.equal(latest.body.id, swap(v2.body.id));
      assert.equal(latest.body.value, "two");
      assert.deepEqual(latest.body.tags, { a: "b" });
      assert.equal(latest.body.attributes.created, v2.body.attributes.created);
      const old = await again("GET", new URL(swap(v1.body.id)).pathname);
      assert.equal(old.body.value, "one");
      assert.equal(old.body.contentType, "ct");
      const gone = await again("GET", "/deletedsecrets/deleted");
      assert.equal(gone.status, 200);
      assert.equal(gone.body.deletedDate, deleted.body.deletedDate);
      assertVaultError(
        await again("GET", "/deletedsecrets/purged"),
        404,
        "SecretNotFound",
        "Deleted Secret not found: purged",
      );
      // The backup key survived: the old blob restores after the original is purged.
      await again("DELETE", "/secrets/kept");
      assert.equal((await again("DELETE", "/deletedsecrets/kept")).status, 204);
      const restored = await again("POST", "/secrets/restore", { value: backup.body.value });
      assert.equal(restored.status, 200);
      assert.equal(restored.body.id, swap(v2.body.id));
      // The shifted clock survived too.
      const stamped = await again("PUT", "/secrets/late", { value: "x" });
      assert.ok(stamped.body.attributes.created >= Math.floor(Date.now() / 1000) + 86_400 - 5);
    } finally {
      await second.close();
    }
  });

  it("keeps every version of concurrent sets", async () => {
    const first = await startLocalVault({ location });
    const answers = await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        callVault(first, "PUT", "/secrets/busy", { body: { value: String(i) } }),
      ),
    );
    assert.ok(answers.every((a) => a.status === 200));
    await first.close();
    const second = await startLocalVault({ location });
    try {
      const versions = await callVault(second, "GET", "/secrets/busy/versions");
      assert.deepEqual(
        versions.body.value.map((i: { id: string }) => i.id.split("/").pop()).sort(),
        answers.map((a) => a.body.id.split("/").pop()).sort(),
      );
    } finally {
      await second.close();
    }
  });

  it("forgets everything after a reset", async () => {
    const first = await startLocalVault({ location });
    await callVault(first, "PUT", "/secrets/x", { body: { value: "v" } });
    const reset = await callVault(first, "POST", "/__local/reset", {
      apiVersion: null,
    });
    assert.equal(reset.status, 204);
    await first.close();
    const second = await startLocalVault({ location });
    try {
      assert.equal((await callVault(second, "GET", "/secrets/x")).status, 404);
    } finally {
      await second.close();
    }
  });
});
