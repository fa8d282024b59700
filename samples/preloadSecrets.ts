/**
 * The `keyvault-secrets/env` preload: load the vault's secrets into `process.env` before an app's
 * first line, configured only by environment variables. For an installed app:
 *
 *   KEYVAULT_URI=https://myvault.vault.azure.net KEYVAULT_SECRETS_PREFIX=orders- \
 *   KEYVAULT_SECRETS_STRIP_PREFIX=true node --import keyvault-secrets/env server.js   # ES modules
 *   ... node -r keyvault-secrets/env server.js                                        # CommonJS
 *
 * This sample seeds a local vault (or uses KEYVAULT_URI and SECRET_PREFIX) and starts a small app
 * both ways. Run it with `npm run sample -- preloadSecrets` (after `npm run build`).
 */
import { childVault, runChild } from "./injectKit.js";
import { deleteAndPurge, uniqueName } from "./vault.js";

// The app: nothing in it knows about Key Vault.
const app = `
const password = process.env.DB_PASSWORD;
console.log("app: DB_PASSWORD is " + (password ? "set (" + password.length + " characters)" : "missing"));
`;

async function main(): Promise<void> {
  const vault = await childVault();
  const prefix = vault.client ? `${uniqueName("preload")}-` : (process.env["SECRET_PREFIX"] ?? "");
  console.log(`Preloading the secrets of ${vault.description}.`);
  try {
    await vault.client?.setSecret(`${prefix}db-password`, "s3cr3t-password");
    const env = {
      ...vault.env,
      KEYVAULT_SECRETS_PREFIX: prefix,
      KEYVAULT_SECRETS_STRIP_PREFIX: "true",
    };
    for (const flag of ["--import", "-r"]) {
      console.log(`\n$ node ${flag} keyvault-secrets/env app.js`);
      const status = await runChild(
        process.execPath,
        [flag, "keyvault-secrets/env", "-e", app],
        env,
      );
      if (status !== 0) process.exitCode = 1;
    }
    if (vault.client) {
      // A reference to a secret that does not exist: the app never starts.
      const missing = `@Microsoft.KeyVault(SecretUri=${vault.env["KEYVAULT_URI"]}/secrets/no-such-secret/)`;
      console.log(`\n$ API_KEY='${missing}' node --import keyvault-secrets/env app.js`);
      const failed = await runChild(
        process.execPath,
        ["--import", "keyvault-secrets/env", "-e", app],
        { ...env, API_KEY: missing },
      );
      console.log(`The app did not start; exit status ${failed}.`);
    }
  } finally {
    if (vault.client) await deleteAndPurge(vault.client, `${prefix}db-password`, 100);
    await vault.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
