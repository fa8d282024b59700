import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startLocalVault, type LocalVault, type LocalVaultSeed } from "../../src/emulator/index.js";
import { runExport } from "../../src/emulator/cli/exportVault.js";
import type { SecretClient } from "../../src/index.js";
import {
  startScriptedServer,
  type RecordedRequest,
  type ScriptedAction,
  type ScriptedServer,
} from "../reliability/reliabilityKit.js";
import { startSquattedMachine } from "../integration/injectKit.js";
import { builtCli, startProcess, type EmulatorProcess } from "../integration/emulatorProcess.js";
import {
  collect,
  localClient,
  refusedExp,
  startVaultWithRefusedDates,
} from "../integration/integrationTestKit.js";

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

/** Versions in the order they were created (the service lists them by version id). */
function byCreation<T extends { createdOn?: Date }>(versions: T[]): T[] {
  return [...versions].sort(
    (a, b) => (a.createdOn?.getTime() ?? 0) - (b.createdOn?.getTime() ?? 0),
  );
}

/** Everything a client can read of a vault, ids and timestamps aside. */
async function contentOf(client: SecretClient): Promise<unknown[]> {
  const secrets = [];
  for await (const latest of client.listPropertiesOfSecrets()) {
    const listed = byCreation(await collect(client.listPropertiesOfSecretVersions(latest.name)));
    const versions = [];
    for (const p of listed) {
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

/**
 * A vault in front of `vault` that does not offer the local vault's `/__local/value` (404, as
 * Key Vault or another emulator would answer); every other request goes to `script`.
 */
function otherVault(
  vault: LocalVault,
  script: (request: RecordedRequest) => ScriptedAction,
): Promise<ScriptedServer> {
  return startScriptedServer(
    (request) =>
      request.path.startsWith("/__local/") ? { status: 404, body: "" } : script(request),
    { challenge: null, upstream: vault.vaultUrl },
  );
}

/** Whether a request reads the value of one version (through the API or the local route). */
function readsValueOf(request: RecordedRequest, name: string, version: string): boolean {
  if (request.method !== "GET") return false;
  if (request.path === "/__local/value") return true;
  return request.path.toLowerCase() === `/secrets/${name}/${version}`.toLowerCase();
}

describe("integration: keyvault-emulator export", () => {
  let directory: string;
  let source: LocalVault;

  before(async () => {
    directory = await fs.mkdtemp(path.join(os.tmpdir(), "kv-export-"));
    source = await startLocalVault({ delayMs: 0 });
    const client = localClient(source);
    // A second apart: the service lists versions by id, so creation times are all that orders
    // them (versions made within one second come in the vault's order).
    await client.setSecret("db-password", "first", { contentType: "text/plain" });
    source.advanceClock(1000);
    await client.setSecret("db-password", "second", {
      tags: { owner: "data", __proto__: "x" } as Record<string, string>,
      notBefore: new Date("2026-01-01T00:00:00Z"),
      expiresOn: new Date("2031-01-01T00:00:00Z"),
    });
    source.advanceClock(1000);
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
    const before = await collect(localClient(source).listPropertiesOfSecretVersions("db-password"));
    const out = path.join(directory, "vault.json");
    const result = await exportCommand(["--vault", source.vaultUrl, "--out", out]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /2 secrets, 4 versions written to /);
    // The local vault gives disabled versions as they are: nothing was enabled.
    assert.doesNotMatch(result.stderr, /enabled for the moment/);
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
    // The disabled version was read as it is: disabled, and not even updated.
    const after = await collect(localClient(source).listPropertiesOfSecretVersions("db-password"));
    assert.deepEqual(
      after.map((p) => [p.enabled, p.updatedOn?.getTime()]),
      before.map((p) => [p.enabled, p.updatedOn?.getTime()]),
    );
    assert.deepEqual(
      byCreation(after).map((p) => p.enabled),
      [true, true, false],
    );
  });

  it("counts one secret and one version in the singular", async () => {
    const single = await startLocalVault({ seed: { secrets: [{ name: "only", value: "v" }] } });
    try {
      const result = await exportCommand(["--vault", single.vaultUrl]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /^keyvault-emulator export: 1 secret, 1 version\.$/m);
    } finally {
      await single.close();
    }
  });

  it("from a vault that cannot read disabled versions as they are, enables each for its read only", async () => {
    const other = await otherVault(source, () => ({ forward: true }));
    try {
      const result = await exportCommand(["--vault", other.url]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stderr,
        /1 disabled version was enabled for the moment its value was read/,
      );
      const written = JSON.parse(result.stdout) as { secrets: { value: string }[] };
      assert.ok(written.secrets.some((secret) => secret.value === "third"));
      const methods = other.requests.map((r) => `${r.method} ${r.path.replace(/\/\w+$/, "")}`);
      assert.deepEqual(
        methods.filter((line) => !line.startsWith("GET")),
        ["PATCH /secrets/db-password", "PATCH /secrets/db-password"],
      );
      const versions = await collect(
        localClient(source).listPropertiesOfSecretVersions("db-password"),
      );
      assert.deepEqual(
        byCreation(versions).map((p) => p.enabled),
        [true, true, false],
      );
    } finally {
      await other.close();
    }
  });

  it("leaves out, and names, dates a seed cannot hold instead of failing the whole vault", async () => {
    // An older vault accepted any exp; this vault's journal still holds two.
    const old = await startVaultWithRefusedDates(path.join(directory, "old-vault"), {
      "no-js-date": refusedExp,
      "year-10000": 253_402_300_800,
    });
    try {
      await localClient(old).setSecret("ordinary", "o", {
        expiresOn: new Date("2031-01-01T00:00:00Z"),
      });
      const result = await exportCommand(["--vault", old.vaultUrl]);
      assert.equal(result.code, 0, result.stderr);
      const written = JSON.parse(result.stdout) as LocalVaultSeed;
      assert.deepEqual(
        written.secrets.map((s) => [s.name, s.expiresOn]),
        [
          ["no-js-date", undefined],
          ["ordinary", "2031-01-01T00:00:00Z"],
          ["year-10000", undefined],
        ],
      );
      assert.match(
        result.stderr,
        /left out dates outside 1970 to 9999, which --seed would refuse: no-js-date [0-9a-f]{32} expiresOn, year-10000 [0-9a-f]{32} expiresOn\.\n/,
      );
      const copy = await startLocalVault({ seed: written });
      await copy.close();
    } finally {
      await old.close();
    }
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
    assert.match(unknown.stderr, /^keyvault-emulator export: Unknown option --bogus\.\n/);
    const mistyped = await exportCommand(["--vualt", source.vaultUrl]);
    assert.equal(mistyped.code, 2);
    assert.match(
      mistyped.stderr,
      /^keyvault-emulator export: Unknown option --vualt \(did you mean --vault\?\)\.\nUsage: keyvault-emulator export/,
    );
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

  describe("interrupted (SIGINT) while it reads a disabled version", function () {
    // The built command, in a child process that receives the signal.
    this.timeout(20_000);
    let vault: LocalVault;
    let version: string;

    beforeEach(async () => {
      vault = await startLocalVault();
      const created = await localClient(vault).setSecret("revoked", "old-credential", {
        enabled: false,
      });
      version = created.properties.version as string;
    });
    afterEach(() => vault.close());

    /**
     * Runs the export through `proxy`, which holds the read of the disabled version and sends
     * the export SIGINT when it arrives.
     */
    async function interruptedExport(
      proxy: (script: (request: RecordedRequest) => ScriptedAction) => Promise<ScriptedServer>,
    ): Promise<{ server: ScriptedServer; exit: { code: number | null }; stderr: string }> {
      let running: EmulatorProcess | undefined;
      let interrupted = false;
      const server = await proxy((request) => {
        if (!readsValueOf(request, "revoked", version)) return { forward: true };
        interrupted = running?.child.kill("SIGINT") ?? false;
        return { hang: true };
      });
      try {
        running = startProcess([process.execPath, builtCli, "export", "--vault", server.url], {});
        const exit = await running.exited;
        assert.ok(interrupted, `the export was interrupted: ${running.output().stderr}`);
        return { server, exit, stderr: running.output().stderr };
      } finally {
        running?.child.kill("SIGKILL");
        await server.close();
      }
    }

    async function enabledStates(): Promise<(boolean | undefined)[]> {
      const versions = await collect(localClient(vault).listPropertiesOfSecretVersions("revoked"));
      return versions.map((p) => p.enabled);
    }

    it("from the local vault: the version is still disabled, nothing was changed", async () => {
      const { server, exit, stderr } = await interruptedExport((script) =>
        startScriptedServer(script, { challenge: null, upstream: vault.vaultUrl }),
      );
      assert.deepEqual(await enabledStates(), [false]);
      assert.deepEqual(
        server.requests.filter((r) => r.method !== "GET").map((r) => r.method),
        [],
        "no request that changes state",
      );
      assert.equal(exit.code, 130, stderr);
      assert.match(stderr, /interrupted; nothing was written/);
      assert.ok(!stderr.includes("old-credential"));
    });

    it("from a vault without the local read: the version is disabled again before it exits", async () => {
      const { exit, stderr } = await interruptedExport((script) => otherVault(vault, script));
      assert.deepEqual(await enabledStates(), [false]);
      assert.equal(exit.code, 130, stderr);
      assert.match(
        stderr,
        new RegExp(`interrupted; disabling revoked version ${version} again first`),
      );
      assert.match(stderr, /interrupted; nothing was written/);
    });
  });
});
