/**
 * Rotation for apps that only read their environment. For an installed app:
 *
 *   npx keyvault-secrets run --prefix orders- --strip-prefix --watch=5m -- node server.js
 *   KEYVAULT_SECRETS_WATCH=5m node --import keyvault-secrets/env server.js
 *
 * `run --watch` restarts the command when a secret changed (stop signal, grace period, then the
 * new command); the preload with `KEYVAULT_SECRETS_WATCH` updates `process.env` in place and tells
 * the app through `secretsWatcher`. This sample seeds a local vault (or uses KEYVAULT_URI and
 * writes a secret there), starts both with 1-second intervals, rotates the secret and shows each
 * path pick it up. Run it with `npm run sample -- rotationWatch` (after `npm run build`).
 */
import { childVault, commandPath, startInBackground } from "./injectKit.js";
import { connect, deleteAndPurge, uniqueName } from "./vault.js";

// The app `run` starts: it reads DB_PASSWORD once, at start, and stops on SIGTERM (listening
// before it says it started, so a SIGTERM sent on that line always finds the listener).
const app = `
process.on("SIGTERM", () => { console.log("app: stopping (SIGTERM)"); process.exit(0); });
console.log("app: started, DB_PASSWORD has " + process.env.DB_PASSWORD.length + " characters");
setInterval(() => {}, 1000);
`;

// The app the preload runs in: it reads process.env on each use and hears of changes.
const preloadedApp = `
import { secretsWatcher } from "keyvault-secrets/env";
console.log("app: DB_PASSWORD has " + process.env.DB_PASSWORD.length + " characters");
const timer = setInterval(() => {}, 1000);
secretsWatcher.on("change", ({ names }) => {
  console.log("app: changed: " + names.join(", ") + "; DB_PASSWORD now has " + process.env.DB_PASSWORD.length + " characters");
  clearInterval(timer); // the sample's app is done; the watcher never keeps it alive
});
`;

async function main(): Promise<void> {
  const vault = await childVault();
  const writer = vault.client === undefined ? await connect() : undefined;
  const client = vault.client ?? writer!.client;
  const prefix = `${uniqueName("rotation")}-`;
  const name = `${prefix}db-password`;
  console.log(`Watching a secret of ${vault.description}.`);
  try {
    await client.setSecret(name, "first-password"); // 14 characters
    const selection = {
      ...vault.env,
      KEYVAULT_SECRETS_PREFIX: prefix,
      KEYVAULT_SECRETS_STRIP_PREFIX: "true",
    };

    const flags = ["--prefix", prefix, "--strip-prefix", "--watch=1s", "--min-restart-interval=1s"];
    console.log(`\n$ keyvault-secrets run ${flags.join(" ")} -- node app.js`);
    const run = startInBackground(
      process.execPath,
      [commandPath(), "run", ...flags, "--", process.execPath, "-e", app],
      vault.env,
    );
    await run.waitFor("app: started, DB_PASSWORD has 14 characters");
    await client.setSecret(name, "second-password-1"); // 17 characters
    await run.waitFor("app: started, DB_PASSWORD has 17 characters");
    run.child.kill("SIGTERM"); // passed on to the app; run exits as it does
    console.log(`run exited with the app's status: ${await run.exited}.`);

    console.log("\n$ KEYVAULT_SECRETS_WATCH=1s node --import keyvault-secrets/env app.mjs");
    const preloaded = startInBackground(
      process.execPath,
      ["--import", "keyvault-secrets/env", "--input-type=module", "-e", preloadedApp],
      { ...selection, KEYVAULT_SECRETS_WATCH: "1s" },
    );
    await preloaded.waitFor("app: DB_PASSWORD has 17 characters");
    await client.setSecret(name, "third-password-12345"); // 20 characters
    console.log(`The app ended on its own: status ${await preloaded.exited}.`);
  } finally {
    await deleteAndPurge(client, name, 100);
    await writer?.close();
    await vault.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
