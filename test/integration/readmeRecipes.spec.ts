import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import { runScript } from "../reliability/reliabilityKit.js";

// The README's recipes for trusting the https local vault's generated CA.
describe("README: trusting the local vault's CA in a child process", () => {
  let vault: LocalVault;
  let dir: string;
  before(async () => {
    vault = await startLocalVault({ https: true, delayMs: 20 });
    dir = await mkdtemp(join(tmpdir(), "keyvault-ca-"));
  });
  after(async () => {
    await vault.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("a child started with NODE_EXTRA_CA_CERTS naming the CA file reaches the vault", async () => {
    const caFile = join(dir, "keyvault-emulator-ca.pem");
    await writeFile(caFile, vault.caCertificate!, { mode: 0o600 });
    const run = await runScript("test/integration/fixtures/trustedCaClient.ts", [], {
      KEYVAULT_URI: vault.vaultUrl,
      NODE_EXTRA_CA_CERTS: caFile,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout.trim()), { value: "trusted" });
  });

  it("without NODE_EXTRA_CA_CERTS the same child cannot verify the certificate", async () => {
    const run = await runScript("test/integration/fixtures/trustedCaClient.ts", [], {
      KEYVAULT_URI: vault.vaultUrl,
      NODE_EXTRA_CA_CERTS: "",
    });
    assert.equal(run.code, 0, run.stderr);
    const { error } = JSON.parse(run.stdout.trim()) as { error?: string };
    assert.match(error ?? "", /SELF_SIGNED|UNABLE_TO_VERIFY|certificate/i);
  });
});
