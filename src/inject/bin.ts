#!/usr/bin/env node
/**
 * Entry file of the `keyvault-secrets` program (package.json `bin`).
 */
import { reportCliError, runCli } from "./cli.js";

runCli(process.argv.slice(2)).catch(reportCliError);
