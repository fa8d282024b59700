/**
 * SVG charts of the benchmark's JSON output: ours, the official client and raw node:http side by
 * side. Hand-written SVG (grouped bars), no dependency.
 *
 *   npm run bench -- --charts                 # from the newest bench/results/*.json
 *
 * Writes getsecret-cpu.svg, getsecret-throughput.svg, cold-start.svg and secretcache.svg to
 * bench/charts/ (committed, shown in the README's performance section).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { resultsDir } from "./report.js";

const chartsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "charts");
const colors = ["#2f6fbf", "#d9822b", "#7a7a7a", "#3a9d5d"];

/** One group of bars: a label and one value per series. */
export interface BarGroup {
  label: string;
  values: Array<number | undefined>;
}

/** A grouped bar chart. */
export interface BarChart {
  title: string;
  unit: string;
  series: string[];
  groups: BarGroup[];
  /** A dashed reference line per group (e.g. a floor), drawn across the group. */
  references?: Array<number | undefined>;
  referenceLabel?: string;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function formatValue(value: number): string {
  if (value >= 10_000) return `${Math.round(value / 100) / 10}k`;
  if (value >= 100) return String(Math.round(value));
  return String(Math.round(value * 10) / 10);
}

/** A "nice" axis maximum: 1, 2 or 5 times a power of ten, at least `max`. */
function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const power = Math.pow(10, Math.floor(Math.log10(max)));
  for (const step of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10])
    if (step * power >= max) return step * power;
  return 10 * power;
}

/**
 * Renders a grouped bar chart as SVG.
 *
 * @param chart - title, unit, series names and groups
 * @returns the SVG document
 */
export function renderBarChart(chart: BarChart): string {
  const width = 760;
  const height = 360;
  const margin = { top: 48, right: 16, bottom: 64, left: 64 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const all = chart.groups.flatMap((g) => g.values.filter((v): v is number => v !== undefined));
  const refs = (chart.references ?? []).filter((v): v is number => v !== undefined);
  const top = niceMax(Math.max(0, ...all, ...refs));
  const y = (value: number): number => margin.top + plotHeight - (value / top) * plotHeight;
  const groupWidth = plotWidth / Math.max(1, chart.groups.length);
  const barWidth = (groupWidth * 0.8) / Math.max(1, chart.series.length);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="15" font-weight="600">${escapeXml(chart.title)}</text>`,
  );
  // Axis and grid.
  for (let i = 0; i <= 4; i++) {
    const value = (top * i) / 4;
    const at = y(value);
    parts.push(
      `<line x1="${margin.left}" x2="${width - margin.right}" y1="${at}" y2="${at}" stroke="#e3e3e3"/>`,
      `<text x="${margin.left - 6}" y="${at + 4}" text-anchor="end" fill="#555">${formatValue(value)}</text>`,
    );
  }
  parts.push(
    `<text x="16" y="${margin.top + plotHeight / 2}" transform="rotate(-90 16 ${margin.top + plotHeight / 2})" text-anchor="middle" fill="#555">${escapeXml(chart.unit)}</text>`,
  );
  chart.groups.forEach((group, g) => {
    const start = margin.left + g * groupWidth + groupWidth * 0.1;
    group.values.forEach((value, s) => {
      if (value === undefined) return;
      const x = start + s * barWidth;
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${y(value).toFixed(1)}" width="${(barWidth - 2).toFixed(1)}" height="${(margin.top + plotHeight - y(value)).toFixed(1)}" fill="${colors[s % colors.length]}"><title>${escapeXml(`${chart.series[s]}: ${formatValue(value)} ${chart.unit}`)}</title></rect>`,
        `<text x="${(x + barWidth / 2 - 1).toFixed(1)}" y="${(y(value) - 4).toFixed(1)}" text-anchor="middle" font-size="10" fill="#333">${formatValue(value)}</text>`,
      );
    });
    const reference = chart.references?.[g];
    if (reference !== undefined) {
      const at = y(reference).toFixed(1);
      parts.push(
        `<line x1="${start - 4}" x2="${start + groupWidth * 0.8 + 4}" y1="${at}" y2="${at}" stroke="#c0392b" stroke-width="2" stroke-dasharray="6 4"/>`,
      );
    }
    parts.push(
      `<text x="${margin.left + g * groupWidth + groupWidth / 2}" y="${margin.top + plotHeight + 18}" text-anchor="middle">${escapeXml(group.label)}</text>`,
    );
  });
  parts.push(
    `<line x1="${margin.left}" x2="${width - margin.right}" y1="${margin.top + plotHeight}" y2="${margin.top + plotHeight}" stroke="#333"/>`,
  );
  // Legend.
  const legend = [...chart.series];
  if (chart.references?.some((r) => r !== undefined)) legend.push(chart.referenceLabel ?? "floor");
  let x = margin.left;
  legend.forEach((name, i) => {
    const at = height - 18;
    const isReference = i >= chart.series.length;
    parts.push(
      isReference
        ? `<line x1="${x}" x2="${x + 14}" y1="${at - 4}" y2="${at - 4}" stroke="#c0392b" stroke-width="2" stroke-dasharray="4 3"/>`
        : `<rect x="${x}" y="${at - 10}" width="12" height="12" fill="${colors[i % colors.length]}"/>`,
      `<text x="${x + 18}" y="${at}">${escapeXml(name)}</text>`,
    );
    x += 36 + name.length * 6.5;
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

interface ContenderFigures {
  opsPerSecond: number;
  cpuUsPerOp: number;
}
interface BenchJson {
  results: Array<{
    server: string;
    scenario: string;
    concurrency: number;
    contenders: Record<"ours" | "official" | "raw", ContenderFigures>;
  }>;
  coldStart: Array<{
    server: string;
    contenders: Record<
      "ours" | "official" | "raw",
      { medianImportToFirstGetMs: number; medianImportMs?: number }
    >;
  }>;
}
interface CacheJson {
  rows: Array<{ scenario: string; loader: string; medianMs: number; floorMs: number }>;
}

const contenders = ["ours", "official", "raw"] as const;
const contenderLabels = ["keyvault-secrets", "@azure/keyvault-secrets", "raw node:http"];

/**
 * The charts of one benchmark run (and, if given, one SecretCache run).
 *
 * @param bench - the bench JSON
 * @param cache - the SecretCache JSON, if any
 * @returns file name to SVG
 */
export function chartsOf(
  bench: BenchJson | undefined,
  cache: CacheJson | undefined,
): Map<string, string> {
  const files = new Map<string, string>();
  const gets = (bench?.results ?? []).filter((r) => r.server === "fixed" && r.scenario === "get");
  if (gets.length > 0) {
    files.set(
      "getsecret-cpu.svg",
      renderBarChart({
        title: "getSecret: client CPU per operation (lower is better)",
        unit: "µs CPU per op",
        series: contenderLabels,
        groups: gets.map((r) => ({
          label: `concurrency ${r.concurrency}`,
          values: contenders.map((c) => r.contenders[c].cpuUsPerOp),
        })),
      }),
    );
    files.set(
      "getsecret-throughput.svg",
      renderBarChart({
        title: "getSecret: throughput (higher is better)",
        unit: "operations per second",
        series: contenderLabels,
        groups: gets.map((r) => ({
          label: `concurrency ${r.concurrency}`,
          values: contenders.map((c) => r.contenders[c].opsPerSecond),
        })),
      }),
    );
  }
  const cold = (bench?.coldStart ?? []).find((c) => c.server === "fixed");
  if (cold !== undefined) {
    const groups: BarGroup[] = [
      {
        label: "import + construct + first get",
        values: contenders.map((c) => cold.contenders[c].medianImportToFirstGetMs),
      },
    ];
    if (cold.contenders.ours.medianImportMs !== undefined) {
      groups.push({
        label: "import alone",
        values: contenders.map((c) => cold.contenders[c].medianImportMs),
      });
    }
    files.set(
      "cold-start.svg",
      renderBarChart({
        title: "Cold start, fresh process (lower is better)",
        unit: "milliseconds (median)",
        series: contenderLabels,
        groups,
      }),
    );
  }
  if (cache !== undefined && cache.rows.length > 0) {
    const loaders = [
      "SecretCache",
      "naive Promise.all (this client)",
      "naive Promise.all (official)",
    ];
    const scenarios = [...new Set(cache.rows.map((r) => r.scenario))];
    files.set(
      "secretcache.svg",
      renderBarChart({
        title: "Loading 1,000 secrets (lower is better)",
        unit: "milliseconds",
        series: ["SecretCache", "naive Promise.all, ours", "naive Promise.all, official"],
        groups: scenarios.map((scenario) => ({
          label: scenario
            .replace("one instance, ", "")
            .replace("throttle, ", "")
            .replace(" instances", " inst."),
          values: loaders.map(
            (loader) =>
              cache.rows.find((r) => r.scenario === scenario && r.loader === loader)?.medianMs,
          ),
        })),
        references: scenarios.map((s) => cache.rows.find((r) => r.scenario === s)?.floorMs),
        referenceLabel: "floor",
      }),
    );
  }
  return files;
}

function newest(dir: string, prefix: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  const candidates = readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && f.endsWith(".json"))
    .map((f) => path.join(dir, f));
  candidates.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  return candidates[0];
}

/**
 * Writes the charts of the newest (or the given) results to bench/charts/: the client's from a
 * bench-*.json, SecretCache's from the newest secretCache.json.
 *
 * @param benchFile - a bench-*.json (default: the newest in bench/results)
 * @returns the files written
 */
export function writeCharts(benchFile?: string): string[] {
  const benchPath = benchFile ?? newest(resultsDir, "bench-");
  const cachePath = newest(resultsDir, "secretCache");
  const bench = benchPath ? (JSON.parse(readFileSync(benchPath, "utf8")) as BenchJson) : undefined;
  const cache = cachePath ? (JSON.parse(readFileSync(cachePath, "utf8")) as CacheJson) : undefined;
  if (bench === undefined && cache === undefined) {
    throw new Error("No benchmark results in bench/results: run npm run bench first.");
  }
  mkdirSync(chartsDir, { recursive: true });
  const written: string[] = [];
  for (const [name, svg] of chartsOf(bench, cache)) {
    const file = path.join(chartsDir, name);
    writeFileSync(file, svg);
    written.push(file);
  }
  return written;
}
