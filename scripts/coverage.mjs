// Runs the two mocha runs of `npm test` (unit with nock, real sockets without) with V8 coverage,
// each into its own directory, has c8 map each run's coverage to the TypeScript sources, merges
// the two reports and checks the thresholds of .c8rc.json.
//
// Why not one c8 around both: c8 merges the raw V8 coverage of every process by script before
// mapping it to the TypeScript source, and with the local vault's child processes in the socket
// run that merge loses the unit run's counts for shared files. Merging the mapped (istanbul)
// reports adds them up correctly.
//
// Why the raw coverage is rewritten before c8 reads it: child processes run bundles (dist/ and
// the compiled test children), whose source maps name many sources each, relative to the map
// (`../../../src/inject/cli.ts`). v8-to-istanbul checks such a name against c8's include and
// exclude before resolving it, finds it outside the project, and drops every range of the bundle:
// src/inject/cli.ts, run only by children, came back with all 280 lines covered and no branch or
// function data. Named by absolute path, each range is mapped to its source and counted.
// Scripts that are not ours (node_modules, Node.js itself) are left out on the way, and so is a
// second compilation of a file in one process (tsx loads a few both as CommonJS and as ESM):
// c8 would merge the two as one text and map them with the source map of one of them.
//
// Why functions and branches on line 1 are dropped: the unit and socket runs load the sources as
// CommonJS through tsx, whose esbuild wrappers (`__export`, `__toCommonJS`, the export getters)
// have no source mapping and land on line 1, as covered functions and branches of every file. No
// source declares a function on its first line (a file that did would keep them).
//
// Why functions are keyed by their lines: the two reports are merged by location, and one
// function comes back from its CommonJS compilation (the test runs) and its ESM one (dist/, the
// compiled children) at different columns (after `export ` or at it, with or without the `;`):
// two entries, the one the other run never called counted as missed. Keyed by first and last
// line, they are one (two functions that start and end on the same lines count as one).
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const runs = ["test:unit", "test:sockets"];
const reportRoot = resolve("coverage");
const thresholds = ["lines", "statements", "functions", "branches"];

// c8's own reporting libraries, resolved from c8 so that hoisting does not matter.
const requireFromC8 = createRequire(createRequire(import.meta.url).resolve("c8/package.json"));
const libCoverage = requireFromC8("istanbul-lib-coverage");
const libReport = requireFromC8("istanbul-lib-report");
const reports = requireFromC8("istanbul-reports");

/**
 * Whether a script belongs to the project (its sources, dist/, compiled test children), not to a
 * dependency or to Node.js.
 * @param {string} url - the script's URL
 * @param {string} root - the project's directory
 */
function isOurs(url, root) {
  const prefix = pathToFileURL(root).href + "/";
  return url.startsWith(prefix) && !url.slice(prefix.length).split("/").includes("node_modules");
}

/**
 * A source map with its sources named by absolute path.
 * @param {string} scriptUrl - the URL of the script the map belongs to
 * @param {{ sources: string[], sourceRoot?: string }} map - the map (its names are relative to the
 *   script's directory and `sourceRoot`)
 */
export function withAbsoluteSources(scriptUrl, map) {
  const base = resolve(dirname(fileURLToPath(scriptUrl)), map.sourceRoot ?? "");
  const sources = map.sources.map((source) =>
    source.startsWith("file:") ? fileURLToPath(source) : resolve(base, source),
  );
  const { sourceRoot: _resolved, ...rest } = map;
  return { ...rest, sources };
}

/**
 * Whether a script is the compilation its URL's source map belongs to: Node.js keeps one map per
 * URL, with the line lengths of the text it maps.
 * @param {{ functions?: Array<{ ranges: Array<{ endOffset: number }> }> }} script - a script's coverage
 * @param {{ lineLengths?: number[] } | undefined} cached - the URL's source-map-cache entry
 */
function isMappedCompilation(script, cached) {
  const lineLengths = cached?.lineLengths;
  if (!Array.isArray(lineLengths)) return false;
  const length = lineLengths.reduce((sum, line) => sum + line + 1, 0) - 1;
  return script.functions?.[0]?.ranges[0]?.endOffset === length;
}

/**
 * Keeps only the project's scripts in one raw V8 coverage file (as Node.js writes them under
 * NODE_V8_COVERAGE), with their source maps' sources named by absolute path.
 * @param {{ result: Array<{ url: string }>, "source-map-cache"?: Record<string, { data?: any }> }} raw
 * @param {string} root - the project's directory
 */
export function ourCoverage(raw, root = resolve(".")) {
  const cached = raw["source-map-cache"] ?? {};
  const compilations = new Map();
  for (const { url } of raw.result) compilations.set(url, (compilations.get(url) ?? 0) + 1);
  const result = raw.result.filter(
    (script) =>
      isOurs(script.url, root) &&
      (compilations.get(script.url) === 1 || isMappedCompilation(script, cached[script.url])),
  );
  const cache = {};
  for (const { url } of result) {
    const entry = cached[url];
    if (entry === undefined) continue;
    const map = entry.data;
    cache[url] = Array.isArray(map?.sources)
      ? { ...entry, data: withAbsoluteSources(url, map) }
      : entry;
  }
  return { ...raw, result, "source-map-cache": cache };
}

/**
 * A file's coverage (istanbul JSON) without the functions and branches that lie on line 1 when
 * that line declares no function: esbuild's CommonJS wrappers, mapped nowhere else.
 * @param {{ fnMap: Record<string, any>, f: Record<string, number>, branchMap: Record<string, any>, b: Record<string, number[]> }} file
 * @param {string} firstLine - the first line of the source
 */
export function withoutWrappers(file, firstLine) {
  if (/\bfunction\b|=>/.test(firstLine)) return file;
  const onFirstLine = (loc) => loc.start.line === 1 && loc.end.line === 1;
  const keep = (map, hits, locOf) => {
    const kept = Object.keys(map).filter((key) => !onFirstLine(locOf(map[key])));
    return [
      Object.fromEntries(kept.map((key) => [key, map[key]])),
      Object.fromEntries(kept.map((key) => [key, hits[key]])),
    ];
  };
  const [fnMap, f] = keep(file.fnMap, file.f, (fn) => fn.loc);
  const [branchMap, b] = keep(file.branchMap, file.b, (branch) => branch.locations[0]);
  return { ...file, fnMap, f, branchMap, b };
}

/**
 * A file's coverage (istanbul JSON) with each function located by its lines only (columns 0), and
 * the functions that then share a location (compilations that placed one function at different
 * columns) made one, their calls added up.
 * @param {{ fnMap: Record<string, { loc: any, decl?: any }>, f: Record<string, number> }} file
 */
export function withFunctionsByLines(file) {
  const byLines = (loc) => ({
    start: { line: loc.start.line, column: 0 },
    end: { line: loc.end.line, column: 0 },
  });
  const merged = new Map();
  for (const [key, fn] of Object.entries(file.fnMap)) {
    const loc = byLines(fn.loc);
    const id = `${loc.start.line}:${loc.end.line}`;
    const seen = merged.get(id);
    if (seen === undefined) merged.set(id, { fn: { ...fn, loc, decl: loc }, hits: file.f[key] });
    else seen.hits += file.f[key];
  }
  const entries = [...merged.values()];
  return {
    ...file,
    fnMap: Object.fromEntries(entries.map(({ fn }, index) => [index, fn])),
    f: Object.fromEntries(entries.map(({ hits }, index) => [index, hits])),
  };
}

/** Runs `npm run <run>` with V8 coverage into `<dir>/raw`, then has c8 map it into `<dir>`. */
function measure(run, dir) {
  const raw = join(dir, "raw");
  mkdirSync(raw, { recursive: true });
  const tests = spawnSync("npm", ["run", run], {
    stdio: "inherit",
    env: { ...process.env, NODE_V8_COVERAGE: raw },
  });
  if (tests.status !== 0) {
    console.error(`npm run ${run} failed (exit ${tests.status ?? tests.signal}).`);
    process.exit(tests.status ?? 1);
  }
  for (const name of readdirSync(raw)) {
    const file = join(raw, name);
    writeFileSync(file, JSON.stringify(ourCoverage(JSON.parse(readFileSync(file, "utf8")))));
  }
  const report = spawnSync(
    process.execPath,
    [
      "node_modules/c8/bin/c8.js",
      "report",
      "--reporter=json",
      `--report-dir=${dir}`,
      `--temp-directory=${raw}`,
    ],
    { stdio: "inherit" },
  );
  if (report.status !== 0) process.exit(report.status ?? 1);
  rmSync(raw, { recursive: true, force: true });
}

function main() {
  rmSync(reportRoot, { recursive: true, force: true });
  const dirs = runs.map((run) => join(reportRoot, run.replace(":", "-")));
  runs.forEach((run, index) => measure(run, dirs[index]));

  const map = libCoverage.createCoverageMap({});
  for (const dir of dirs) {
    const files = JSON.parse(readFileSync(join(dir, "coverage-final.json"), "utf8"));
    for (const [path, file] of Object.entries(files)) {
      const firstLine = readFileSync(path, "utf8").split("\n", 1)[0];
      map.merge({ [path]: withFunctionsByLines(withoutWrappers(file, firstLine)) });
    }
  }
  const context = libReport.createContext({ dir: reportRoot, coverageMap: map });
  for (const name of ["text-summary", "html"]) reports.create(name).execute(context);

  const config = JSON.parse(readFileSync(".c8rc.json", "utf8"));
  const summary = map.getCoverageSummary();
  const misses = thresholds
    .filter((key) => typeof config[key] === "number" && summary[key].pct < config[key])
    .map((key) => `${key} ${summary[key].pct}% is below the threshold of ${config[key]}%`);
  if (misses.length > 0) {
    console.error(`Coverage too low: ${misses.join("; ")} (.c8rc.json).`);
    process.exit(1);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
