import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import { runExport } from "../../src/emulator/exportVault.js";
import type { SecretClient } from "../../src/index.js";
import { startSquattedMachine } from "./injectKit.js";
import { localClient } from "./integrationTestKit.js";

/** Runs `keyvault-emulator export` in-process and collects its output. */
async function exportCommand(
  argv: string[],
  env: Record<string, string | undefined> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await runExport(argv, env, {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
  });
  return { code, stdout, stderr };
}

/** Everything a client can read of a vault, ids and timestamps aside. */
async function contentOf(client: SecretClient): Promise<unknown[]> {
  const secrets = [];
  for await (const latest of client.listPropertiesOfSecrets()) {
    const versions = [];
    for await (const p of client.listPropertiesOfSecretVersions(latest.name)) {
      versions.push({
        name: p.name,
        enabled: p.enabled,
        contentType: p.contentType,
        tags: p.tags,
        notBefore: p.notBefore?.toISOString(),
        expiresOn: p.expiresOn?.toISOString(),
        latest: p.version === latest.version,
      });
    }
    secrets.push(versions);
  }
  return secrets;
}

describe("integration: keyvault-emulator export", () => {
  let directory: string;
  let source: LocalVault;

  before(async () => {
    directory = await fs.mkdtemp(path.join(os.tmpdir(), "kv-export-"));
    source = await startLocalVault({ delayMs: 0 });
    const client = localClient(source);
    await client.setSecret("db-password", "first", { contentType: "text/plain" });
    await client.setSecret("db-password", "second", {
      tags: { owner: "data", __proto__: "x" } as Record<string, string>,
      notBefore: new Date("2026-01-01T00:00:00Z"),
      expiresOn: new Date("2031-01-01T00:00:00Z"),
    });
    await client.setSecret("db-password", "third", { enabled: false });
    await client.setSecret("api-key", "k-1", { contentType: "application/x-key" });
    await client.setSecret("gone", "deleted");
    await (await client.beginDeleteSecret("gone")).pollUntilDone();
  });
  after(async () => {
    await source.close();
    await fs.rm(directory, { recursive: true, force: true });
  });

  it("writes every version in the seed format, and seeding it gives the same vault", async () => {
    const out = path.join(directory, "vault.json");
    const result = await exportCommand(["--vault", source.vaultUrl, "--out", out]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /2 secrets, 4 versions written to /);
    assert.match(result.stderr, /1 disabled versions were enabled for the moment/);
    assert.equal((await fs.stat(out)).mode & 0o777, 0o600);

    const written = JSON.parse(await fs.readFile(out, "utf8")) as {
      secrets: { name: string; value: string }[];
    };
    assert.deepEqual(
      written.secrets.map((s) => `${s.name}=${s.value}`),
      ["api-key=k-1", "db-password=first", "db-password=second", "db-password=third"],
    );
    assert.deepEqual(written.secrets[2], {
      name: "db-password",
      value: "second",
      tags: { owner: "data" },
      enabled: true,
      notBefore: "2026-01-01T00:00:00Z",
      expiresOn: "2031-01-01T00:00:00Z",
    });

    const copy = await startLocalVault({ seed: out });
    try {
      assert.deepEqual(await contentOf(localClient(copy)), await contentOf(localClient(source)));
      const again = await exportCommand(["--vault", copy.vaultUrl]);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.stdout, await fs.readFile(out, "utf8"), "export of the copy is the same");
    } finally {
      await copy.close();
    }
    // The disabled version is disabled again in the source.
    const versions = [];
    for await (const p of localClient(source).listPropertiesOfSecretVersions("db-password")) {
      versions.push(p.enabled);
    }
    assert.deepEqual(versions, [true, true, false]);
  });

  it("replaces an existing --out file (even a link) with a new private file", async () => {
    const out = path.join(directory, "replaced.json");
    const target = path.join(directory, "link-target.txt");
    await fs.writeFile(target, "untouched");
    await fs.symlink(target, out);
    const result = await exportCommand(["--vault", source.vaultUrl, "--out", out]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await fs.readFile(target, "utf8"), "untouched");
    const stats = await fs.lstat(out);
    assert.ok(stats.isFile());
    assert.equal(stats.mode & 0o777, 0o600);
    assert.deepEqual(
      (await fs.readdir(directory)).filter((f) => f.endsWith(".tmp")),
      [],
      "no temporary file left",
    );
  });

  it("reads KEYVAULT_URI when --vault is not given, and needs one of them", async () => {
    const fromEnv = await exportCommand([], { KEYVAULT_URI: source.vaultUrl });
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
    assert.equal((JSON.parse(fromEnv.stdout) as { secrets: unknown[] }).secrets.length, 4);
    const none = await exportCommand([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /give --vault URL \(or set KEYVAULT_URI\)/);
    const unknown = await exportCommand(["--vault", source.vaultUrl, "--bogus"]);
    assert.equal(unknown.code, 2);
  });

  it("trusts an HTTPS vault's CA given with --ca", async () => {
    const secure = await startLocalVault({
      https: true,
      seed: { secrets: [{ name: "tls", value: "over-https" }] },
    });
    try {
      const ca = path.join(directory, "ca.pem");
      await fs.writeFile(ca, secure.caCertificate ?? "");
      const trusted = await exportCommand(["--vault", secure.vaultUrl, "--ca", ca]);
      assert.equal(trusted.code, 0, trusted.stderr);
      assert.equal(
        (JSON.parse(trusted.stdout) as { secrets: { value: string }[] }).secrets[0].value,
        "over-https",
      );
      const untrusted = await exportCommand(["--vault", secure.vaultUrl]);
      assert.equal(untrusted.code, 1);
      assert.match(untrusted.stderr, /certificate/i);
    } finally {
      await secure.close();
    }
  });

  it("sends no token to a process squatting a local vault's port when the identity endpoint is the platform's", async () => {
    const machine = await startSquattedMachine();
    try {
      const env = machine.env();
      const result = await exportCommand(["--vault", machine.squatter.url], env);
      assert.deepEqual(machine.platform.resources, [], "a platform token was requested");
      assert.deepEqual(machine.squatter.authorizations, [], "a token reached the squatter");
      assert.equal(result.code, 1);
      assert.equal(result.stdout, "");
      assert.ok(
        result.stderr.includes(
          `Set IDENTITY_ENDPOINT=${machine.squatter.url}/__local/identity/token and IDENTITY_HEADER`,
        ),
        result.stderr,
      );
    } finally {
      await machine.close();
    }
  });

  describe("against a vault under strict auth", () => {
    let strict: LocalVault;
    before(async () => {
      strict = await startLocalVault({
        strictAuth: true,
        seed: { secrets: [{ name: "only", value: "strict-value" }] },
      });
    });
    after(() => strict.close());

    it("authenticates through the managed identity endpoint it prints", async () => {
      const result = await exportCommand(["--vault", strict.vaultUrl], {
        IDENTITY_ENDPOINT: strict.identityEndpoint,
        IDENTITY_HEADER: strict.identityHeader,
      });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(JSON.parse(result.stdout), {
        secrets: [{ name: "only", value: "strict-value", enabled: true }],
      });
    });

    it("fails with the service's 401 and a hint without a token the vault issued", async () => {
      const result = await exportCommand(["--vault", strict.vaultUrl]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /IDENTITY_ENDPOINT and IDENTITY_HEADER/);
      assert.ok(!result.stderr.includes("strict-value"));
      assert.equal(result.stdout, "");
    });
  });
});
