/**
 * SecretCache benchmark: load 1,000 secrets from the local vault under Key Vault's real throttle
 * (4,000 requests per 10 s window, 429 with Retry-After), and compare with the naive
 * "list, then Promise.all over getSecret" for this package's client and the official
 * `@azure/keyvault-secrets` client. A second round starts five instances at once, as a fleet
 * does on deploy, which is what trips the throttle.
 *
 *   node --import tsx bench/secretCache.ts [--secrets 1000] [--runs 3] [--fleet 5]
 *     [--throttle-runs 1] [--scenario one,latency,retryAfter,noRetryAfter] [--loaders cache]
 *
 * Scenarios: one instance (no fault), one instance with 20 ms added to every answer (the local
 * vault's latency fault, standing in for a network round trip), and the fleet under the throttle
 * with and without Retry-After (the real service sends none).
 *
 * Processes: this program only orchestrates. src/ and the two child programs are compiled with the
 * project's `tsc` (bench/compile.ts) and run as plain JavaScript under plain `node`: the local vault
 * in one child (bench/cacheVault.ts), every loader in another (bench/cacheLoader.ts), so the vault's
 * CPU never runs on the loaders' event loop (a real vault is on the network). Runs of the loaders
 * take turns (A B C A B C ...), so drift of a shared machine hits all alike, after one unmeasured
 * load per loader (warm code, whichever scenarios are chosen).
 *
 * Prints a table and writes bench/results/secretCache.json. Floors (bench/floors.ts) come from the
 * window model and the round trip measured in each scenario: the chain of list pages (pages x round
 * trip), or the throttle windows the requests need ((windows - 1) x 10 s + a round trip), whichever
 * is longer.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import type { LocalVaultFaultOptions } from "../src/emulator/index.js";
import { compileBench } from "./compile.js";
import { loadFloorMs } from "./floors.js";
import { cleanUpOnExit, killAllChildren } from "./processes.js";
import {
  askLoader,
  type CacheChildren as Children,
  setFaults,
  startCacheChildren,
  stopCacheChildren,
} from "./cacheChildren.js";
import type { InstanceTimeline, Loader, LoadOutcome } from "./cacheProtocol.js";

const scenarioKeys = ["one", "latency", "retryAfter", "noRetryAfter"] as const;
type ScenarioKey = (typeof scenarioKeys)[number];

const { values: args } = parseArgs({
  options: {
    secrets: { type: "string", default: "1000" },
    runs: { type: "string", default: "3" },
    fleet: { type: "string", default: "5" },
    "throttle-runs": { type: "string", default: "1" },
    scenario: { type: "string", default: scenarioKeys.join(",") },
    loaders: { type: "string", default: "all" },
  },
});
const secretCount = Number(args.secrets);
const runs = Number(args.runs);
const fleetSize = Number(args.fleet);
const throttleRuns = Number(args["throttle-runs"]);
const chosenScenarios = args.scenario.split(",").map((s) => s.trim());
for (const name of chosenScenarios) {
  if (!(scenarioKeys as readonly string[]).includes(name)) {
    throw new RangeError(`--scenario: unknown ${name}; use ${scenarioKeys.join(", ")}.`);
  }
}
if (args.loaders !== "all" && args.loaders !== "cache") {
  throw new RangeError("--loaders: use all or cache (SecretCache alone).");
}
const throttleLimit = 4000;
const throttleWindowSeconds = 10;
const pageSize = 25;
const latencyMs = 20;
const roundTripSamples = 15;

interface Row {
  scenario: string;
  loader: Loader;
  instances: number;
  runs: number;
  /** Median wall time of a run: from the first request until every instance finished. */
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** Every run's time, in the order run. */
  samplesMs: number[];
  /** List pages + gets each run needs, over all instances. */
  requiredRequests: number;
  /** Attempts sent per run (median), 429s and retries included. */
  attemptsSent: number;
  throttled429: number;
  throttled429PerInstance: number;
  /** Median round trip of one list page under the scenario's faults (throttle aside). */
  roundTripMs: number;
  floorMs: number;
  ratioToFloor: number;
  failedLoads: number;
  failedSecrets: number;
  /**
   * Throttled runs, median over runs of the median instance: when the Retry-After answers allowed
   * requests again, and when the instance resumed (ms from the start).
   */
  retryAfterEndsMs?: number;
  resumedMs?: number;
  /** Per instance of the last run: when it was throttled, resumed, listed and done. */
  lastTimelines: InstanceTimeline[];
}

/** One scenario: how many instances load at once, under which faults. */
interface CacheScenario {
  key: ScenarioKey;
  name: string;
  instances: number;
  faults: LocalVaultFaultOptions;
  loaders: Loader[];
  repetitions: number;
}

/**
 * Median round trip of one list page (the link of the listing's chain) under `faults` (without the
 * throttle), from the loaders' process, on a warm client.
 */
async function roundTripMs(children: Children, faults: LocalVaultFaultOptions): Promise<number> {
  await setFaults(children, { ...faults, throttleLimit: undefined, throttleRetryAfter: undefined });
  const { ms } = await askLoader(
    children,
    { type: "roundTrip", samples: roundTripSamples },
    "roundTrip",
  );
  await setFaults(children, {});
  return ms;
}

async function runOnce(
  children: Children,
  scenario: CacheScenario,
  loader: Loader,
): Promise<LoadOutcome> {
  // Warm up each client (challenge, connection) outside the faults and the timing.
  await setFaults(children, {});
  await askLoader(children, { type: "prepare", loader, instances: scenario.instances }, "prepared");
  // A fresh throttle window for every run, so that runs compare.
  await setFaults(children, scenario.faults);
  const { outcome } = await askLoader(children, { type: "load" }, "loaded");
  await setFaults(children, {});
  for (const error of outcome.errors) console.error(`  a ${loader} load failed: ${error}`);
  return outcome;
}

function rowOf(
  scenario: CacheScenario,
  loader: Loader,
  roundTrip: number,
  outcomes: LoadOutcome[],
): Row {
  const { instances } = scenario;
  const durations = outcomes.map((o) => o.durationMs);
  const pages = Math.ceil(secretCount / pageSize);
  const requiredRequests = instances * (pages + secretCount);
  const floorMs = loadFloorMs({
    pages,
    requests: requiredRequests,
    roundTripMs: roundTrip,
    throttle:
      scenario.faults.throttleLimit === undefined
        ? undefined
        : { limit: scenario.faults.throttleLimit, windowMs: throttleWindowSeconds * 1000 },
  });
  const medianMs = median(durations);
  const throttled = median(outcomes.map((o) => o.throttled));
  const medianInstance = (
    pick: (t: InstanceTimeline) => number | undefined,
  ): number | undefined => {
    const perRun = outcomes
      .map((o) => o.timelines.map(pick).filter((v): v is number => v !== undefined))
      .filter((values) => values.length > 0)
      .map(median);
    return perRun.length === 0 ? undefined : Math.round(median(perRun));
  };
  return {
    scenario: scenario.name,
    loader,
    instances,
    runs: outcomes.length,
    medianMs: Math.round(medianMs),
    minMs: Math.round(Math.min(...durations)),
    maxMs: Math.round(Math.max(...durations)),
    samplesMs: durations.map((d) => Math.round(d)),
    requiredRequests,
    attemptsSent: Math.round(median(outcomes.map((o) => o.attempts))),
    throttled429: Math.round(throttled),
    throttled429PerInstance: Math.round(throttled / instances),
    roundTripMs: Math.round(roundTrip * 100) / 100,
    floorMs: Math.round(floorMs),
    ratioToFloor: Math.round((medianMs / floorMs) * 100) / 100,
    failedLoads: outcomes.reduce((sum, o) => sum + o.failedLoads, 0),
    failedSecrets: outcomes.reduce((sum, o) => sum + o.failedSecrets, 0),
    retryAfterEndsMs: medianInstance((t) => t.retryAfterEndsMs),
    resumedMs: medianInstance((t) => t.resumedMs),
    lastTimelines: outcomes.at(-1)?.timelines ?? [],
  };
}

/** Every run of one scenario, its loaders taking turns. */
async function measure(children: Children, scenario: CacheScenario): Promise<Row[]> {
  const roundTrip = await roundTripMs(children, scenario.faults);
  const outcomes = new Map<Loader, LoadOutcome[]>(scenario.loaders.map((l) => [l, []]));
  for (let run = 0; run < scenario.repetitions; run++) {
    for (const loader of scenario.loaders) {
      outcomes.get(loader)!.push(await runOnce(children, scenario, loader));
    }
  }
  const rows = scenario.loaders.map((loader) =>
    rowOf(scenario, loader, roundTrip, outcomes.get(loader)!),
  );
  for (const row of rows)
    console.log(`  done: ${row.scenario}, ${row.loader} (${row.samplesMs.join(", ")} ms)`);
  return rows;
}

/** A target of issue #14, judged on this run's rows. */
interface CacheTarget {
  name: string;
  value: string;
  limit: string;
  met: boolean | undefined;
}

function judge(rows: Row[]): CacheTarget[] {
  const find = (scenario: string, loader: Loader): Row | undefined =>
    rows.find((r) => r.scenario === scenario && r.loader === loader);
  const targets: CacheTarget[] = [];
  const ratioTarget = (name: string, value: number | undefined, limit: number): void => {
    targets.push({
      name,
      value: value === undefined ? "-" : `${value.toFixed(2)}x`,
      limit: `<= ${limit}x`,
      met: value === undefined ? undefined : value <= limit,
    });
  };
  const one = find(scenarioNames.one, "SecretCache");
  const naiveOfficial = find(scenarioNames.one, "naive Promise.all (official)");
  ratioTarget(
    "one instance: SecretCache / naive Promise.all (official)",
    one && naiveOfficial ? one.medianMs / naiveOfficial.medianMs : undefined,
    0.5,
  );
  ratioTarget(
    `one instance, ${latencyMs} ms latency: SecretCache / floor (pages x round trip)`,
    find(scenarioNames.latency, "SecretCache")?.ratioToFloor,
    1.15,
  );
  ratioTarget(
    `${fleetSize} instances, throttle with Retry-After: SecretCache / window floor`,
    find(scenarioNames.retryAfter, "SecretCache")?.ratioToFloor,
    1.1,
  );
  const noRetryAfter = find(scenarioNames.noRetryAfter, "SecretCache");
  ratioTarget(
    `${fleetSize} instances, throttle without Retry-After: SecretCache / window floor`,
    noRetryAfter?.ratioToFloor,
    1.25,
  );
  targets.push({
    name: `${fleetSize} instances, throttle without Retry-After: 429s per instance`,
    value: noRetryAfter === undefined ? "-" : String(noRetryAfter.throttled429PerInstance),
    limit: "<= 50",
    met: noRetryAfter === undefined ? undefined : noRetryAfter.throttled429PerInstance <= 50,
  });
  return targets;
}

const scenarioNames = {
  one: "one instance",
  latency: `one instance, ${latencyMs} ms latency`,
  retryAfter: `${fleetSize} instances, throttle, Retry-After`,
  noRetryAfter: `${fleetSize} instances, throttle, no Retry-After`,
};

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function main(): Promise<void> {
  const loadAtStart = loadavg();
  console.log("Compiling src/ and the SecretCache benchmark's programs ...");
  const compiled = compileBench(["cacheVault", "cacheLoader"]);
  cleanUpOnExit(compiled);
  const children = await startCacheChildren(compiled, secretCount, pageSize);
  try {
    console.log(
      `Seeded ${secretCount} secrets. Throttle: ${throttleLimit} requests per ${throttleWindowSeconds} s window. ` +
        `Load ${loadAtStart.map((l) => l.toFixed(2)).join(" ")}.\n`,
    );

    const all: Loader[] =
      args.loaders === "cache"
        ? ["SecretCache"]
        : ["SecretCache", "naive Promise.all (this client)", "naive Promise.all (official)"];
    const throttle = { throttleLimit, throttleRetryAfter: true };
    const scenarios: CacheScenario[] = [
      {
        key: "one",
        name: scenarioNames.one,
        instances: 1,
        faults: {},
        loaders: all,
        repetitions: runs,
      },
      {
        key: "latency",
        name: scenarioNames.latency,
        instances: 1,
        faults: { latencyMs },
        loaders: all.filter((l) => l !== "naive Promise.all (this client)"),
        repetitions: runs,
      },
      {
        key: "retryAfter",
        name: scenarioNames.retryAfter,
        instances: fleetSize,
        faults: throttle,
        loaders: all,
        repetitions: throttleRuns,
      },
      {
        key: "noRetryAfter",
        name: scenarioNames.noRetryAfter,
        instances: fleetSize,
        faults: { ...throttle, throttleRetryAfter: false },
        loaders: all,
        repetitions: throttleRuns,
      },
    ];
    // One unmeasured load per loader first, so that every scenario measures warm code (JIT)
    // whichever scenarios are chosen: before, the first scenario's first runs paid for it.
    const warmUp: CacheScenario = { ...scenarios[0]!, repetitions: 1 };
    for (const loader of all) await runOnce(children, warmUp, loader);
    const rows: Row[] = [];
    for (const scenario of scenarios) {
      if (chosenScenarios.includes(scenario.key)) rows.push(...(await measure(children, scenario)));
    }
    const targets = judge(rows);
    const loadAtEnd = loadavg();

    console.log("");
    console.table(
      rows.map((row) => ({
        scenario: row.scenario,
        loader: row.loader,
        "median ms": row.medianMs,
        "min-max ms": `${row.minMs}-${row.maxMs}`,
        "round trip ms": row.roundTripMs,
        "floor ms": row.floorMs,
        "ratio to floor": row.ratioToFloor,
        "requests needed": row.requiredRequests,
        "attempts sent": row.attemptsSent,
        "429s": row.throttled429,
        "failed loads": row.failedLoads,
      })),
    );
    for (const row of rows) {
      if (row.retryAfterEndsMs === undefined && row.resumedMs === undefined) continue;
      console.log(
        `${row.scenario}, ${row.loader}: Retry-After allowed requests again at ` +
          `${row.retryAfterEndsMs ?? "-"} ms, resumed at ${row.resumedMs ?? "-"} ms (median instance)`,
      );
    }
    console.log("\nTargets (issue #14):");
    console.table(
      targets.map((t) => ({
        target: t.name,
        value: t.value,
        limit: t.limit,
        met: t.met === undefined ? "-" : t.met ? "yes" : "NO",
      })),
    );
    console.log(
      `Load average: ${loadAtStart.map((l) => l.toFixed(2)).join(" ")} at the start, ${loadAtEnd.map((l) => l.toFixed(2)).join(" ")} at the end.`,
    );
    const output = resolve(import.meta.dirname, "results/secretCache.json");
    mkdirSync(resolve(import.meta.dirname, "results"), { recursive: true });
    writeFileSync(
      output,
      JSON.stringify(
        {
          benchmark: "SecretCache.load() vs naive Promise.all over getSecret",
          date: new Date().toISOString(),
          node: process.version,
          loadAverage: { start: loadAtStart, end: loadAtEnd },
          processes: "vault and loaders each in their own child process, compiled JavaScript",
          secrets: secretCount,
          throttle: { limit: throttleLimit, windowSeconds: throttleWindowSeconds },
          latencyMs,
          floorRule:
            "max(pages x round trip, (ceil(requests / 4,000) - 1) x 10 s + round trip): the chain of list pages and the fixed throttle window; see bench/floors.ts",
          rows,
          targets,
        },
        null,
        2,
      ) + "\n",
    );
    console.log(`\nWrote ${output}`);
  } finally {
    await stopCacheChildren(children);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  killAllChildren();
  process.exitCode = 1;
});
