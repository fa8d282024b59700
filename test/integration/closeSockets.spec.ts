import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import { compiledScript } from "../helpers/childProcesses.js";

const fixture = "test/integration/fixtures/closeClient.ts";
const proxyVariables = ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"];

/** Runs the fixture in a fresh process with only the given proxy variables set. */
async function runClient(
  vault: LocalVault,
  proxyEnv: Record<string, string>,
): Promise<{ connected: number; openSockets: string[] }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of proxyVariables) {
    delete env[name];
    delete env[name.toLowerCase()];
  }
  const token = await vault.credential.getToken("https://vault.azure.net/.default");
  Object.assign(env, proxyEnv, { VAULT_URL: vault.vaultUrl, VAULT_TOKEN: token!.token });
  if (vault.caCertificate !== undefined) env["VAULT_CA"] = vault.caCertificate;
  const child = spawn(process.execPath, [compiledScript(fixture)], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  assert.equal(code, 0, `the client process failed: ${stderr}`);
  return JSON.parse(stdout) as { connected: number; openSockets: string[] };
}

describe("integration: SecretClient.close() leaves no socket open", function () {
  let vault: LocalVault;
  let proxy: Server;
  let proxyUrl: string;
  let proxied = 0;

  before(async function () {
    vault = await startLocalVault();
    // A forward proxy for plain HTTP: it counts what it forwards.
    proxy = createServer((req, res) => {
      proxied++;
      const target = new URL(req.url ?? "/");
      const upstream = httpRequest(
        {
          hostname: target.hostname,
          port: target.port,
          path: target.pathname + target.search,
          method: req.method,
          headers: req.headers,
          agent: false,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on("error", () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });
  after(async function () {
    proxy.closeAllConnections();
    await new Promise((resolve) => proxy.close(resolve));
    await vault.close();
  });
  beforeEach(function () {
    proxied = 0;
  });

  it("without proxy variables", async function () {
    const { connected, openSockets } = await runClient(vault, {});
    assert.ok(connected > 0);
    assert.deepEqual(openSockets, []);
    assert.equal(proxied, 0);
  });

  it("with HTTP_PROXY set and the vault in NO_PROXY", async function () {
    const { openSockets } = await runClient(vault, { HTTP_PROXY: proxyUrl, NO_PROXY: "127.0.0.1" });
    assert.deepEqual(openSockets, []);
    assert.equal(proxied, 0, "the vault is reached directly");
  });

  it("with HTTP_PROXY set and the vault reached through the proxy", async function () {
    const { openSockets } = await runClient(vault, { HTTP_PROXY: proxyUrl });
    assert.deepEqual(openSockets, []);
    assert.ok(proxied >= 4, `the proxy forwarded ${proxied} requests`);
  });

  it("over https with tlsOptions", async function () {
    const tlsVault = await startLocalVault({ https: true });
    try {
      const { openSockets } = await runClient(tlsVault, {});
      assert.deepEqual(openSockets, []);
    } finally {
      await tlsVault.close();
    }
  });
});
