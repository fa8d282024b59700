/**
 * The helper process of the CommonJS preload: loads the secrets and resolves the references as the
 * environment configures them, and prints the variables to set as one JSON object on stdout (a
 * pipe read by the preload). Errors go to stderr with status 1 (2 for bad settings).
 */
import { InjectError } from "./connection.js";
import {
  asInjectError,
  loadEnvironmentUntilInterrupted,
  loadWarnings,
  preloadChildVariable,
  settingsFromEnvironment,
} from "./loadEnvironment.js";

async function main(): Promise<void> {
  const env = { ...process.env };
  delete env[preloadChildVariable];
  const result = await loadEnvironmentUntilInterrupted(settingsFromEnvironment(env), env);
  for (const line of loadWarnings(result)) process.stderr.write(`keyvault-secrets/env: ${line}\n`);
  process.stdout.write(JSON.stringify(result.variables));
}

main().catch((error: unknown) => {
  const reported = asInjectError(error, 1);
  process.stderr.write(
    `keyvault-secrets/env: ${reported instanceof Error ? reported.message : String(reported)}\nThe app was not started.\n`,
  );
  process.exitCode = reported instanceof InjectError ? reported.exitCode : 1;
});
