/**
 * `npm run bench`: runs the chosen scenarios (bench/scenarios/, one module each) on one framework
 * (bench/framework/): one compile step, one protocol between the benchmark and its child processes
 * (bench/children/), one local vault child, contenders taking turns so that the drift of a shared
 * machine hits all alike. `npm run bench -- --help` lists the scenarios and flags.
 *
 * The client scenarios (get, set, list1k, list10k, cold) print one table and one judgement of
 * their targets at the end of the run; the others print their own as they finish. Results are
 * written to bench/results/.
 */
import * as path from "node:path";
import { writeCharts } from "./framework/charts.js";
import { compileBench, type CompiledBench } from "./framework/compile.js";
import { countsOf, parseOptions } from "./framework/options.js";
import { cleanUpOnExit, killAllChildren } from "./framework/processes.js";
import { formatLoad, machine } from "./framework/report.js";
import { reportClientFigures } from "./scenarios/client/clientReport.js";
import { scenarios } from "./scenarios/index.js";
import type { RunContext } from "./scenarios/scenario.js";

/**
 * Compiles src/ and the child programs once, on first use.
 * @param bundle - bundle our client's entry point (not for CPU profiles, which name our files)
 * @returns what gives the compiled programs
 */
function compileOnce(bundle: boolean): () => CompiledBench {
  let compiled: CompiledBench | undefined;
  return () => {
    if (compiled === undefined) {
      process.stdout.write("Compiling src/ and the benchmark's child programs ...\n");
      compiled = compileBench({ bundle });
      cleanUpOnExit(compiled);
    }
    return compiled;
  };
}

function printWritten(files: string[]): void {
  for (const file of files) process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
}

async function main(): Promise<void> {
  const options = parseOptions(scenarios);
  if (options.charts && !options.scenarioGiven) {
    // Charts of the newest results, without a run.
    printWritten(writeCharts());
    return;
  }
  const started = Date.now();
  const info = machine();
  process.stdout.write(
    `Node ${info.node}, ${info.cpus} CPUs (${info.cpuModel}), ${info.totalMemoryGb} GB, ` +
      `load ${(info.loadAverage as number[]).join(" ")}; transport ${options.https ? "https" : "http"}` +
      `${options.quick ? "; --quick" : ""}; scenarios ${options.chosen.join(", ")}\n`,
  );
  const context: RunContext = {
    options,
    machine: info,
    // A profile run profiles the operations chosen with it; it runs alone.
    compiled: compileOnce(!options.chosen.includes("profile")),
    clientFigures: { operations: [], coldStarts: [] },
  };
  const chosen = options.chosen.includes("profile")
    ? scenarios.filter((scenario) => scenario.name === "profile")
    : scenarios.filter((scenario) => options.chosen.includes(scenario.name));
  // Every count checked before the first scenario runs.
  const counts = chosen.map((scenario) => countsOf(options, scenario.counts ?? {}));
  for (const [i, scenario] of chosen.entries()) await scenario.run(context, counts[i]!);
  const { operations, coldStarts } = context.clientFigures;
  if (operations.length > 0 || coldStarts.length > 0) reportClientFigures(context);
  process.stdout.write(
    `\nDone in ${Math.round((Date.now() - started) / 1000)} s; load ${formatLoad()}.\n`,
  );
}

main().catch((error: unknown) => {
  // Bad flags (TypeError, RangeError) are said in a line; anything else with its stack.
  const badInput = error instanceof TypeError || error instanceof RangeError;
  const text =
    error instanceof Error
      ? badInput
        ? `${error.message}\nnpm run bench -- --help lists every scenario and flag.`
        : error.stack
      : String(error);
  process.stderr.write(`bench failed: ${text}\n`);
  killAllChildren();
  process.exitCode = 1;
});
