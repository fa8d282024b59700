import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { collectRun, compiledScript, runScript, type ChildRun } from "../helpers/childProcesses.js";
import { repoRoot } from "../helpers/testKit.js";

/**
 * Runs one sample, compiled (see test/helpers/childProcesses.ts), from the repository root. The
 * samples run against a local vault: KEYVAULT_URI is removed from the environment.
 */
function runSample(name: string, env: NodeJS.ProcessEnv = {}): Promise<ChildRun> {
  return runScript(`samples/${name}.ts`, [], env, 25_000);
}

/**
 * Runs a sample that is a mocha suite, compiled, with mocha (samples/run.ts runs it the same way:
 * one file, the spec reporter).
 */
function runMochaSample(name: string): Promise<ChildRun> {
  const { KEYVAULT_URI: _ignored, ...inherited } = process.env;
  const mocha = join(repoRoot, "node_modules", "mocha", "bin", "mocha.js");
  const child = spawn(
    process.execPath,
    [
      mocha,
      "--no-config",
      "--reporter",
      "spec",
      "--timeout",
      "10000",
      compiledScript(`samples/${name}.ts`),
    ],
    { cwd: repoRoot, env: inherited, stdio: ["ignore", "pipe", "pipe"] },
  );
  return collectRun(child, 25_000);
}

function assertSucceeded(run: ChildRun, ...expectedLines: Array<string | RegExp>): void {
  assert.equal(
    run.code,
    0,
    `exit code ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`,
  );
  for (const expected of expectedLines) {
    if (typeof expected === "string") {
      assert.ok(run.stdout.includes(expected), `stdout lacks "${expected}":\n${run.stdout}`);
    } else {
      assert.match(run.stdout, expected);
    }
  }
}

describe("samples (against the local vault)", function () {
  this.timeout(30_000);

  it("helloWorld walks through every step and never prints the secret's value", async () => {
    const run = await runSample("helloWorld");
    assertSucceeded(
      run,
      "Hello, Key Vault! Using a local vault",
      "   Purged.",
      "Done: the secret was stored, read, updated, listed, deleted and purged.",
    );
    assert.ok(!run.stdout.includes("my-database-password"), "the secret value was printed");
  });

  it("listOperations resumes from a continuation token and sees every secret", async () => {
    const run = await runSample("listOperations");
    assertSucceeded(
      run,
      "Token of the next page: yes",
      /page 3: sample-list-\d+-5\n/,
      "Across the pages we saw all 5 secrets of this run.",
      /version [0-9a-f]{32}: .*enabled: false/,
    );
  });

  it("deleteAndRecover resumes a saved poller and recovers every version", async () => {
    const run = await runSample("deleteAndRecover");
    assertSucceeded(
      run,
      "started: true, completed: false",
      "Final state: completed: true, error: none",
      "It has 2 versions, as before the deletion.",
    );
    assert.ok(!run.stdout.includes("second value"), "the secret value was printed");
  });

  it("backupAndRestore brings back all versions", async () => {
    const run = await runSample("backupAndRestore");
    assertSucceeded(run, /409 Conflict: the purge is still settling/, "All 3 versions are back.");
  });

  it("purgeAllSecrets deletes and purges everything under its prefix", async () => {
    const run = await runSample("purgeAllSecrets");
    assertSucceeded(
      run,
      /Deleted 2: /,
      /Purged 3: /,
      /Done: no secret named sample-purge-\d+-\.\.\. is left\./,
    );
  });

  it("purgeAllSecrets refuses to touch a real vault without --yes", async () => {
    // Exits before connecting: the host does not need to exist.
    const run = await runSample("purgeAllSecrets", {
      KEYVAULT_URI: "https://samples-test.vault.azure.net",
    });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /run it again with --yes/);
  });

  it("sendRequest gets a 200 and a 404 through the pipeline", async () => {
    const run = await runSample("sendRequest");
    assertSucceeded(run, /status 200, request id \S+/, "status 404, error code SecretNotFound");
  });

  it("loadIntoEnv loads secrets into process.env without overwriting what is set", async () => {
    const run = await runSample("loadIntoEnv");
    assertSucceeded(
      run,
      "Set in process.env: SAMPLE_DB__PASSWORD, SAMPLE_FEATURE_FLAGS",
      "Already set, left alone: SAMPLE_API_KEY",
    );
  });

  it("runWithSecrets starts an app with the secrets through keyvault-secrets run, and --mask conceals them", async () => {
    const run = await runSample("runWithSecrets");
    assertSucceeded(
      run,
      "app: DB_PASSWORD is set (15 characters)",
      "app: LOG_LEVEL is info",
      "app: a careless log line: password=<concealed by keyvault-secrets>",
      "Both runs exited with the app's status: 0 and 0.",
    );
    assert.ok(!run.stdout.includes("s3cr3t-password"), "the secret value was printed");
  });

  it("preloadSecrets loads secrets before the app in ESM and CommonJS, and stops on a failed load", async () => {
    const run = await runSample("preloadSecrets");
    assertSucceeded(
      run,
      /\$ node --import keyvault-secrets\/env app\.js\napp: DB_PASSWORD is set \(15 characters\)/,
      /\$ node -r keyvault-secrets\/env app\.js\napp: DB_PASSWORD is set \(15 characters\)/,
      "The app did not start; exit status 1.",
    );
    assert.match(run.stderr, /API_KEY: the secret "no-such-secret" .* 404 SecretNotFound/);
    assert.match(run.stderr, /The app was not started\./);
  });

  it("rotationWatch shows run --watch restart the app and the preload update process.env", async () => {
    const run = await runSample("rotationWatch");
    assertSucceeded(
      run,
      /app: started, DB_PASSWORD has 14 characters\napp: stopping \(SIGTERM\)\napp: started, DB_PASSWORD has 17 characters\napp: stopping \(SIGTERM\)\nrun exited with the app's status: 0\./,
      /app: DB_PASSWORD has 17 characters\napp: changed: DB_PASSWORD; DB_PASSWORD now has 20 characters\nThe app ended on its own: status 0\./,
    );
    assert.match(
      run.stderr,
      /keyvault-secrets: restarting the command \(SIGTERM, SIGKILL after 10 s\): DB_PASSWORD updated\./,
    );
    assert.match(run.stderr, /keyvault-secrets\/env: process\.env updated: DB_PASSWORD updated/);
    assert.ok(!/first-password|second-password|third-password/.test(run.stdout + run.stderr));
  });

  it("appServiceReferences resolves both reference forms and names a failing variable", async () => {
    const run = await runSample("appServiceReferences");
    assertSucceeded(
      run,
      "DB_PASSWORD: ******** (16 characters)",
      "DB_PASSWORD_PINNED: ******** (14 characters)",
      "API_KEY: ******** (14 characters)",
      "LOCAL_API_KEY: ******** (14 characters)",
      "Not a reference, left out: LOG_LEVEL",
      /MISSING failed: the secret "no-such-secret" of https:\/\/myvault\.vault\.azure\.net \(mapped to http:\/\/127\.0\.0\.1:\d+\) could not be read: 404 SecretNotFound/,
    );
    for (const value of ["first-password", "rotated-password", "s3cr3t-api-key"]) {
      assert.ok(!run.stdout.includes(value), `the value ${value} was printed`);
    }
  });

  it("testingWithTheLocalVault runs its mocha suite", async () => {
    const run = await runMochaSample("testingWithTheLocalVault");
    assertSucceeded(run, "3 passing");
  });

  it("run.ts lists the samples and exits 2 without a name or with an unknown one", async () => {
    for (const args of [[], ["noSuchSample"]]) {
      const run = await runScript("samples/run.ts", args);
      assert.equal(run.code, 2);
      for (const name of ["helloWorld", "listOperations", "testingWithTheLocalVault"]) {
        assert.ok(run.stdout.includes(name), `the list lacks ${name}:\n${run.stdout}`);
      }
    }
  });
});
