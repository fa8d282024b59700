/**
 * docker-compose.yml, as far as a machine without a Docker daemon can check it: its settings agree
 * with the image and the command, and the keyvault service's settings, run directly, give what the
 * app container relies on (the service name accepted as Host and in the certificate, the CA in
 * the shared volume, the seed loaded).
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { promises as fs } from "node:fs";
import { request as httpsRequest } from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { helpText } from "../../src/emulator/cli/cliArguments.js";
import { readSeedFile } from "../../src/emulator/state/seed.js";
import { builtCli, startProcess, waitForVault } from "../integration/emulatorProcess.js";

interface Service {
  build?: string;
  image?: string;
  user?: string;
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
}

const compose = parseYaml(readFileSync("docker-compose.yml", "utf8")) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const vaultService = compose.services.keyvault;
const app = compose.services.app;

/** The image's variables, from the Dockerfile's last ENV lines. */
function imageEnvironment(): Record<string, string> {
  const text = readFileSync("Dockerfile", "utf8").replace(/\\\r?\n/g, " ");
  const lastStage = text.slice(text.lastIndexOf("\nFROM "));
  const env: Record<string, string> = {};
  for (const line of lastStage.split("\n").filter((l) => l.startsWith("ENV "))) {
    for (const [, key, value] of line.matchAll(/(\w+)=(\S+)/g)) env[key] = value;
  }
  return env;
}

/** `source:target[:mode]` of a volume entry. */
function mount(entry: string): { source: string; target: string } {
  const [source, target] = entry.split(":");
  return { source, target };
}

/** A GET over HTTPS as the app container would send it (name, SNI and trust of the compose). */
function getAsApp(
  port: number,
  name: string,
  pathAndQuery: string,
  ca: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: "127.0.0.1",
        port,
        path: pathAndQuery,
        servername: name,
        ca,
        agent: false,
        headers: { host: `${name}:${port}`, authorization: "Bearer from-the-app", ...headers },
      },
      (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("integration: docker-compose.yml (no Docker daemon: checked without running compose)", () => {
  const imageEnv = imageEnvironment();
  const location = imageEnv.KEYVAULT_EMULATOR_LOCATION;

  it("builds the vault from this repository and sets only variables the command reads", () => {
    assert.equal(vaultService.build, ".");
    for (const name of Object.keys(vaultService.environment ?? {})) {
      assert.match(name, /^KEYVAULT_EMULATOR_[A-Z_]+$/);
      const flag = `--${name.slice("KEYVAULT_EMULATOR_".length).toLowerCase().replace(/_/g, "-")}`;
      // A flag is shown after two spaces, or after its variable (`VARIABLE=VALUE, or --flag`).
      assert.match(helpText, new RegExp(`(  |, or )${flag} `), `${name}: ${flag} is not an option`);
    }
  });

  it("names the vault after its service, keeps its state in a volume and publishes on loopback only", () => {
    assert.deepEqual(vaultService.environment?.KEYVAULT_EMULATOR_HOSTNAME.split(","), ["keyvault"]);
    const data = (vaultService.volumes ?? []).map(mount).find((m) => m.target === location);
    assert.ok(data !== undefined, `a volume at ${location}`);
    assert.ok(Object.hasOwn(compose.volumes, data.source), "a named volume");
    for (const port of vaultService.ports ?? []) assert.match(port, /^127\.0\.0\.1:/);
    const seed = (vaultService.volumes ?? [])
      .map(mount)
      .find((m) => m.target === vaultService.environment?.KEYVAULT_EMULATOR_SEED);
    assert.ok(seed !== undefined && existsSync(seed.source), "the seed file is mounted");
    assert.ok(readSeedFile(seed.source).length > 0, "and is a valid seed");
  });

  it("starts the app once the vault is healthy, at the service name, trusting the vault's CA", () => {
    assert.deepEqual(app.depends_on, { keyvault: { condition: "service_healthy" } });
    assert.equal(
      app.environment?.KEYVAULT_URI,
      `https://keyvault:${imageEnv.KEYVAULT_EMULATOR_PORT}`,
    );
    const data = (vaultService.volumes ?? []).map(mount).find((m) => m.target === location);
    const shared = (app.volumes ?? []).map(mount).find((m) => m.source === data?.source);
    assert.ok(shared !== undefined, "the app mounts the vault's volume");
    assert.equal(
      app.environment?.NODE_EXTRA_CA_CERTS,
      `${shared.target}/keyvault-emulator-ca.pem`,
      "the CA the vault writes under --location",
    );
    assert.equal(app.user, "node", "the vault's user, who may read its private directory");
    assert.equal(
      app.environment?.IDENTITY_ENDPOINT,
      `${app.environment?.KEYVAULT_URI}/__local/identity/token`,
    );
    assert.equal(
      app.environment?.IDENTITY_HEADER,
      vaultService.environment?.KEYVAULT_EMULATOR_IDENTITY_HEADER,
      "the app knows the vault's identity header",
    );
  });

  describe("the keyvault service's settings, run directly", () => {
    let directory: string;
    before(async () => {
      directory = await fs.mkdtemp(path.join(os.tmpdir(), "kv-compose-"));
    });
    after(() => fs.rm(directory, { recursive: true, force: true }));

    it("answers https://keyvault:PORT with a certificate the app trusts and the seeded secrets", async () => {
      const data = path.join(directory, "data");
      const seedMount = (vaultService.volumes ?? [])
        .map(mount)
        .find((m) => m.target === vaultService.environment?.KEYVAULT_EMULATOR_SEED);
      const environment = Object.fromEntries(
        Object.entries(vaultService.environment ?? {}).map(([name, value]) => [
          name,
          // Compose's `${VARIABLE:-default}`, with VARIABLE unset.
          value.replace(/^\$\{\w+:-([^}]*)\}$/, "$1"),
        ]),
      );
      const started = startProcess([process.execPath, builtCli], {
        ...imageEnv,
        ...environment,
        // What a test must change: loopback only, a free port, temporary paths.
        KEYVAULT_EMULATOR_HOST: "127.0.0.1",
        KEYVAULT_EMULATOR_PORT: "0",
        KEYVAULT_EMULATOR_LOCATION: data,
        KEYVAULT_EMULATOR_SEED: path.resolve(seedMount?.source ?? ""),
      });
      try {
        const { vaultUrl } = await waitForVault(started);
        const port = Number(new URL(vaultUrl).port);
        const ca = await fs.readFile(path.join(data, "keyvault-emulator-ca.pem"), "utf8");

        const health = await getAsApp(port, "keyvault", "/healthz", ca);
        assert.deepEqual(health, { status: 200, body: "ok\n" });
        const secret = await getAsApp(port, "keyvault", "/secrets/api-key?api-version=7.6", ca);
        assert.equal(secret.status, 200);
        const body = JSON.parse(secret.body) as { id: string; value: string };
        assert.equal(body.value, "sk-local-0123456789");
        assert.match(body.id, new RegExp(`^https://keyvault:${port}/secrets/api-key/`));

        // The managed identity endpoint with the header compose gives the app (the variable's
        // default, as compose substitutes it when KEYVAULT_IDENTITY_HEADER is unset).
        const header = /:-([^}]+)\}$/.exec(app.environment?.IDENTITY_HEADER ?? "")?.[1] ?? "";
        const token = await getAsApp(
          port,
          "keyvault",
          "/__local/identity/token?api-version=2019-08-01&resource=https%3A%2F%2Fvault.azure.net",
          ca,
          { "x-identity-header": header },
        );
        assert.equal(token.status, 200, token.body);
        assert.equal((JSON.parse(token.body) as { token_type: string }).token_type, "Bearer");

        await assert.rejects(
          getAsApp(port, "other-service", "/healthz", ca),
          /does not match certificate's altnames|Hostname\/IP does not match/,
          "a name not given to the vault is not in its certificate",
        );
      } finally {
        await started.stop();
      }
    });
  });
});
