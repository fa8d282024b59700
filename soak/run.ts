/**
 * The long reliability runs (not part of npm test):
 *   - the fault mix: every fault class in turn for a fixed time;
 *   - hostile inputs: generated answers, in memory and over real HTTP;
 *   - load: 16 clients × 10,000 mixed operations on the local vault;
 *   - crashes: a vault process killed with SIGKILL mid-write, 10 times, restarted on its directory;
 *   - logs: verbose logging scanned for secrets throughout, plus a sample run with AZURE_LOG_LEVEL.
 * Prints the figures as tables and exits non-zero when a figure that must be 0 is not.
 *
 *   node --import tsx soak/run.ts            # the full run, about 5 minutes at most
 *   node --import tsx soak/run.ts --quick    # a one-minute version of the same
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { format } from "node:util";
import { AzureLogger, setLogLevel } from "@azure/logger";
import fc from "fast-check";
import { startLocalVault } from "../src/emulator/index.js";
import { runCrashRounds } from "../test/reliability/crashScenario.js";
import {
  planArbitrary,
  runHostileCaseInMemory,
  runHostileCaseOverHttp,
  type HostileOutcome,
} from "../test/reliability/hostileInputs.js";
import { runLoad } from "../test/reliability/loadScenario.js";
import {
  json,
  leaksIn,
  rssMiB,
  runScript,
  startScriptedServer,
} from "../test/reliability/reliabilityKit.js";
import { runFaultMix } from "./faultMix.js";

const quick = process.argv.includes("--quick");
const settings = quick
  ? {
      faultMixMs: 10_000,
      hostileInMemory: 2_000,
      hostileOverHttp: 100,
      loadOps: 1_000,
      crashRounds: 3,
    }
  : {
      faultMixMs: 40_000,
      hostileInMemory: 20_000,
      hostileOverHttp: 400,
      loadOps: 10_000,
      crashRounds: 10,
    };
const startedAt = Date.now();
/** The whole run stops by this time, whatever is left. */
const hardDeadline = startedAt + (quick ? 90_000 : 300_000);

function table(title: string, header: string[], rows: Array<Array<string | number>>): void {
  const cells = [header, ...rows.map((row) => row.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    `| ${row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(" | ")} |`;
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(
    `|${widths.map((w, i) => (i === 0 ? `:${"-".repeat(w + 1)}` : `${"-".repeat(w + 1)}:`)).join("|")}|`,
  );
  for (const row of cells.slice(1)) console.log(line(row));
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

async function main(): Promise<number> {
  const rssAtStart = rssMiB();
  const mustBeZero: Array<[string, number]> = [];

  // Every log line of the fault mix and the hostile inputs is scanned as it is written.
  let logLines = 0;
  let leakingLines = 0;
  const logSecrets: string[] = [];
  const leakSamples: string[] = [];
  setLogLevel("verbose");
  AzureLogger.log = (...args: unknown[]) => {
    logLines++;
    const line = format(...args);
    const found = leaksIn(line, logSecrets);
    if (found.length === 0) return;
    leakingLines++;
    if (leakSamples.length < 5) leakSamples.push(`${found.join(", ")} in: ${line.slice(0, 200)}`);
  };

  // 1. Fault mix.
  const vault = await startLocalVault({ delayMs: 0 });
  let phase = Date.now();
  const mix = await runFaultMix(vault, Math.min(settings.faultMixMs, hardDeadline - Date.now()));
  logSecrets.push(mix.secrets.credential.token, ...mix.secrets.values);
  const faultRows = [...mix.figures].map(([name, f]) => [
    name,
    f.injected,
    f.recovered,
    f.cleanError,
    f.wrong,
    f.example?.slice(0, 90) ?? "",
  ]);
  table(
    `Fault classes (${seconds(Date.now() - phase)})`,
    ["fault class", "injected", "recovered", "clean error", "wrong", "first wrong outcome"],
    faultRows,
  );
  const faultClassesSurvived = [...mix.figures.values()].filter((f) => f.wrong === 0).length;

  // 2. Hostile inputs.
  phase = Date.now();
  const outcomes: HostileOutcome[] = [];
  const violationKinds = new Map<string, number>();
  const record = (outcome: HostileOutcome) => {
    outcomes.push(outcome);
    for (const v of outcome.violations) {
      const kind = v.replace(/"[^"]*"|\d+/g, "…").slice(0, 100);
      violationKinds.set(kind, (violationKinds.get(kind) ?? 0) + 1);
    }
  };
  const seed = Number(process.env["RELIABILITY_SEED"] ?? Date.now() % 1_000_000);
  const plans = fc.sample(planArbitrary, { numRuns: settings.hostileInMemory, seed });
  for (const [i, plan] of plans.entries()) {
    if (Date.now() > hardDeadline - 200_000 && !quick) break;
    record(await runHostileCaseInMemory(plan, i));
  }
  const inMemory = outcomes.length;
  const foreign = await startScriptedServer(() => json(200, { value: [] }), { challenge: null });
  const httpPlans = fc.sample(planArbitrary, { numRuns: settings.hostileOverHttp, seed: seed + 1 });
  for (const plan of httpPlans) {
    if (Date.now() > hardDeadline - 180_000 && !quick) break;
    record(await runHostileCaseOverHttp(plan, foreign.url));
  }
  const foreignServerRequests = foreign.requests.length;
  await foreign.close();
  const crashes = outcomes.filter((o) => o.violations.length > 0).length;
  const foreignTokens =
    outcomes.reduce((sum, o) => sum + o.foreignTokens, 0) +
    foreign.requests.filter((r) => r.authorization !== undefined).length;
  table(
    `Hostile inputs (seed ${seed}, ${seconds(Date.now() - phase)})`,
    ["figure", "value"],
    [
      ["cases in memory (fake HttpClient)", inMemory],
      ["cases over real HTTP", outcomes.length - inMemory],
      ["requests answered with hostile input", outcomes.reduce((s, o) => s + o.requests, 0)],
      ["cases with a violation (crash, leak, foreign request)", crashes],
      ["tokens sent to a foreign host", foreignTokens],
      ["requests received by the foreign server", foreignServerRequests],
      ...[...violationKinds].map(([kind, n]): [string, number] => [`  violation: ${kind}`, n]),
    ],
  );

  // 3. Logs: stop capturing, and run a sample with AZURE_LOG_LEVEL=verbose in a child.
  setLogLevel(undefined);
  const sample = await runScript("samples/helloWorld.ts", [], { AZURE_LOG_LEVEL: "verbose" });
  const sampleLeaks = leaksIn(`${sample.stdout}\n${sample.stderr}`, ["my-database-password"]);
  const secretsInLogs = leakingLines + sampleLeaks.length;
  table(
    "Secrets in logs",
    ["figure", "value"],
    [
      ["log lines scanned (fault mix, hostile inputs)", logLines],
      ["sample run with AZURE_LOG_LEVEL=verbose: exit code", String(sample.code)],
      ["sample output lines scanned", `${sample.stdout}\n${sample.stderr}`.split("\n").length],
      ["secrets found in logs", secretsInLogs],
      ...leakSamples.map((l): [string, string] => ["  leak", l]),
    ],
  );

  // 4. Load.
  phase = Date.now();
  const rssBeforeLoad = rssMiB();
  const load = await runLoad(vault, 16, settings.loadOps, 7, hardDeadline - 60_000);
  await vault.close();
  table(
    `Load: 16 clients × ${settings.loadOps} operations (${seconds(Date.now() - phase)})`,
    ["figure", "value"],
    [
      ["operations done", load.operations],
      ...Object.entries(load.byKind).map(([k, n]): [string, number] => [`  ${k}`, n]),
      ["operations per second", Math.round(load.operations / (load.elapsedMs / 1000))],
      ["failed operations", load.failures],
      ["lost versions (acknowledged, not listed)", load.lostVersions],
      ["phantom versions (listed, never acknowledged)", load.phantomVersions],
      ["stale reads of a client's own write", load.staleReads],
      ["5xx answers", load.serverErrors],
      ["RSS before / after (MiB)", `${rssBeforeLoad} / ${load.rssAfterMiB}`],
    ],
  );

  // 5. Crashes.
  phase = Date.now();
  const location = await mkdtemp(join(tmpdir(), "kv-soak-crash-"));
  let crash;
  try {
    crash = await runCrashRounds(location, settings.crashRounds, 300);
  } finally {
    await rm(location, { recursive: true, force: true });
  }
  table(
    `Crash loop: ${crash.rounds} × SIGKILL mid-write (${seconds(Date.now() - phase)})`,
    ["figure", "value"],
    [
      ["acknowledged writes", crash.acknowledged],
      ["writes in flight at the kills", crash.inFlightAtKill],
      ["in-flight writes found durable after restart", crash.presentUnacknowledged],
      ["lost acknowledged writes", crash.lost],
      ["half-written / foreign versions", crash.malformed],
      ["unexpected write failures", crash.unexpectedFailures.length],
      [
        "vault start time, min / max",
        `${Math.min(...crash.startMs)} / ${Math.max(...crash.startMs)} ms`,
      ],
    ],
  );

  mustBeZero.push(
    ["fault classes with a wrong outcome", mix.figures.size - faultClassesSurvived],
    ["hostile cases with a violation", crashes],
    ["tokens sent to a foreign host", foreignTokens],
    ["secrets found in logs", secretsInLogs],
    ["failed operations under load", load.failures],
    ["lost writes under load", load.lostVersions + load.phantomVersions],
    ["5xx under load", load.serverErrors],
    ["lost writes across crashes", crash.lost + crash.malformed],
  );
  table(
    `Summary (${seconds(Date.now() - startedAt)}, RSS ${rssAtStart} → ${rssMiB()} MiB)`,
    ["figure (must be 0)", "value"],
    [
      [`fault classes injected / survived`, `${mix.figures.size} / ${faultClassesSurvived}`],
      [`hostile inputs tried`, outcomes.length],
      [`operations under load`, load.operations],
      ...mustBeZero,
    ],
  );
  return mustBeZero.some(([, n]) => n !== 0) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
