import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { sealBackup } from "../../src/emulator/state/backup.js";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import { assertVaultError, callVault } from "./localVaultTestKit.js";

const marker = "AzureKeyVaultSecretBackupV1.microsoft.com";

describe("local vault: backup and restore", () => {
  const backupKey = randomBytes(32).toString("base64");
  let source: LocalVault;
  let target: LocalVault;

  before(async () => {
    source = await startLocalVault({ backupKey, delayMs: 0 });
    target = await startLocalVault({ backupKey, delayMs: 0 });
  });
  beforeEach(() => {
    source.reset();
    target.reset();
  });
  after(async () => {
    await source.close();
    await target.close();
  });

  async function backupOf(
    name: string,
    values: string[],
  ): Promise<{ blob: string; ids: string[] }> {
    const ids: string[] = [];
    for (const value of values) {
      const set = await callVault(source, "PUT", `/secrets/${name}`, {
        body: { value, tags: { v: value } },
      });
      ids.push(set.body.id);
    }
    const backup = await callVault(source, "POST", `/secrets/${name}/backup`);
    assert.equal(backup.status, 200);
    assert.deepEqual(Object.keys(backup.body), ["value"]);
    return { blob: backup.body.value, ids };
  }

  it("makes a base64url blob that starts with the length byte and the marker", async () => {
    const { blob } = await backupOf("shape", ["a"]);
    assert.match(blob, /^[A-Za-z0-9_-]+$/);
    const bytes = Buffer.from(blob, "base64url");
    assert.equal(bytes[0], marker.length);
    assert.equal(bytes.subarray(1, 1 + marker.length).toString("ascii"), marker);
    assert.ok(!bytes.toString("latin1").includes("tags"), "payload is encrypted");
  });

  it("restores every version with its id into a vault with the same key", async () => {
    const { blob, ids } = await backupOf("Round", ["one", "two", "three"]);
    const restored = await callVault(target, "POST", "/secrets/restore", { body: { value: blob } });
    assert.equal(restored.status, 200);
    const swap = (id: string) => id.replace(source.vaultUrl, target.vaultUrl);
    assert.equal(restored.body.id, swap(ids[2]));
    assert.equal(restored.body.value, undefined);
    assert.deepEqual(restored.body.tags, { v: "three" });
    const versions = await callVault(target, "GET", "/secrets/round/versions");
    assert.deepEqual(
      versions.body.value.map((i: { id: string }) => i.id),
      ids.map(swap).sort(),
    );
    const first = await callVault(target, "GET", new URL(swap(ids[0])).pathname);
    assert.equal(first.body.value, "one");
  });

  it("answers 409 Conflict to restore of a name that exists or is deleted", async () => {
    const { blob } = await backupOf("dup", ["x"]);
    assertVaultError(
      await callVault(source, "POST", "/secrets/restore", { body: { value: blob } }),
      409,
      "Conflict",
      /^There was a conflict restoring the secret 'http:\/\/127\.0\.0\.1:\d+\/secrets\/dup\/[0-9a-f]{32}'\. This can happen if either: /,
    );
    await callVault(source, "DELETE", "/secrets/dup");
    assertVaultError(
      await callVault(source, "POST", "/secrets/restore", { body: { value: blob } }),
      409,
      "Conflict",
      /deleted but recoverable/,
      "ObjectIsDeletedButRecoverable",
    );
  });

  it("answers 400 'Cannot decrypt backup blob' to a tampered blob", async () => {
    const { blob } = await backupOf("tamper", ["x"]);
    const bytes = Buffer.from(blob, "base64url");
    bytes[bytes.length - 1] ^= 0x01;
    assertVaultError(
      await callVault(target, "POST", "/secrets/restore", {
        body: { value: bytes.toString("base64url") },
      }),
      400,
      "BadParameter",
      "Cannot decrypt backup blob",
    );
  });

  it("answers 400 'Cannot decrypt backup blob' in a vault with another key", async () => {
    const { blob } = await backupOf("foreign", ["x"]);
    const other = await startLocalVault();
    try {
      assertVaultError(
        await callVault(other, "POST", "/secrets/restore", { body: { value: blob } }),
        400,
        "BadParameter",
        "Cannot decrypt backup blob",
      );
    } finally {
      await other.close();
    }
  });

  it("answers 400 'Malformed backup blob' to bytes that are not a backup", async () => {
    for (const value of [Buffer.alloc(64).toString("base64url"), "not a blob!"]) {
      assertVaultError(
        await callVault(target, "POST", "/secrets/restore", { body: { value } }),
        400,
        "Malformed backup blob",
        "Backup blob contains invalid or corrupt version.",
      );
    }
    assertVaultError(
      await callVault(target, "POST", "/secrets/restore", { body: {} }),
      400,
      "BadParameter",
      "The request body is missing the required property 'value'.",
    );
  });

  it("answers 400 'Malformed backup blob' to a blob whose dates the vault refuses", async () => {
    // An older vault accepted any exp and sealed it into its backups.
    const version = { version: "a".repeat(32), value: "v", enabled: true, created: 1, updated: 1 };
    for (const dates of [{ exp: 1e13 }, { nbf: 253_402_300_800 }]) {
      const blob = sealBackup(
        { name: "far-future", versions: [{ ...version, ...dates }] },
        Buffer.from(backupKey, "base64"),
      );
      assertVaultError(
        await callVault(target, "POST", "/secrets/restore", { body: { value: blob } }),
        400,
        "Malformed backup blob",
        "Backup blob contains invalid or corrupt version.",
      );
    }
    const fine = sealBackup(
      { name: "far-future", versions: [{ ...version, exp: 253_402_300_799 }] },
      Buffer.from(backupKey, "base64"),
    );
    const restored = await callVault(target, "POST", "/secrets/restore", { body: { value: fine } });
    assert.equal(restored.status, 200);
  });

  it("answers 404 to backup of an unknown secret", async () => {
    assertVaultError(
      await callVault(source, "POST", "/secrets/nope/backup"),
      404,
      "SecretNotFound",
      /\(name\/id\) nope was not found/,
    );
  });
});
