/**
 * The ES module preload `keyvault-secrets/env`: `node --import keyvault-secrets/env app.js` loads
 * the secrets (and resolves Key Vault references) into `process.env` before the app's first line
 * runs, configured by environment variables (see the README). A failed load ends the process with
 * status 1 and a message before the app starts. Top-level await holds the app back until then.
 * With `KEYVAULT_SECRETS_WATCH` it then keeps `process.env` current (preloadWatch.ts), and
 * `secretsWatcher` tells the app when.
 */
import { loadForPreload, reportPreloadFailure } from "./loadEnvironment.js";
import { applyAndWatch, claimLoad, preloadState, type SecretsWatcher } from "./preloadWatch.js";
import { watchIntervalFrom } from "./watchSettings.js";

export type { SecretsWatcher, SecretsWatcherChange } from "./preloadWatch.js";

/**
 * Emits `change` when the preload updated `process.env` (with `KEYVAULT_SECRETS_WATCH` set): one
 * per process, shared with the CommonJS form of the preload.
 *
 * @example
 * ```ts
 * import { secretsWatcher } from "keyvault-secrets/env";
 *
 * secretsWatcher.on("change", ({ names }) => console.log(`rotated: ${names.join(", ")}`));
 * ```
 */
export const secretsWatcher: SecretsWatcher = preloadState().watcher;

if (claimLoad()) {
  const env = { ...process.env };
  let intervalInMs: number | undefined;
  let variables: Record<string, string>;
  try {
    intervalInMs = watchIntervalFrom(env);
    variables = await loadForPreload(env);
  } catch (error) {
    process.exit(reportPreloadFailure(error));
  }
  applyAndWatch(new URL("./preloadWatchWorker.js", import.meta.url), env, variables, intervalInMs);
}
