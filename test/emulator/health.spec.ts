import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import { probeHealth } from "../../src/emulator/routes/health.js";
import { localClient } from "../integration/integrationTestKit.js";

describe("integration: GET /healthz", () => {
  let vault: LocalVault;

  before(async () => {
    vault = await startLocalVault({ strictAuth: true });
  });
  after(() => vault.close());

  it("answers 200 without a token, and nothing about the vault's state", async () => {
    const empty = await fetch(`${vault.vaultUrl}/healthz`);
    assert.equal(empty.status, 200);
    assert.equal(empty.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(empty.headers.get("cache-control"), "no-store");
    assert.equal(empty.headers.get("access-control-allow-origin"), null);
    const emptyBody = await empty.text();
    assert.equal(emptyBody, "ok\n");

    await localClient(vault).setSecret("health-state", "value");
    const full = await fetch(`${vault.vaultUrl}/healthz`);
    assert.equal(await full.text(), emptyBody, "the answer does not change with the state");
  });

  it("answers HEAD without a body and refuses other methods", async () => {
    const head = await fetch(`${vault.vaultUrl}/healthz`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
    const post = await fetch(`${vault.vaultUrl}/healthz`, { method: "POST", body: "{}" });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET, HEAD");
  });

  it("is what the healthcheck probe asks", async () => {
    const { port } = new URL(vault.vaultUrl);
    assert.deepEqual(await probeHealth({ host: "127.0.0.1", port: Number(port), https: false }), {
      ok: true,
      status: 200,
    });
  });

  it("the probe reports a vault that does not answer 200, or not at all", async () => {
    const other: Server = createServer((_req, res) => {
      res.writeHead(503).end();
    });
    await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
    const { port } = other.address() as AddressInfo;
    try {
      assert.deepEqual(await probeHealth({ host: "0.0.0.0", port, https: false }), {
        ok: false,
        status: 503,
      });
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
    const refused = await probeHealth({ host: "127.0.0.1", port, https: false });
    assert.equal(refused.ok, false);
    assert.match(refused.error ?? "", /ECONNREFUSED/);
  });

  it("probes an HTTPS vault without trusting its certificate (it sends and reads nothing)", async () => {
    const secure = await startLocalVault({ https: true });
    try {
      const { port } = new URL(secure.vaultUrl);
      const health = await probeHealth({ host: "127.0.0.1", port: Number(port), https: true });
      assert.deepEqual(health, { ok: true, status: 200 });
    } finally {
      await secure.close();
    }
  });
});
