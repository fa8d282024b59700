/**
 * The scenario cache: SecretCache loads 1,000 secrets from the local vault, against the naive
 * "list, then Promise.all over getSecret" with this package's client and with the official
 * `@azure/keyvault-secrets` client, in four cases: one instance (no fault); one instance with 20 ms
 * added to every answer (the local vault's latency fault, standing in for a network round trip);
 * and five instances at once (as a fleet does on deploy) under Key Vault's real throttle (4,000
 * requests per 10 s window), with and without Retry-After (the real service sends none).
 *
 * The vault and the loaders run in their own processes (loaders.ts). Runs of the loaders take
 * turns (A B C A B C ...), after one unmeasured load per loader (warm code, whichever cases are
 * chosen). Prints a table and writes bench/results/secretCache.json. Floors (floors.ts) come from
 * the window model and the round trip measured in each case: the chain of list pages (pages x
 * round trip), or the throttle windows the requests need ((windows - 1) x 10 s + a round trip),
 * whichever is longer.
 */
import { loadavg } from "node:os";
import type { LocalVaultFaultOptions } from "../../../src/emulator/index.js";
import { listPageSize } from "../../framework/fixtures.js";
import { median, takeTurns } from "../../framework/measure.js";
import { listFlag } from "../../framework/options.js";
import type { InstanceTimeline, Loader, LoadOutcome } from "../../framework/protocol.js";
import { formatLoad, targetTable, writeResults, type Target } from "../../framework/report.js";
import type { Scenario } from "../scenario.js";
import { loadFloorMs } from "./floors.js";
import { askLoaders, secretsCount, withVaultAndLoaders, type CacheRig } from "./loaders.js";

const caseKeys = ["one", "latency", "retryAfter", "noRetryAfter"] as const;
type CaseKey = (typeof caseKeys)[number];

const allLoaders: Loader[] = [
  "SecretCache",
  "naive Promise.all (this client)",
  "naive Promise.all (official)",
];
const throttleLimit = 4000;
const throttleWindowSeconds = 10;
const latencyMs = 20;
const roundTripSamples = 15;

/** What this run of the scenario does, from the command line. */
interface CacheSettings {
  secrets: number;
  /** Runs of the one-instance cases. */
  runs: number;
  /** Instances of the throttled cases. */
  fleet: number;
  /** Runs of the throttled cases. */
  throttleRuns: number;
  cases: CaseKey[];
  loaders: Loader[];
}

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
  /** Median round trip of one list page under the case's faults (throttle aside). */
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

/** One case: how many instances load at once, under which faults. */
interface CacheCase {
  key: CaseKey;
  name: string;
  instances: number;
  faults: LocalVaultFaultOptions;
  loaders: Loader[];
  repetitions: number;
}

function casesOf(settings: CacheSettings): CacheCase[] {
  const throttle = { throttleLimit, throttleRetryAfter: true };
  const { fleet, loaders, runs, throttleRuns } = settings;
  return [
    { key: "one", name: "one instance", instances: 1, faults: {}, loaders, repetitions: runs },
    {
      key: "latency",
      name: `one instance, ${latencyMs} ms latency`,
      instances: 1,
      faults: { latencyMs },
      loaders: loaders.filter((l) => l !== "naive Promise.all (this client)"),
      repetitions: runs,
    },
    {
      key: "retryAfter",
      name: `${fleet} instances, throttle, Retry-After`,
      instances: fleet,
      faults: throttle,
      loaders,
      repetitions: throttleRuns,
    },
    {
      key: "noRetryAfter",
      name: `${fleet} instances, throttle, no Retry-After`,
      instances: fleet,
      faults: { ...throttle, throttleRetryAfter: false },
      loaders,
      repetitions: throttleRuns,
    },
  ];
}

/**
 * Median round trip of one list page (the link of the listing's chain) under `faults` (without the
 * throttle), from the loaders' process, on a warm client.
 */
async function roundTripMs(rig: CacheRig, faults: LocalVaultFaultOptions): Promise<number> {
  await rig.vault.setFaults({
    ...faults,
    throttleLimit: undefined,
    throttleRetryAfter: undefined,
  });
  const ms = await askLoaders(rig, { type: "roundTrip", samples: roundTripSamples });
  await rig.vault.setFaults({});
  return ms;
}

async function runOnce(rig: CacheRig, cacheCase: CacheCase, loader: Loader): Promise<LoadOutcome> {
  // Warm up each client (challenge, connection) outside the faults and the timing.
  await rig.vault.setFaults({});
  await askLoaders(rig, { type: "prepare", loader, instances: cacheCase.instances });
  // A fresh throttle window for every run, so that runs compare.
  await rig.vault.setFaults(cacheCase.faults);
  const outcome = await askLoaders(rig, { type: "load" });
  await rig.vault.setFaults({});
  for (const error of outcome.errors) console.error(`  a ${loader} load failed: ${error}`);
  return outcome;
}

function rowOf(
  settings: CacheSettings,
  cacheCase: CacheCase,
  loader: Loader,
  roundTrip: number,
  outcomes: LoadOutcome[],
): Row {
  const { instances } = cacheCase;
  const durations = outcomes.map((o) => o.durationMs);
  const pages = Math.ceil(settings.secrets / listPageSize);
  const requiredRequests = instances * (pages + settings.secrets);
  const floorMs = loadFloorMs({
    pages,
    requests: requiredRequests,
    roundTripMs: roundTrip,
    throttle:
      cacheCase.faults.throttleLimit === undefined
        ? undefined
        : { limit: cacheCase.faults.throttleLimit, windowMs: throttleWindowSeconds * 1000 },
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
    scenario: cacheCase.name,
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

/** Every run of one case, its loaders taking turns. */
async function measure(
  rig: CacheRig,
  settings: CacheSettings,
  cacheCase: CacheCase,
): Promise<Row[]> {
  const roundTrip = await roundTripMs(rig, cacheCase.faults);
  const outcomes = await takeTurns(
    cacheCase.loaders,
    { measured: cacheCase.repetitions },
    (loader) => runOnce(rig, cacheCase, loader),
  );
  const rows = cacheCase.loaders.map((loader) =>
    rowOf(settings, cacheCase, loader, roundTrip, outcomes.get(loader)!),
  );
  for (const row of rows)
    console.log(`  done: ${row.scenario}, ${row.loader} (${row.samplesMs.join(", ")} ms)`);
  return rows;
}

/** The targets of issue #14, judged on this run's rows. */
function judge(rows: Row[], cases: CacheCase[]): Target[] {
  const find = (key: CaseKey, loader: Loader): Row | undefined => {
    const name = cases.find((c) => c.key === key)!.name;
    return rows.find((r) => r.scenario === name && r.loader === loader);
  };
  const targets: Target[] = [];
  const ratioTarget = (name: string, value: number | undefined, limit: number): void => {
    targets.push({
      name,
      value: value === undefined ? "-" : `${value.toFixed(2)}x`,
      limit: `<= ${limit}x`,
      met: value === undefined ? undefined : value <= limit,
    });
  };
  const fleet = cases.find((c) => c.key === "retryAfter")!.instances;
  const one = find("one", "SecretCache");
  const naiveOfficial = find("one", "naive Promise.all (official)");
  ratioTarget(
    "one instance: SecretCache / naive Promise.all (official)",
    one && naiveOfficial ? one.medianMs / naiveOfficial.medianMs : undefined,
    0.5,
  );
  ratioTarget(
    `one instance, ${latencyMs} ms latency: SecretCache / floor (pages x round trip)`,
    find("latency", "SecretCache")?.ratioToFloor,
    1.15,
  );
  ratioTarget(
    `${fleet} instances, throttle with Retry-After: SecretCache / window floor`,
    find("retryAfter", "SecretCache")?.ratioToFloor,
    1.1,
  );
  const noRetryAfter = find("noRetryAfter", "SecretCache");
  ratioTarget(
    `${fleet} instances, throttle without Retry-After: SecretCache / window floor`,
    noRetryAfter?.ratioToFloor,
    1.25,
  );
  targets.push({
    name: `${fleet} instances, throttle without Retry-After: 429s per instance`,
    value: noRetryAfter === undefined ? "-" : String(noRetryAfter.throttled429PerInstance),
    limit: "<= 50",
    met: noRetryAfter === undefined ? undefined : noRetryAfter.throttled429PerInstance <= 50,
  });
  return targets;
}

function printRows(rows: Row[]): void {
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
}

async function runCache(rig: CacheRig, settings: CacheSettings): Promise<void> {
  const loadAtStart = loadavg();
  console.log(
    `Seeded ${settings.secrets} secrets. Throttle: ${throttleLimit} requests per ${throttleWindowSeconds} s window. ` +
      `Load ${formatLoad(loadAtStart)}.\n`,
  );
  const cases = casesOf(settings);
  // One unmeasured load per loader first, so that every case measures warm code (JIT) whichever
  // cases are chosen: before, the first case's first runs paid for it.
  const warmUp: CacheCase = { ...cases[0]!, repetitions: 1 };
  for (const loader of settings.loaders) await runOnce(rig, warmUp, loader);
  const rows: Row[] = [];
  for (const cacheCase of cases) {
    if (settings.cases.includes(cacheCase.key))
      rows.push(...(await measure(rig, settings, cacheCase)));
  }
  const targets = judge(rows, cases);
  const loadAtEnd = loadavg();
  console.log("");
  printRows(rows);
  console.log("\nTargets (issue #14):\n" + targetTable(targets));
  console.log(
    `Load average: ${formatLoad(loadAtStart)} at the start, ${formatLoad(loadAtEnd)} at the end.`,
  );
  const output = writeResults("secretCache.json", {
    benchmark: "SecretCache.load() vs naive Promise.all over getSecret",
    date: new Date().toISOString(),
    node: process.version,
    loadAverage: { start: loadAtStart, end: loadAtEnd },
    processes: "vault and loaders each in their own child process, compiled JavaScript",
    secrets: settings.secrets,
    throttle: { limit: throttleLimit, windowSeconds: throttleWindowSeconds },
    latencyMs,
    floorRule:
      "max(pages x round trip, (ceil(requests / 4,000) - 1) x 10 s + round trip): the chain of list pages and the fixed throttle window; see bench/scenarios/secretCache/floors.ts",
    rows,
    targets,
  });
  console.log(`\nWrote ${output}`);
}

export const secretCacheLoadScenario: Scenario<"secrets" | "runs" | "fleet" | "throttle-runs"> = {
  name: "cache",
  summary: "SecretCache loads 1,000 secrets against naive loops, under latency and the throttle",
  byDefault: true,
  counts: {
    secrets: secretsCount,
    runs: { about: "runs of each one-instance case", full: 3, quick: 1 },
    fleet: { about: "instances of the throttled cases", full: 5, quick: 2 },
    "throttle-runs": { about: "runs of each throttled case", full: 1 },
  },
  flags: {
    cases: { about: "the cases to run, comma-separated", values: caseKeys, many: true },
    loaders: { about: "cache runs SecretCache alone", values: ["all", "cache"] },
  },
  run: async (context, { "throttle-runs": throttleRuns, ...perCase }) => {
    const { options } = context;
    const settings: CacheSettings = {
      ...perCase,
      throttleRuns,
      cases: listFlag(options, "cases", caseKeys),
      loaders: options.flags.loaders === "cache" ? ["SecretCache"] : allLoaders,
    };
    console.log("\nSecretCache: load 1,000 secrets under the real throttle ...");
    await withVaultAndLoaders(context, settings.secrets, (rig) => runCache(rig, settings));
  },
};
