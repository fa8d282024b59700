#!/usr/bin/env node
/**
 * Entry file of the `keyvault-emulator` program (package.json `bin`).
 */
import { runCli } from "./cli/cli.js";

runCli(process.argv.slice(2)).catch((error: unknown) => {
  console.error(`keyvault-emulator: ${(error as Error).message}`);
  process.exitCode = 1;
});
