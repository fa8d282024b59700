import assert from "node:assert/strict";
import { request } from "node:https";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";

function get(
  vault: LocalVault,
  path: string,
  ca: string | undefined,
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const url = new URL(path, vault.vaultUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { ca, headers: { authorization: "Bearer t" }, agent: false },
      (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("local vault: https", () => {
  let vault: LocalVault;
  before(async () => {
    vault = await startLocalVault({ https: true });
  });
  after(() => vault.close());

  it("serves https with a certificate that verifies against caCertificate", async () => {
    assert.match(vault.vaultUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.match(vault.caCertificate ?? "", /^-----BEGIN CERTIFICATE-----/);
    const answer = await get(vault, "/secrets?api-version=7.6", vault.caCertificate);
    assert.equal(answer.status, 200);
    assert.deepEqual(JSON.parse(answer.body), { value: [], nextLink: null });
    assert.ok(answer.headers["strict-transport-security"]);
    assert.equal(vault.identityEndpoint, `${vault.vaultUrl}/__local/identity/token`);
  });

  it("builds https ids", async () => {
    const url = new URL("/secrets/tls?api-version=7.6", vault.vaultUrl);
    const answer = await new Promise<{ id: string }>((resolve, reject) => {
      const req = request(
        url,
        {
          method: "PUT",
          ca: vault.caCertificate,
          agent: false,
          headers: { authorization: "Bearer t", "content-type": "application/json" },
        },
        (res) => {
          let body = "";
          res.on("data", (chunk: Buffer) => (body += chunk.toString()));
          res.on("end", () => resolve(JSON.parse(body)));
        },
      );
      req.on("error", reject);
      req.end(JSON.stringify({ value: "v" }));
    });
    assert.match(answer.id, new RegExp(`^${vault.vaultUrl}/secrets/tls/[0-9a-f]{32}$`));
  });

  it("is refused by a client that does not trust the CA", async () => {
    await assert.rejects(
      get(vault, "/secrets?api-version=7.6", undefined),
      /self-signed|unable to verify|certificate/i,
    );
  });
});
