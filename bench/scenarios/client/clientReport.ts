/**
 * The client scenarios' report, printed once after a run: the operation scenarios' table, the cold
 * starts' table, the targets (targets.ts) judged on them, and bench/results/bench-*.json, which
 * `--charts` draws.
 */
import { loadavg } from "node:os";
import * as path from "node:path";
import { writeCharts } from "../../framework/charts.js";
import {
  formatNumber,
  formatRatio,
  ratio,
  stamp,
  table,
  targetTable,
  writeResults,
} from "../../framework/report.js";
import type { RunContext } from "../scenario.js";
import { coldFloorMs, type ColdResult } from "./coldStart.js";
import { operations, settingsOf, type OperationResult } from "./operations.js";
import { judgeTargets } from "./targets.js";

/** What the client scenarios measured in a run. */
export interface ClientFigures {
  operations: OperationResult[];
  coldStarts: ColdResult[];
}

/** Fixed server first, then the vault; scenarios in run order. */
function inTableOrder(results: OperationResult[]): OperationResult[] {
  const rank = (result: OperationResult): number =>
    (result.server === "fixed" ? 0 : 100) +
    10 * operations.findIndex((operation) => operation.name === result.scenario) +
    result.concurrency / 100;
  return [...results].sort((a, b) => rank(a) - rank(b));
}

/**
 * The operation scenarios' table: fixed server first, scenarios in run order.
 * @param results - every operation result of the run
 * @returns the table
 */
function operationTable(results: OperationResult[]): string {
  const header = [
    "server",
    "scenario",
    "conc",
    "ops/s ours",
    "official",
    "raw",
    "CPU µs/op ours",
    "official",
    "raw",
    "peak RSS MB ours",
    "official",
    "raw",
    "ops/s ours/off",
    "ours/raw",
    "CPU ours/off",
    "ours/raw",
  ];
  const rows = results.map((r) => {
    const { ours, official, raw } = r.contenders;
    return [
      r.server,
      r.label,
      String(r.concurrency),
      formatNumber(ours.opsPerSecond, r.items > 0 ? 1 : 0),
      formatNumber(official.opsPerSecond, r.items > 0 ? 1 : 0),
      formatNumber(raw.opsPerSecond, r.items > 0 ? 1 : 0),
      formatNumber(ours.cpuUsPerOp),
      formatNumber(official.cpuUsPerOp),
      formatNumber(raw.cpuUsPerOp),
      formatNumber(ours.peakRssMb, 1),
      formatNumber(official.peakRssMb, 1),
      formatNumber(raw.peakRssMb, 1),
      formatRatio(ratio(ours.opsPerSecond, official.opsPerSecond)),
      formatRatio(ratio(ours.opsPerSecond, raw.opsPerSecond)),
      formatRatio(ratio(ours.cpuUsPerOp, official.cpuUsPerOp)),
      formatRatio(ratio(ours.cpuUsPerOp, raw.cpuUsPerOp)),
    ];
  });
  return table(header, rows);
}

function coldTable(results: ColdResult[]): string {
  const header = [
    "server",
    "cold start",
    "runs",
    "ours ms",
    "official ms",
    "raw ms",
    "ours/official",
    "ours/raw",
    "process->first get: ours",
    "official",
    "raw",
    "import alone: ours ms",
    "official ms",
    "ours/official",
    "floor on core ms",
    "floor/official",
  ];
  const rows = results.map((r) => {
    const { ours, official, raw } = r.contenders;
    return [
      r.server,
      "import+construct+first get (median)",
      String(r.runs),
      formatNumber(ours.medianImportToFirstGetMs, 1),
      formatNumber(official.medianImportToFirstGetMs, 1),
      formatNumber(raw.medianImportToFirstGetMs, 1),
      formatRatio(ratio(ours.medianImportToFirstGetMs, official.medianImportToFirstGetMs)),
      formatRatio(ratio(ours.medianImportToFirstGetMs, raw.medianImportToFirstGetMs)),
      formatNumber(ours.medianProcessToFirstGetMs, 1),
      formatNumber(official.medianProcessToFirstGetMs, 1),
      formatNumber(raw.medianProcessToFirstGetMs, 1),
      formatNumber(ours.medianImportMs, 1),
      formatNumber(official.medianImportMs, 1),
      formatRatio(ratio(ours.medianImportMs, official.medianImportMs)),
      formatNumber(coldFloorMs(r), 1),
      formatRatio(ratio(coldFloorMs(r), official.medianImportToFirstGetMs)),
    ];
  });
  return table(header, rows);
}

/**
 * Prints the client scenarios' tables and targets, and writes their results (and charts, when
 * asked for).
 * @param context - the run, with its client figures
 */
export function reportClientFigures(context: RunContext): void {
  const { operations: results, coldStarts } = context.clientFigures;
  const targets = judgeTargets(results, coldStarts);
  const output = [
    "",
    results.length > 0 ? operationTable(inTableOrder(results)) : "",
    coldStarts.length > 0 ? "\n" + coldTable(coldStarts) : "",
    targets.length > 0
      ? "\nTargets (fixed server; ratios from this run):\n" + targetTable(targets)
      : "",
  ].join("\n");
  process.stdout.write(output + "\n");
  const file = writeResults(`bench-${stamp()}.json`, {
    machine: { ...context.machine, loadAverageAtEnd: loadavg() },
    settings: {
      ...settingsOf(context),
      quick: context.options.quick,
      https: context.options.https,
    },
    results,
    coldStart: coldStarts,
    targets,
  });
  process.stdout.write(`Results written to ${path.relative(process.cwd(), file)}\n`);
  if (context.options.charts) {
    for (const written of writeCharts(file)) {
      process.stdout.write(`wrote ${path.relative(process.cwd(), written)}\n`);
    }
  }
}
