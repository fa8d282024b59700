/**
 * Takes the README's screenshot of the page (docs/local-vault-page.png): the sample seed, a few
 * requests of an app, one version list open, one value revealed and one secret deleted.
 * Run with `npm run docs:screenshot` (needs /usr/bin/chromium).
 */
import { mkdirSync } from "node:fs";
import { SecretClient } from "../../src/index.js";
import { startLocalVault } from "../../src/emulator/index.js";
import { launchChromium } from "./chromium.js";

const output = "docs/local-vault-page.png";

const vault = await startLocalVault({
  seed: "samples/localVaultSeed.json",
  delayMs: 0,
  port: 8443,
});
const browser = await launchChromium({ width: 1280, height: 820 });
try {
  const client = new SecretClient(vault.vaultUrl, vault.credential, {
    allowInsecureConnection: true,
    disableChallengeResourceVerification: true,
    userAgentOptions: { userAgentPrefix: "orders-service/2.3.0" },
  });
  const page = await browser.context.newPage();
  await page.goto(vault.pageUrl());
  await page.locator('#secrets tr.secret[data-name="db-password"]').waitFor();

  await client.getSecret("db-password");
  await client.getSecret("api-key");
  await client.setSecret("session-key", "e2c1f0", { tags: { env: "local" } });
  await client.getSecret("smtp-password").catch(() => undefined);
  for await (const properties of client.listPropertiesOfSecrets()) void properties;

  page.once("dialog", (dialog) => void dialog.accept());
  await page.locator('#secrets tr.secret[data-name="feature-flags"] button.delete').click();
  await page.locator('#deleted tr.deleted[data-name="feature-flags"]').waitFor();
  await page.locator('#secrets tr.secret[data-name="db-password"] button.versions').click();
  await page.locator('#secrets tr.secret[data-name="api-key"] button.reveal').click();
  await page.locator("#secrets code.value").waitFor();
  await page.locator("#log tr.request", { hasText: "/secrets/smtp-password" }).first().waitFor();
  mkdirSync("docs", { recursive: true });
  await page.screenshot({ path: output, fullPage: true });
  console.log(`Wrote ${output}`);
} finally {
  await browser.close();
  await vault.close();
}
