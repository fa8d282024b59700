/**
 * The CommonJS preload `keyvault-secrets/env`: `node -r keyvault-secrets/env app.js`. A `require`
 * cannot wait for a promise, so the load runs in a short-lived Node.js process
 * (`preloadChild.js`, synchronously) that prints the variables as JSON on a pipe; they are then set
 * in `process.env` before the app's first line. Values never go on a command line or into a file.
 * A failed load ends the process with the helper's status and message before the app starts.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { preloadChildVariable } from "./loadEnvironment.js";

/** The most output the helper may print: far more than any environment holds. */
const maxOutputBytes = 64 * 1024 * 1024;

if (process.env[preloadChildVariable] === undefined) {
  let output: string;
  try {
    output = execFileSync(process.execPath, [join(__dirname, "preloadChild.js")], {
      // The marker keeps a preload given in NODE_OPTIONS from running again in the helper.
      env: { ...process.env, [preloadChildVariable]: "1" },
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
  let variables: Record<string, string>;
  try {
    variables = JSON.parse(output) as Record<string, string>;
  } catch {
    // JSON.parse quotes the text it could not read, which holds values: never show it.
    process.stderr.write(
      "keyvault-secrets/env: the helper process printed something other than the variables on stdout (a module it loads writes to stdout?).\nThe app was not started.\n",
    );
    process.exit(1);
  }
  for (const [key, value] of Object.entries(variables)) process.env[key] = value;
}
