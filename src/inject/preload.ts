/**
 * The ES module preload `keyvault-secrets/env`: `node --import keyvault-secrets/env app.js` loads
 * the secrets (and resolves Key Vault references) into `process.env` before the app's first line
 * runs, configured by environment variables (see the README). A failed load ends the process with
 * status 1 and a message before the app starts. Top-level await holds the app back until then.
 */
import { InjectError } from "./connection.js";
import {
  asInjectError,
  loadEnvironmentUntilInterrupted,
  loadWarnings,
  preloadChildVariable,
  settingsFromEnvironment,
} from "./loadEnvironment.js";

if (process.env[preloadChildVariable] === undefined) {
  try {
    const result = await loadEnvironmentUntilInterrupted(
      settingsFromEnvironment(process.env),
      process.env,
    );
    for (const line of loadWarnings(result)) {
      process.stderr.write(`keyvault-secrets/env: ${line}\n`);
    }
    for (const [key, value] of Object.entries(result.variables)) process.env[key] = value;
  } catch (error) {
    const reported = asInjectError(error, 1);
    process.stderr.write(
      `keyvault-secrets/env: ${reported instanceof Error ? reported.message : String(reported)}\nThe app was not started.\n`,
    );
    process.exit(reported instanceof InjectError ? reported.exitCode : 1);
  }
}
