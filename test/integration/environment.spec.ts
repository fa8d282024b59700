import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { helpText, parseCliArguments } from "../../src/emulator/cli/cliArguments.js";
import { environmentName, withEnvironment } from "../../src/emulator/cli/environment.js";
import { packageVersion } from "../../src/constants.js";
import { builtCli, runProcess, startProcess, waitForVault } from "./emulatorProcess.js";

/** Options parsed from arguments and an environment, failing the test on help. */
function optionsOf(argv: string[], env: Record<string, string>) {
  const parsed = parseCliArguments(argv, env);
  if (parsed.help) throw new Error("unexpected help");
  return parsed.options;
}

describe("integration: configuration from environment variables", () => {
  let directory: string;

  before(async () => {
    directory = await fs.mkdtemp(path.join(os.tmpdir(), "kv-env-"));
  });
  after(() => fs.rm(directory, { recursive: true, force: true }));

  it("names each flag's variable KEYVAULT_EMULATOR_ and the flag in capitals", () => {
    assert.equal(environmentName("recoverable-days"), "KEYVAULT_EMULATOR_RECOVERABLE_DAYS");
    assert.equal(environmentName("port"), "KEYVAULT_EMULATOR_PORT");
  });

  it("reads every kind of flag from its variable", () => {
    const options = optionsOf([], {
      KEYVAULT_EMULATOR_HOST: "::1",
      KEYVAULT_EMULATOR_PORT: "9443",
      KEYVAULT_EMULATOR_LOCATION: directory,
      KEYVAULT_EMULATOR_STRICT_AUTH: "true",
      KEYVAULT_EMULATOR_EMPTY_PAGES: "1",
      KEYVAULT_EMULATOR_CLAIMS_CHALLENGE: "false",
      KEYVAULT_EMULATOR_RECOVERABLE_DAYS: "7",
      KEYVAULT_EMULATOR_SEED: "seed.json",
      KEYVAULT_EMULATOR_LATENCY_MS: "5",
      UNRELATED: "ignored",
    });
    assert.deepEqual(options, {
      host: "::1",
      port: 9443,
      location: directory,
      strictAuth: true,
      emptyPages: true,
      recoverableDays: 7,
      seed: path.resolve("seed.json"),
      faults: { latencyMs: 5 },
    });
  });

  it("lets a flag on the command line win over its variable", () => {
    const options = optionsOf(["--port", "1234", "--https"], {
      KEYVAULT_EMULATOR_PORT: "9443",
      KEYVAULT_EMULATOR_HTTPS: "false",
      KEYVAULT_EMULATOR_DELAY_MS: "7",
    });
    assert.equal(options.port, 1234);
    assert.equal(options.https, true);
    assert.equal(options.delayMs, 7);
    assert.equal(optionsOf(["--port=1"], { KEYVAULT_EMULATOR_PORT: "2" }).port, 1);
  });

  it("treats an empty variable as unset", () => {
    assert.equal(optionsOf([], { KEYVAULT_EMULATOR_PORT: "" }).port, 8443);
  });

  it("names the variable when its value is wrong", () => {
    assert.throws(() => parseCliArguments([], { KEYVAULT_EMULATOR_PORT: "http" }), {
      name: "TypeError",
      message: '--port must be a whole number, got "http". (set by KEYVAULT_EMULATOR_PORT)',
    });
    assert.throws(() => parseCliArguments([], { KEYVAULT_EMULATOR_RECOVERABLE_DAYS: "3" }), {
      name: "RangeError",
      message: /\(set by KEYVAULT_EMULATOR_RECOVERABLE_DAYS\)$/,
    });
    assert.throws(() => parseCliArguments([], { KEYVAULT_EMULATOR_HTTPS: "maybe" }), {
      name: "TypeError",
      message:
        'KEYVAULT_EMULATOR_HTTPS must be true or false (also 1/0, yes/no, on/off), got "maybe".',
    });
    // A wrong flag is reported without naming a variable that was not used.
    assert.throws(() => parseCliArguments(["--port", "x"], { KEYVAULT_EMULATOR_PORT: "1" }), {
      message: '--port must be a whole number, got "x".',
    });
  });

  it("splits a repeatable flag's variable at commas", () => {
    const { argv } = withEnvironment(
      [],
      { KEYVAULT_EMULATOR_NAME: "a, b,,c" },
      {
        name: { type: "string", multiple: true },
      },
    );
    assert.deepEqual(argv, ["--name=a", "--name=b", "--name=c"]);
  });

  it("documents the variables in --help", () => {
    assert.match(helpText, /KEYVAULT_EMULATOR_SOME_FLAG/);
    assert.match(helpText, /A flag on the command line wins over its variable\./);
  });

  it("starts the command configured by variables only, and prints --version", async () => {
    const seed = path.join(directory, "seed.json");
    await fs.writeFile(seed, JSON.stringify({ secrets: [{ name: "from-env", value: "v" }] }));
    const started = startProcess([process.execPath, builtCli], {
      KEYVAULT_EMULATOR_PORT: "0",
      KEYVAULT_EMULATOR_SEED: seed,
      KEYVAULT_EMULATOR_RECOVERABLE_DAYS: "7",
    });
    try {
      const { vaultUrl } = await waitForVault(started);
      const answer = await fetch(`${vaultUrl}/secrets/from-env?api-version=7.6`, {
        headers: { authorization: "Bearer any" },
      });
      assert.equal(answer.status, 200);
      const body = (await answer.json()) as {
        value: string;
        attributes: { recoverableDays: number };
      };
      assert.equal(body.value, "v");
      assert.equal(body.attributes.recoverableDays, 7);
    } finally {
      await started.stop();
    }
    const version = await runProcess([process.execPath, builtCli, "--version"], {});
    assert.deepEqual(version, { code: 0, stdout: `${packageVersion}\n`, stderr: "" });
  });
});
