/**
 * The ES module preload `keyvault-secrets/env`: `node --import keyvault-secrets/env app.js` loads
 * the secrets (and resolves Key Vault references) into `process.env` before the app's first line
 * runs, configured by environment variables (see the README). A failed load ends the process with
 * status 1 and a message before the app starts. Top-level await holds the app back until then.
 */
import { loadForPreload, preloadChildVariable, reportPreloadFailure } from "./loadEnvironment.js";

if (process.env[preloadChildVariable] === undefined) {
  try {
    const variables = await loadForPreload(process.env);
    for (const [key, value] of Object.entries(variables)) process.env[key] = value;
  } catch (error) {
    process.exit(reportPreloadFailure(error));
  }
}
