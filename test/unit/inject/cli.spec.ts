/**
 * The `keyvault-secrets` command's usage errors, in process: they are thrown before anything is
 * loaded or started.
 */
import assert from "node:assert/strict";
import { InjectError } from "../../../src/inject/connection.js";
import { runCli } from "../../../src/inject/cli.js";

async function usageError(argv: string[]): Promise<InjectError> {
  try {
    await runCli(argv);
  } catch (error) {
    assert.ok(error instanceof InjectError, `got ${String(error)}`);
    assert.equal(error.exitCode, 2);
    return error;
  }
  assert.fail("expected a usage error");
}

describe("keyvault-secrets: mistyped flags and commands", () => {
  it("names a mistyped flag of run and the flag meant", async () => {
    for (const [typed, meant] of [
      ["--prefx", "--prefix"],
      ["--allow-emtpy", "--allow-empty"],
      ["--verbsoe", "--verbose"],
      ["--strip-prefx", "--strip-prefix"],
      ["--Names", "--names"],
    ]) {
      const error = await usageError(["run", typed!, "x", "--", "node"]);
      assert.equal(
        error.message,
        `Unknown option ${typed} (did you mean ${meant}?).\nSee keyvault-secrets run --help.`,
      );
    }
  });

  it("names an unknown flag alone when no flag is close", async () => {
    const error = await usageError(["run", "--frobnicate", "--", "node"]);
    assert.equal(error.message, "Unknown option --frobnicate.\nSee keyvault-secrets run --help.");
  });

  it("suggests run for a mistyped command", async () => {
    assert.equal(
      (await usageError(["rnu", "--", "node"])).message,
      'Unknown command "rnu" (did you mean run?). See keyvault-secrets --help.',
    );
    assert.equal(
      (await usageError(["deploy"])).message,
      'Unknown command "deploy". See keyvault-secrets --help.',
    );
  });
});
