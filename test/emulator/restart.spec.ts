import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalVault } from "../../src/emulator/index.js";
import { assertVaultError, callVault, notFoundMessage } from "./localVaultTestKit.js";

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
        notFoundMessage("purged"),
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

  it("keeps its files owner-only, whatever the umask, and its keys out of the journal", async () => {
    const umask = process.umask(0);
    const directory = join(location, "vault");
    try {
      const vault = await startLocalVault({ location: directory });
      await callVault(vault, "PUT", "/secrets/s", { body: { value: "v" } });
      await vault.close();
    } finally {
      process.umask(umask);
    }
    const mode = async (file: string) => (await stat(join(directory, file))).mode & 0o777;
    assert.equal(await mode("."), 0o700);
    assert.equal(await mode("journal.log"), 0o600);
    assert.equal(await mode("state"), 0o600);
    const state = JSON.parse((await readFile(join(directory, "state"), "utf8")).split("\n")[1]!);
    const journal = await readFile(join(directory, "journal.log"), "utf8");
    for (const key of [state.signingKey, state.backupKey, state.identityHeader]) {
      assert.equal(typeof key, "string");
      assert.ok(!journal.includes(key), "a key is in the journal");
    }
  });

  it("keeps the identity header across restarts, unless one is given", async () => {
    const first = await startLocalVault({ location });
    const header = first.identityHeader;
    await first.close();
    const second = await startLocalVault({ location });
    try {
      assert.equal(second.identityHeader, header);
      const answer = await fetch(
        `${second.identityEndpoint}?api-version=2019-08-01&resource=https%3A%2F%2Fvault.azure.net`,
        { headers: { "x-identity-header": header } },
      );
      assert.equal(answer.status, 200);
    } finally {
      await second.close();
    }
    const given = "given-identity-header-0123456789";
    const third = await startLocalVault({ location, identityHeader: given });
    await third.close();
    assert.equal(third.identityHeader, given);
    await assert.rejects(startLocalVault({ identityHeader: "short" }), RangeError);
  });

  it("serves the same generated CA after a restart", async () => {
    const first = await startLocalVault({ location, https: true });
    await first.close();
    const second = await startLocalVault({ location, https: true });
    await second.close();
    assert.match(first.caCertificate ?? "", /BEGIN CERTIFICATE/);
    assert.equal(second.caCertificate, first.caCertificate);
    // Another interface means other names in the certificate: a new CA.
    const third = await startLocalVault({ location, https: true, host: "::1" }).catch(
      () => undefined,
    );
    if (third !== undefined) {
      await third.close();
      assert.notEqual(third.caCertificate, first.caCertificate);
    }
  });

  it("compacts a journal grown past twice the live state, keeping the state exact", async () => {
    const first = await startLocalVault({ location, delayMs: 0, recoverableDays: 7 });
    const call = (method: string, path: string, body?: unknown) =>
      callVault(first, method, path, { body });
    await call("PUT", "/secrets/kept", { value: "one", tags: { a: "b" } });
    const v2 = await call("PUT", "/secrets/kept", {
      value: "two",
      contentType: "text/plain",
      attributes: { nbf: 1_700_000_000, exp: 4_000_000_000 },
    });
    await call("PATCH", `/secrets/kept/${v2.body.id.split("/").pop()}`, { enabled: false });
    await call("PUT", "/secrets/deleted", { value: "d" });
    await call("DELETE", "/secrets/deleted");
    await call("PUT", "/secrets/purged", { value: "p" });
    await call("DELETE", "/secrets/purged");
    await call("DELETE", "/deletedsecrets/purged");
    first.advanceClock(3_600_000);
    // Garbage: 1.2 MB of values set, deleted and purged again and again.
    for (let i = 0; i < 60; i++) {
      await call("PUT", "/secrets/churn", { value: "c".repeat(20_000) });
      await call("DELETE", "/secrets/churn");
      assert.equal((await call("DELETE", "/deletedsecrets/churn")).status, 204);
    }
    await call("PUT", "/secrets/after", { value: "a" });

    const observe = async (vault: typeof first) => {
      const get = async (path: string) => {
        const answer = await callVault(vault, "GET", path);
        return answer.text.replaceAll(vault.vaultUrl, "VAULT");
      };
      const versions = (await callVault(vault, "GET", "/secrets/kept/versions")).body.value.map(
        (item: { id: string }) => new URL(item.id).pathname,
      );
      return {
        list: await get("/secrets"),
        versions: await get("/secrets/kept/versions"),
        each: await Promise.all(versions.map((path: string) => get(path))),
        deleted: await get("/deletedsecrets"),
        deletedOne: await get("/deletedsecrets/deleted"),
        purged: await get("/deletedsecrets/purged"),
        churn: await get("/secrets/churn"),
      };
    };
    const before = await observe(first);
    await first.close();
    const size = (await stat(join(location, "journal.log"))).size;
    assert.ok(size < 400_000, `journal of ${size} bytes after 1.2 MB written and compaction`);

    const second = await startLocalVault({ location, delayMs: 0, recoverableDays: 7 });
    try {
      assert.deepEqual(await observe(second), before);
      // The clock shift survived the rewrite.
      const stamped = await callVault(second, "PUT", "/secrets/late", { body: { value: "x" } });
      assert.ok(stamped.body.attributes.created >= Math.floor(Date.now() / 1000) + 3_600 - 5);
    } finally {
      await second.close();
    }
  });
});
