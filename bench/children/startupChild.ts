/**
 * One timed start of a local vault that keeps its state in a directory, a one-shot child: a fresh
 * process (module loading excluded from the time) prints a StartupResult and exits. Protocol:
 * framework/protocol.ts.
 */
import { performance } from "node:perf_hooks";
import { startLocalVault } from "../../src/emulator/index.js";
import { childConfig, printResult } from "../framework/childSide.js";
import type { StartupConfig, StartupResult } from "../framework/protocol.js";

const { location } = childConfig<StartupConfig>();
const started = performance.now();
const cpuBefore = process.cpuUsage();
const vault = await startLocalVault({ location });
const ms = performance.now() - started;
const cpu = process.cpuUsage(cpuBefore);
await vault.close();
printResult({ ms, cpuMs: (cpu.user + cpu.system) / 1000 } satisfies StartupResult);
process.exit(0);
