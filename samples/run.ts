/**
 * Runs one sample by name: `npm run sample -- <name> [arguments]`, i.e.
 * `node --import tsx samples/run.ts <name>`. Without a name, or with an unknown one, it lists the
 * samples and exits with code 2.
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import Mocha from "mocha";

const samples: Record<string, string> = {
  helloWorld: "the quick start: set, get, update, list, delete and purge a secret (npm start)",
  listOperations: "pages, continuation tokens, versions and deleted secrets",
  deleteAndRecover: "delete and recover pollers: progress, state, saving and resuming",
  backupAndRestore: "back up a secret, purge it, restore it with all its versions",
  purgeAllSecrets: "delete and purge the secrets under a name prefix (--yes for a real vault)",
  sendRequest: "raw requests through the client's pipeline",
  loadIntoEnv:
    "load secrets with SecretCache into process.env (the environment wins), refresh a rotation",
  runWithSecrets:
    "keyvault-secrets run: a command with the vault's secrets in its environment, --mask",
  preloadSecrets:
    "node --import / -r keyvault-secrets/env: secrets in process.env before the app starts",
  rotationWatch:
    "rotation: keyvault-secrets run --watch restarts the app, the preload updates process.env",
  appServiceReferences:
    "resolve App Service @Microsoft.KeyVault(...) references with resolveReferences",
  testingWithTheLocalVault: "a mocha suite that tests your code against the local vault",
};

/** Samples that are mocha suites rather than programs. */
const mochaSamples = new Set(["testingWithTheLocalVault"]);

async function runMochaSuite(file: string): Promise<void> {
  const mocha = new Mocha({ reporter: "spec", timeout: 10_000 });
  mocha.addFile(file);
  await mocha.loadFilesAsync();
  const failures = await new Promise<number>((done) => mocha.run(done));
  if (failures > 0) process.exitCode = 1;
}

async function main(): Promise<void> {
  const name = process.argv[2];
  if (name === undefined || !Object.hasOwn(samples, name)) {
    if (name !== undefined) console.error(`Unknown sample "${name}".\n`);
    console.log("Usage: npm run sample -- <name> [arguments]\n\nSamples:");
    for (const [sample, summary] of Object.entries(samples)) {
      console.log(`  ${sample.padEnd(26)} ${summary}`);
    }
    process.exitCode = 2;
    return;
  }
  const file = resolve(import.meta.dirname, `${name}.ts`);
  if (mochaSamples.has(name)) {
    await runMochaSuite(file);
  } else {
    // The sample runs its main() when loaded, and sets process.exitCode when it fails.
    await import(pathToFileURL(file).href);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
