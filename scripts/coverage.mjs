// Runs the two mocha runs of `npm test` (unit with nock, real sockets without), each under c8 with
// its own report, then merges the two reports and checks the thresholds of .c8rc.json.
//
// Why not one c8 around both: c8 merges the raw V8 coverage of every process by script before
// mapping it to the TypeScript source, and with the local vault's child processes in the socket
// run that merge loses the unit run's counts for shared files. Merging the mapped (istanbul)
// reports adds them up correctly.
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";

const runs = ["test:unit", "test:sockets"];
const reportRoot = "coverage";
const thresholds = ["lines", "statements", "functions", "branches"];

// c8's own reporting libraries, resolved from c8 so that hoisting does not matter.
const requireFromC8 = createRequire(createRequire(import.meta.url).resolve("c8/package.json"));
const libCoverage = requireFromC8("istanbul-lib-coverage");
const libReport = requireFromC8("istanbul-lib-report");
const reports = requireFromC8("istanbul-reports");

rmSync(reportRoot, { recursive: true, force: true });
for (const run of runs) {
  const dir = `${reportRoot}/${run.replace(":", "-")}`;
  const result = spawnSync(
    process.execPath,
    [
      "node_modules/c8/bin/c8.js",
      "--reporter=json",
      `--report-dir=${dir}`,
      `--temp-directory=${dir}/tmp`,
      "npm",
      "run",
      run,
    ],
    { stdio: "inherit" },
  );
  if (result.status !== 0) {
    console.error(`npm run ${run} failed (exit ${result.status ?? result.signal}).`);
    process.exit(result.status ?? 1);
  }
}

const map = libCoverage.createCoverageMap({});
for (const run of runs) {
  const dir = `${reportRoot}/${run.replace(":", "-")}`;
  map.merge(JSON.parse(readFileSync(`${dir}/coverage-final.json`, "utf8")));
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
