import assert from "node:assert/strict";
import { type SecretClient } from "../../src/index.js";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import {
  assertRestError,
  collect,
  deletedButRecoverableMessage,
  localClient,
  uniqueName,
} from "./integrationTestKit.js";

const intervalInMs = 10;
const backupMarker = "AzureKeyVaultSecretBackupV1.microsoft.com";

describe("integration: backup and restore over HTTP", () => {
  let vault: LocalVault;
  let client: SecretClient;

  before(async () => {
    // Restores here follow a purge at once; the conflict window has its own test below.
    vault = await startLocalVault({ delayMs: 30, restoreConflictAfterPurgeInMs: 0 });
    client = localClient(vault);
  });
  after(async () => {
    client.close();
    await vault.close();
  });

  async function deleteAndPurge(name: string): Promise<void> {
    await (await client.beginDeleteSecret(name, { intervalInMs })).pollUntilDone();
    await client.purgeDeletedSecret(name);
  }

  it("restores every version with its value, properties and version id", async () => {
    const name = uniqueName("backup");
    const set = [
      await client.setSecret(name, "one", { tags: { n: "1" } }),
      await client.setSecret(name, "two", { contentType: "text/two" }),
      await client.setSecret(name, "three", { enabled: false }),
    ];
    const backup = await client.backupSecret(name);
    assert.ok(backup instanceof Uint8Array);
    assert.equal(backup[0], backupMarker.length);
    assert.equal(
      Buffer.from(backup.subarray(1, 1 + backupMarker.length)).toString("ascii"),
      backupMarker,
    );
    assert.ok(!Buffer.from(backup).toString("latin1").includes("three"), "the blob is encrypted");

    await deleteAndPurge(name);
    const restored = await client.restoreSecretBackup(backup);
    assert.equal(restored.name, name);
    assert.equal(restored.version, set[2].properties.version);
    assert.equal(restored.id, set[2].properties.id);
    assert.equal(restored.enabled, false);

    const versions = await collect(client.listPropertiesOfSecretVersions(name));
    assert.deepEqual(
      versions.map((v) => v.version).sort(),
      set.map((s) => s.properties.version).sort(),
    );
    const first = await client.getSecret(name, { version: set[0].properties.version });
    assert.equal(first.value, "one");
    assert.deepEqual(first.properties.tags, { n: "1" });
    assert.deepEqual(first.properties.createdOn, set[0].properties.createdOn);
    const second = await client.getSecret(name, { version: set[1].properties.version });
    assert.equal(second.value, "two");
    assert.equal(second.properties.contentType, "text/two");
    await assertRestError(client.getSecret(name), {
      statusCode: 403,
      code: "Forbidden",
      innerCode: "SecretDisabled",
    });
  });

  it("answers 404 when backing up a secret that does not exist", async () => {
    const name = uniqueName("nobackup");
    await assertRestError(client.backupSecret(name), { statusCode: 404, code: "SecretNotFound" });
  });

  it("answers 409 Conflict when restoring while the name exists", async () => {
    const name = uniqueName("exists");
    await client.setSecret(name, "v");
    const backup = await client.backupSecret(name);
    assert.ok(backup);
    await assertRestError(client.restoreSecretBackup(backup), {
      statusCode: 409,
      code: "Conflict",
    });
  });

  it("answers 409 ObjectIsDeletedButRecoverable when restoring over a deleted name", async () => {
    const name = uniqueName("restoredel");
    await client.setSecret(name, "v");
    const backup = await client.backupSecret(name);
    assert.ok(backup);
    await (await client.beginDeleteSecret(name, { intervalInMs })).pollUntilDone();
    await assertRestError(client.restoreSecretBackup(backup), {
      statusCode: 409,
      code: "Conflict",
      message: deletedButRecoverableMessage(name),
      innerCode: "ObjectIsDeletedButRecoverable",
    });
  });

  it("answers 400 for bytes that are not a backup", async () => {
    await assertRestError(client.restoreSecretBackup(new Uint8Array(64)), {
      statusCode: 400,
      code: "Malformed backup blob",
      message: "Backup blob contains invalid or corrupt version.",
    });
    await assertRestError(
      client.restoreSecretBackup(new Uint8Array(Buffer.from("definitely not a backup blob"))),
      { statusCode: 400 },
    );
  });

  it("answers 400 Cannot decrypt for a backup from another vault", async () => {
    const name = uniqueName("foreign");
    const other = await startLocalVault({ delayMs: 30 });
    try {
      const otherClient = localClient(other);
      await otherClient.setSecret(name, "v");
      const backup = await otherClient.backupSecret(name);
      assert.ok(backup);
      otherClient.close();
      await assertRestError(client.restoreSecretBackup(backup), {
        statusCode: 400,
        message: "Cannot decrypt backup blob",
      });
    } finally {
      await other.close();
    }
  });
});
