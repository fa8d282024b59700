/** Printing and saving results: tables, the machine's description, result files. */
import { mkdirSync } from "node:fs";
import { availableParallelism, cpus, freemem, loadavg, totalmem } from "node:os";
import * as path from "node:path";
import type { CompiledBench } from "./compile.js";
import type { ColdResult, ScenarioResult } from "./measure.js";

export function formatNumber(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return "-";
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

export function ratio(a: number, b: number): number {
  return b === 0 || !Number.isFinite(a) || !Number.isFinite(b) ? NaN : a / b;
}

export function formatRatio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}x` : "-";
}

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

export function scenarioTable(results: ScenarioResult[]): string {
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

/**
 * The least cold start of a client on `@azure/core-rest-pipeline`: core's import plus the raw
 * loop's first get (connection and round trip), each in a fresh process.
 */
export function coldFloorMs(result: ColdResult): number {
  return result.medianPipelineImportMs + result.contenders.raw.medianImportToFirstGetMs;
}

export function coldTable(results: ColdResult[]): string {
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

export function machine(): Record<string, unknown> {
  return {
    node: process.version,
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? "unknown",
    totalMemoryGb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    freeMemoryGb: Math.round((freemem() / 1024 ** 3) * 10) / 10,
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
    platform: `${process.platform} ${process.arch}`,
  };
}

export function resultsDir(compiled: CompiledBench): string {
  const dir = path.join(compiled.repoRoot, "bench", "results");
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, "-");
}
