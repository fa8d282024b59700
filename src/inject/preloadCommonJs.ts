/**
 * The CommonJS preload `keyvault-secrets/env`: `node -r keyvault-secrets/env app.js`. A `require`
 * cannot wait for a promise, so the load runs in a short-lived Node.js process
 * (`preloadChild.js`, synchronously) that prints the variables as JSON on a pipe; they are then set
 * in `process.env` before the app's first line. Values never go on a command line or into a file.
 * A failed load ends the process with the helper's status and message before the app starts.
 * With `KEYVAULT_SECRETS_WATCH` it then keeps `process.env` current from a worker thread
 * (preloadWatch.ts), and `secretsWatcher` tells the app when.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { preloadChildVariable, reportPreloadFailure } from "./loadEnvironment.js";
import { applyAndWatch, claimLoad, preloadState, type SecretsWatcher } from "./preloadWatch.js";
import { watchIntervalFrom } from "./watchSettings.js";

export type { SecretsWatcher, SecretsWatcherChange } from "./preloadWatch.js";

/** The most output the helper may print: far more than any environment holds. */
const maxOutputBytes = 64 * 1024 * 1024;

/**
 * Emits `change` when the preload updated `process.env` (with `KEYVAULT_SECRETS_WATCH` set): one
 * per process, shared with the ES module form of the preload.
 *
 * @example
 * ```ts
 * const { secretsWatcher } = require("keyvault-secrets/env");
 *
 * secretsWatcher.on("change", ({ names }) => console.log(`rotated: ${names.join(", ")}`));
 * ```
 */
export const secretsWatcher: SecretsWatcher = preloadState().watcher;

if (claimLoad()) {
  const env = { ...process.env };
  let intervalInMs: number | undefined;
  try {
    intervalInMs = watchIntervalFrom(env);
  } catch (error) {
    process.exit(reportPreloadFailure(error));
  }
  applyAndWatch(
    join(__dirname, "preloadWatchWorker.js"),
    env,
    loadThroughHelper(env),
    intervalInMs,
  );
}

/** Loads in the helper process; ends this process when the load failed. */
function loadThroughHelper(env: NodeJS.ProcessEnv): Record<string, string> {
  let output: string;
  try {
    output = execFileSync(process.execPath, [join(__dirname, "preloadChild.js")], {
      // The marker keeps a preload given in NODE_OPTIONS from running again in the helper.
      env: { ...env, [preloadChildVariable]: "1" },
      stdio: ["ignore", "pipe", "inherit"],
      encoding: "utf8",
      maxBuffer: maxOutputBytes,
      windowsHide: true,
    });
  } catch (error) {
    // The helper has printed why on stderr (inherited).
    const status = (error as { status?: unknown }).status;
    process.exit(typeof status === "number" && status !== 0 ? status : 1);
  }
  try {
    return JSON.parse(output) as Record<string, string>;
  } catch {
    // JSON.parse quotes the text it could not read, which holds values: never show it.
    process.stderr.write(
      "keyvault-secrets/env: the helper process printed something other than the variables on stdout (a module it loads writes to stdout?).\nThe app was not started.\n",
    );
    process.exit(1);
  }
}
