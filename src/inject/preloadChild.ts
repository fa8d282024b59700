/**
 * The helper process of the CommonJS preload: loads the secrets and resolves the references as the
 * environment configures them, and prints the variables to set as one JSON object on stdout (a
 * pipe read by the preload). Errors go to stderr with status 1 (2 for bad settings).
 */
import { loadForPreload, preloadChildVariable, reportPreloadFailure } from "./loadEnvironment.js";

async function main(): Promise<void> {
  const env = { ...process.env };
  delete env[preloadChildVariable];
  process.stdout.write(JSON.stringify(await loadForPreload(env)));
}

main().catch((error: unknown) => {
  process.exitCode = reportPreloadFailure(error);
});
