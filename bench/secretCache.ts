/**
 * SecretCache benchmark: load 1,000 secrets from the local vault under Key Vault's real throttle
 * (4,000 requests per 10 s window, 429 with Retry-After), and compare with the naive
 * "list, then Promise.all over getSecret" for this package's client and the official
 * `@azure/keyvault-secrets` client. A second round starts five instances at once, as a fleet
 * does on deploy, which is what trips the throttle.
 *
 *   node --import tsx bench/secretCache.ts [--secrets 1000] [--runs 3] [--fleet 5]
 *
 * Scenarios: one instance (no fault), one instance with 20 ms added to every answer (the local
 * vault's latency fault, standing in for a network round trip), and the fleet under the throttle
 * with and without Retry-After (the real service sends none).
 *
 * Prints a table and writes bench/results/secretCache.json. Floors (bench/floors.ts) come from the
 * window model and the round trip measured in each scenario: the chain of list pages (pages x round
 * trip), or the throttle windows the requests need ((windows - 1) x 10 s + a round trip), whichever
 * is longer.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { SecretClient as OfficialSecretClient } from "@azure/keyvault-secrets";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import { SecretClient } from "../src/index.js";
import { SecretCache } from "../src/secretCache/index.js";
import {
  startLocalVault,
  type LocalVault,
  type LocalVaultFaultOptions,
} from "../src/emulator/index.js";
import { loadFloorMs } from "./floors.js";

const { values: args } = parseArgs({
  options: {
    secrets: { type: "string", default: "1000" },
    runs: { type: "string", default: "3" },
    fleet: { type: "string", default: "5" },
  },
});
const secretCount = Number(args.secrets);
const runs = Number(args.runs);
const fleetSize = Number(args.fleet);
const throttleLimit = 4000;
const throttleWindowSeconds = 10;
const pageSize = 25;
const latencyMs = 20;

/** Counts every attempt a client sends, retries included, and the 429s among them. */
class AttemptCounter {
  attempts = 0;
  throttled = 0;
  readonly policy: PipelinePolicy = {
    name: "benchAttemptCounter",
    sendRequest: async (request, next) => {
      this.attempts++;
      const response = await next(request);
      if (response.status === 429) this.throttled++;
      return response;
    },
  };
}

/** The two read methods both clients share, as the naive loader uses them. */
interface ReadingClient {
  listPropertiesOfSecrets(): AsyncIterable<{ name: string; enabled?: boolean }>;
  getSecret(name: string): Promise<{ value?: string }>;
}

type Loader = "SecretCache" | "naive Promise.all (this client)" | "naive Promise.all (official)";

interface Instance {
  client: ReadingClient & { close?: () => void };
  counter: AttemptCounter;
  load(): Promise<{ loaded: number; failedSecrets: number }>;
}

function createInstance(vault: LocalVault, loader: Loader): Instance {
  const counter = new AttemptCounter();
  if (loader === "naive Promise.all (official)") {
    const client = new OfficialSecretClient(vault.vaultUrl, vault.credential, {
      disableChallengeResourceVerification: true,
      // The official client refuses http unless told; the local vault runs on http://127.0.0.1.
      allowInsecureConnection: true,
      additionalPolicies: [{ policy: counter.policy, position: "perRetry" }],
    });
    return { client, counter, load: () => naiveLoad(client) };
  }
  const client = new SecretClient(vault.vaultUrl, vault.credential, {
    allowInsecureConnection: true,
    disableChallengeResourceVerification: true,
    additionalPolicies: [{ policy: counter.policy, position: "perRetry" }],
  });
  if (loader === "SecretCache") {
    return {
      client,
      counter,
      load: async () => {
        const cache = new SecretCache(client);
        try {
          await cache.load();
          return { loaded: cache.size, failedSecrets: 0 };
        } finally {
          cache.close();
        }
      },
    };
  }
  return { client, counter, load: () => naiveLoad(client) };
}

/** What users report doing today: list, then fetch everything at once. */
async function naiveLoad(
  client: ReadingClient,
): Promise<{ loaded: number; failedSecrets: number }> {
  const names: string[] = [];
  for await (const properties of client.listPropertiesOfSecrets()) {
    if (properties.enabled !== false) names.push(properties.name);
  }
  const results = await Promise.allSettled(names.map((name) => client.getSecret(name)));
  const failedSecrets = results.filter((r) => r.status === "rejected").length;
  return { loaded: results.length - failedSecrets, failedSecrets };
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
}

/** One scenario: how many instances load at once, under which faults. */
interface CacheScenario {
  name: string;
  instances: number;
  faults: LocalVaultFaultOptions;
  loaders: Loader[];
  repetitions: number;
}

/**
 * Median round trip of one list page (the link of the listing's chain) under `faults` (without the
 * throttle), on a warm client.
 */
async function roundTripMs(vault: LocalVault, faults: LocalVaultFaultOptions): Promise<number> {
  const client = new SecretClient(vault.vaultUrl, vault.credential, {
    allowInsecureConnection: true,
    disableChallengeResourceVerification: true,
  });
  const firstPage = async (): Promise<void> => {
    await client.listPropertiesOfSecrets().byPage({ maxPageSize: pageSize }).next();
  };
  try {
    vault.setFaults({});
    await firstPage();
    vault.setFaults({ ...faults, throttleLimit: undefined, throttleRetryAfter: undefined });
    const samples: number[] = [];
    for (let i = 0; i < 15; i++) {
      const started = performance.now();
      await firstPage();
      samples.push(performance.now() - started);
    }
    return median(samples);
  } finally {
    vault.setFaults({});
    client.close();
  }
}

async function measure(vault: LocalVault, scenario: CacheScenario, loader: Loader): Promise<Row> {
  const { instances, repetitions, faults } = scenario;
  const durations: number[] = [];
  const attempts: number[] = [];
  const throttled: number[] = [];
  let failedLoads = 0;
  let failedSecrets = 0;
  const roundTrip = await roundTripMs(vault, faults);
  for (let run = 0; run < repetitions; run++) {
    const fleet = Array.from({ length: instances }, () => createInstance(vault, loader));
    // Warm up each client (challenge, connection) outside the faults and the timing.
    vault.setFaults({});
    await Promise.all(fleet.map((instance) => instance.client.getSecret("s-0000")));
    fleet.forEach((instance) => {
      instance.counter.attempts = 0;
      instance.counter.throttled = 0;
    });
    // A fresh throttle window for every run, so that runs compare.
    vault.setFaults(faults);
    const started = performance.now();
    const outcomes = await Promise.allSettled(fleet.map((instance) => instance.load()));
    durations.push(performance.now() - started);
    for (const outcome of outcomes) {
      if (outcome.status === "rejected") {
        failedLoads++;
        console.error(`  a ${loader} load failed: ${(outcome.reason as Error).message}`);
      } else if (outcome.value.failedSecrets > 0 || outcome.value.loaded !== secretCount) {
        failedLoads++;
        failedSecrets += outcome.value.failedSecrets;
      }
    }
    attempts.push(fleet.reduce((sum, i) => sum + i.counter.attempts, 0));
    throttled.push(fleet.reduce((sum, i) => sum + i.counter.throttled, 0));
    fleet.forEach((instance) => instance.client.close?.());
  }
  vault.setFaults({});
  const pages = Math.ceil(secretCount / pageSize);
  const requiredRequests = instances * (pages + secretCount);
  const floorMs = loadFloorMs({
    pages,
    requests: requiredRequests,
    roundTripMs: roundTrip,
    throttle:
      faults.throttleLimit === undefined
        ? undefined
        : { limit: faults.throttleLimit, windowMs: throttleWindowSeconds * 1000 },
  });
  const medianMs = median(durations);
  return {
    scenario: scenario.name,
    loader,
    instances,
    runs: repetitions,
    medianMs: Math.round(medianMs),
    minMs: Math.round(Math.min(...durations)),
    maxMs: Math.round(Math.max(...durations)),
    requiredRequests,
    attemptsSent: Math.round(median(attempts)),
    throttled429: Math.round(median(throttled)),
    throttled429PerInstance: Math.round(median(throttled) / instances),
    roundTripMs: Math.round(roundTrip * 100) / 100,
    floorMs: Math.round(floorMs),
    ratioToFloor: Math.round((medianMs / floorMs) * 100) / 100,
    failedLoads,
    failedSecrets,
  };
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
  const vault = await startLocalVault({});
  try {
    const seeder = new SecretClient(vault.vaultUrl, vault.credential, {
      allowInsecureConnection: true,
      disableChallengeResourceVerification: true,
    });
    const names = Array.from({ length: secretCount }, (_, i) => `s-${String(i).padStart(4, "0")}`);
    for (let i = 0; i < names.length; i += 50) {
      await Promise.all(
        names.slice(i, i + 50).map((name) => seeder.setSecret(name, `value of ${name}`)),
      );
    }
    seeder.close();
    console.log(
      `Seeded ${secretCount} secrets. Throttle: ${throttleLimit} requests per ${throttleWindowSeconds} s window.\n`,
    );

    const all: Loader[] = [
      "SecretCache",
      "naive Promise.all (this client)",
      "naive Promise.all (official)",
    ];
    const throttle = { throttleLimit, throttleRetryAfter: true };
    const scenarios: CacheScenario[] = [
      { name: scenarioNames.one, instances: 1, faults: {}, loaders: all, repetitions: runs },
      {
        name: scenarioNames.latency,
        instances: 1,
        faults: { latencyMs },
        loaders: ["SecretCache", "naive Promise.all (official)"],
        repetitions: runs,
      },
      {
        name: scenarioNames.retryAfter,
        instances: fleetSize,
        faults: throttle,
        loaders: all,
        repetitions: 1,
      },
      {
        name: scenarioNames.noRetryAfter,
        instances: fleetSize,
        faults: { ...throttle, throttleRetryAfter: false },
        loaders: all,
        repetitions: 1,
      },
    ];
    const rows: Row[] = [];
    for (const scenario of scenarios) {
      for (const loader of scenario.loaders) {
        rows.push(await measure(vault, scenario, loader));
        console.log(`  done: ${scenario.name}, ${loader}`);
      }
    }
    const targets = judge(rows);

    console.log("");
    console.table(
      rows.map((row) => ({
        scenario: row.scenario,
        loader: row.loader,
        "median ms": row.medianMs,
        "round trip ms": row.roundTripMs,
        "floor ms": row.floorMs,
        "ratio to floor": row.ratioToFloor,
        "requests needed": row.requiredRequests,
        "attempts sent": row.attemptsSent,
        "429s": row.throttled429,
        "failed loads": row.failedLoads,
      })),
    );
    console.log("\nTargets (issue #14):");
    console.table(
      targets.map((t) => ({
        target: t.name,
        value: t.value,
        limit: t.limit,
        met: t.met ? "yes" : "NO",
      })),
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
    await vault.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
