/**
 * `keyvault-secrets run`: start any command with the vault's secrets in its environment, with no
 * loader code in the app. From a shell, after `npm install keyvault-secrets @azure/identity`:
 *
 *   npx keyvault-secrets run --vault https://myvault.vault.azure.net --prefix orders- --strip-prefix -- node server.js
 *
 * This sample seeds a local vault (or uses KEYVAULT_URI and SECRET_PREFIX), then runs a small app
 * twice through the command: once plainly, once with `--mask`, which conceals the values the app
 * prints. Run it with `npm run sample -- runWithSecrets` (after `npm run build`: the command runs
 * from dist/).
 */
import { childVault, commandPath, runChild } from "./injectKit.js";
import { deleteAndPurge, uniqueName } from "./vault.js";

// The app: it reads its configuration from the environment, as twelve-factor apps do.
const app = `
const password = process.env.DB_PASSWORD;
console.log("app: DB_PASSWORD is " + (password ? "set (" + password.length + " characters)" : "missing"));
console.log("app: LOG_LEVEL is " + process.env.LOG_LEVEL);
`;

// An app that logs a secret by mistake; --mask conceals it.
const carelessApp = `console.log("app: a careless log line: password=" + process.env.DB_PASSWORD);`;

async function main(): Promise<void> {
  const vault = await childVault();
  const prefix = vault.client ? `${uniqueName("run")}-` : (process.env["SECRET_PREFIX"] ?? "");
  console.log(`Running an app with the secrets of ${vault.description}.`);
  try {
    if (vault.client) {
      await vault.client.setSecret(`${prefix}db-password`, "s3cr3t-password");
      await vault.client.setSecret(`${prefix}log-level`, "debug");
    }
    const command = commandPath();
    // LOG_LEVEL is already set: variables that are set win over the vault unless --override.
    const env = { ...vault.env, LOG_LEVEL: "info" };
    const options = ["--prefix", prefix, "--strip-prefix"];
    console.log(`\n$ keyvault-secrets run ${options.join(" ")} -- node app.js`);
    const plain = await runChild(
      process.execPath,
      [command, "run", ...options, "--", process.execPath, "-e", app],
      env,
    );
    console.log(`\n$ keyvault-secrets run --mask ${options.join(" ")} -- node careless.js`);
    const masked = await runChild(
      process.execPath,
      [command, "run", "--mask", ...options, "--", process.execPath, "-e", carelessApp],
      env,
    );
    console.log(`\nBoth runs exited with the app's status: ${plain} and ${masked}.`);
    if (plain !== 0 || masked !== 0) process.exitCode = 1;
  } finally {
    if (vault.client) {
      for (const name of ["db-password", "log-level"]) {
        await deleteAndPurge(vault.client, prefix + name, 100);
      }
    }
    await vault.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
