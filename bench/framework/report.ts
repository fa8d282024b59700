/** Printing and saving results: tables, targets, the machine's description, result files. */
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, freemem, loadavg, totalmem } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

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

/** bench/results/ (git-ignored), where every scenario writes its JSON. */
export const resultsDir = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "..",
  "results",
);

/**
 * Writes a scenario's results to bench/results/.
 * @param file - the file's name, e.g. `secretCache.json`
 * @param results - what to write, as JSON
 * @returns the file's path
 */
export function writeResults(file: string, results: object): string {
  mkdirSync(resultsDir, { recursive: true });
  const written = path.join(resultsDir, file);
  writeFileSync(written, JSON.stringify(results, null, 2) + "\n");
  return written;
}

/** A time stamp for file names. */
export function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, "-");
}

/**
 * The load average, as printed.
 * @param averages - default: now
 * @returns e.g. `1.02 0.98 0.87`
 */
export function formatLoad(averages: number[] = loadavg()): string {
  return averages.map((average) => average.toFixed(2)).join(" ");
}

/** One target's outcome in a run. */
export interface Target {
  name: string;
  value: string;
  limit: string;
  met: boolean | undefined;
  /** A figure shown beside a target, not judged. */
  reportedOnly?: boolean;
}

/**
 * The targets as a table.
 * @param outcomes - the targets, judged
 * @returns the table
 */
export function targetTable(outcomes: Target[]): string {
  return table(
    ["target", "value", "limit", "met"],
    outcomes.map((t) => [
      t.name,
      t.value,
      t.limit,
      t.reportedOnly ? "-" : t.met === undefined ? "?" : t.met ? "yes" : "NO",
    ]),
  );
}
