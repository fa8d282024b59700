import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { Agent as HttpsAgent } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isRestError, SecretClient } from "../../src/index.js";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import { collect, localClient, uniqueName } from "./integrationTestKit.js";

describe("integration: HTTPS local vault", () => {
  let vault: LocalVault;

  before(async () => {
    vault = await startLocalVault({ delayMs: 30, https: true });
  });
  after(() => vault.close());

  it("serves https with a CA certificate", () => {
    assert.match(vault.vaultUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.match(vault.caCertificate ?? "", /^-----BEGIN CERTIFICATE-----/);
  });

  it("does a round trip with the CA trusted through an https.Agent", async () => {
    const agent = new HttpsAgent({ ca: vault.caCertificate, keepAlive: false });
    const client = new SecretClient(vault.vaultUrl, vault.credential, {
      disableChallengeResourceVerification: true,
      agent,
    });
    const name = uniqueName("tls");
    const set = await client.setSecret(name, "over tls");
    assert.equal(set.properties.id, `${vault.vaultUrl}/secrets/${name}/${set.properties.version}`);
    const read = await client.getSecret(name);
    assert.equal(read.value, "over tls");
    client.close();
    agent.destroy();
  });

  it("does a round trip with the CA trusted through tlsOptions", async () => {
    const client = new SecretClient(vault.vaultUrl, vault.credential, {
      disableChallengeResourceVerification: true,
      tlsOptions: { ca: vault.caCertificate },
    });
    const name = uniqueName("tlsopt");
    await client.setSecret(name, "tls options");
    assert.equal((await client.getSecret(name)).value, "tls options");
    client.close();
  });

  it("refuses the connection when the CA is not trusted", async () => {
    const client = new SecretClient(vault.vaultUrl, vault.credential, {
      disableChallengeResourceVerification: true,
      retryOptions: { maxRetries: 0 },
    });
    await assert.rejects(client.getSecret(uniqueName("untrusted")), (error: Error) => {
      assert.ok(isRestError(error), String(error));
      assert.equal(error.statusCode, undefined);
      assert.match(`${error.code} ${error.message}`, /SELF_SIGNED|UNABLE_TO_VERIFY|certificate/i);
      return true;
    });
    client.close();
  });
});

describe("integration: persistence across restarts (location)", () => {
  let directory: string;

  before(async () => {
    directory = await mkdtemp(join(tmpdir(), "kv-integration-"));
  });
  after(() => rm(directory, { recursive: true, force: true }));

  it("keeps every version, value and deletion across a restart on the same directory", async () => {
    const name = uniqueName("durable");
    const gone = uniqueName("gone");
    let vault = await startLocalVault({
      delayMs: 30,
      location: directory,
      restoreConflictAfterPurgeInMs: 0,
    });
    let client = localClient(vault);
    const v1 = await client.setSecret(name, "first", { tags: { n: "1" } });
    const v2 = await client.setSecret(name, "second", { contentType: "text/plain" });
    await client.setSecret(gone, "deleted");
    await (await client.beginDeleteSecret(gone, { intervalInMs: 10 })).pollUntilDone();
    const backup = await client.backupSecret(name);
    client.close();
    await vault.close();

    vault = await startLocalVault({
      delayMs: 30,
      location: directory,
      restoreConflictAfterPurgeInMs: 0,
    });
    try {
      client = localClient(vault);
      const latest = await client.getSecret(name);
      assert.equal(latest.value, "second");
      assert.equal(latest.properties.version, v2.properties.version);
      assert.equal(latest.properties.contentType, "text/plain");
      const first = await client.getSecret(name, { version: v1.properties.version });
      assert.equal(first.value, "first");
      assert.deepEqual(first.properties.tags, { n: "1" });
      assert.deepEqual(first.properties.createdOn, v1.properties.createdOn);
      const versions = await collect(client.listPropertiesOfSecretVersions(name));
      assert.deepEqual(
        versions.map((v) => v.version).sort(),
        [v1.properties.version, v2.properties.version].sort(),
      );
      const deleted = await client.getDeletedSecret(gone);
      assert.equal(deleted.name, gone);
      // The backup key survives the restart too.
      await (await client.beginDeleteSecret(name, { intervalInMs: 10 })).pollUntilDone();
      await client.purgeDeletedSecret(name);
      assert.ok(backup);
      const restored = await client.restoreSecretBackup(backup);
      assert.equal(restored.version, v2.properties.version);
      client.close();
    } finally {
      await vault.close();
    }
  });
});

describe("integration: concurrency", () => {
  let vault: LocalVault;

  before(async () => {
    vault = await startLocalVault({ delayMs: 30 });
  });
  after(() => vault.close());

  it("accepts 50 parallel sets of one name as 50 distinct versions", async () => {
    const client = localClient(vault);
    const name = uniqueName("parallel");
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => client.setSecret(name, `value-${i}`)),
    );
    results.forEach((secret, i) => assert.equal(secret.value, `value-${i}`));
    const setVersions = new Set(results.map((s) => s.properties.version));
    assert.equal(setVersions.size, 50);
    const listed = await collect(client.listPropertiesOfSecretVersions(name));
    assert.equal(listed.length, 50);
    assert.deepEqual(new Set(listed.map((v) => v.version)), setVersions);
    const latest = await client.getSecret(name);
    assert.ok(setVersions.has(latest.properties.version));
    client.close();
  });
});
