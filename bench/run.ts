/**
 * `npm run bench`: our client against `@azure/keyvault-secrets` and a raw keep-alive HTTP loop.
 *
 * Every contender runs in its own child process (its CPU time and peak RSS are its own), against a
 * server in another process: the fixed-response stand-in (measures clients) and the local vault.
 * Contenders take turns round by round (A B C A B C ...) so that drift of a shared machine hits all
 * alike; ratios are the figures to read. Results are printed and written to bench/results/.
 *
 * Flags: --quick (short rounds), --scenario NAME (repeatable or comma-separated: get, set, list1k,
 * list10k, cold, cache, refresh, startup), --server fixed|vault|both, --https (every contender and server over TLS with a
 * generated CA trusted through NODE_EXTRA_CA_CERTS), --profile (CPU profiles of our client and the
 * official one instead of the benchmark), --help.
 *
 * The parts: options.ts (scenarios, settings, command line), measure.ts (servers, contenders,
 * rounds, cold start), targets.ts (the targets and their judgement), report.ts (tables, machine,
 * result files), profiling.ts (--profile).
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import * as path from "node:path";
import { compileBench } from "./compile.js";
import { cleanUpOnExit, killAllChildren } from "./processes.js";
import { parseOptions, concurrencies, scenarios } from "./options.js";
import {
  runColdStart,
  runScenario,
  startServer,
  type ColdResult,
  type ScenarioResult,
} from "./measure.js";
import { judgeTargets, targetTable } from "./targets.js";
import { coldTable, machine, resultsDir, scenarioTable, stamp } from "./report.js";
import { profileContenders } from "./profiling.js";
import { writeCharts } from "./charts.js";

async function main(): Promise<void> {
  const options = parseOptions();
  if (options.micro) {
    const { runMicro, microTable } = await import("./micro.js");
    process.stdout.write(microTable(await runMicro()) + "\n");
    return;
  }
  if (options.charts && !options.scenarioGiven) {
    // Charts of the newest results, without a run.
    for (const file of writeCharts()) {
      process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
    }
    return;
  }
  const started = Date.now();
  process.stdout.write("Compiling src/ and the benchmark programs ...\n");
  // Profiles name our files one by one: for them the client is left unbundled.
  const compiled = compileBench(undefined, { bundle: !options.profile });
  cleanUpOnExit(compiled);
  const info = machine();
  process.stdout.write(
    `Node ${info.node}, ${info.cpus} CPUs (${info.cpuModel}), ${info.totalMemoryGb} GB, ` +
      `load ${(info.loadAverage as number[]).join(" ")}; transport ${options.https ? "https" : "http"}` +
      `${options.quick ? "; --quick" : ""}\n`,
  );
  if (options.profile) {
    await profileContenders(compiled, options.chosen, options.settings, options.https);
    return;
  }

  const results: ScenarioResult[] = [];
  const cold: ColdResult[] = [];
  for (const serverKind of options.servers) {
    for (const name of options.chosen) {
      if (name === "cache" || name === "refresh" || name === "startup") continue;
      const items = name === "cold" ? 0 : scenarios[name].items;
      const server = await startServer(compiled, serverKind, { items, https: options.https });
      try {
        if (name === "cold") {
          process.stdout.write(`${serverKind}: cold start x${options.settings.coldRuns} ...\n`);
          cold.push(runColdStart(compiled, server, serverKind, options.settings.coldRuns));
          continue;
        }
        for (const concurrency of concurrencies) {
          process.stdout.write(
            `${serverKind}: ${scenarios[name].label}, concurrency ${concurrency} ...\n`,
          );
          results.push(
            await runScenario(compiled, server, serverKind, name, concurrency, options.settings),
          );
        }
      } finally {
        await server.stop();
      }
    }
  }

  if (options.chosen.includes("cache")) {
    // SecretCache against the local vault with its real throttle: its own program and table.
    process.stdout.write("\nSecretCache: load 1,000 secrets under the real throttle ...\n");
    runOwnProgram("bench/secretCache.ts", options.quick ? ["--runs", "1", "--fleet", "2"] : []);
  }

  if (options.chosen.includes("refresh")) {
    // SecretCache: a refresh of 1,000 unchanged secrets against a full reload.
    process.stdout.write("\nSecretCache: refresh 1,000 unchanged secrets, and reload them ...\n");
    runOwnProgram("bench/cacheRefresh.ts", options.quick ? ["--runs", "2"] : []);
  }

  if (options.chosen.includes("startup")) {
    // Start-up of a vault with 100,000 versions under --location: its own program and table.
    runOwnProgram("bench/vaultStartup.ts", options.quick ? ["--runs", "2"] : []);
  }

  const targets = judgeTargets(results, cold);
  const output = [
    "",
    results.length > 0 ? scenarioTable(results) : "",
    cold.length > 0 ? "\n" + coldTable(cold) : "",
    targets.length > 0
      ? "\nTargets (fixed server; ratios from this run):\n" + targetTable(targets)
      : "",
    `\nDone in ${Math.round((Date.now() - started) / 1000)} s; load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}.`,
  ].join("\n");
  process.stdout.write(output + "\n");
  const file = path.join(resultsDir(compiled), `bench-${stamp()}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      {
        machine: { ...info, loadAverageAtEnd: loadavg() },
        settings: { ...options.settings, quick: options.quick, https: options.https },
        results,
        coldStart: cold,
        targets,
      },
      null,
      2,
    ) + "\n",
  );
  process.stdout.write(`Results written to ${path.relative(process.cwd(), file)}\n`);
  if (options.charts) {
    for (const written of writeCharts(file)) {
      process.stdout.write(`wrote ${path.relative(process.cwd(), written)}\n`);
    }
  }
}

/**
 * Runs a benchmark that has a program and a table of its own, its output inline.
 * @param file - the program, e.g. bench/secretCache.ts
 * @param args - its flags
 * @throws Error when it fails
 */
function runOwnProgram(file: string, args: string[]): void {
  const run = spawnSync(process.execPath, ["--import", "tsx", file, ...args], {
    stdio: "inherit",
    timeout: 600_000,
  });
  if (run.status !== 0) throw new Error(`${file} failed (exit ${run.status}).`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  killAllChildren();
  process.exitCode = 1;
});
