/**
 * SecretCache benchmark: load 1,000 secrets from the local vault under Key Vault's real throttle
 * (4,000 requests per 10 s window, 429 with Retry-After), and compare with the naive
 * "list, then Promise.all over getSecret" for this package's client and the official
 * `@azure/keyvault-secrets` client. A second round starts five instances at once, as a fleet
 * does on deploy, which is what trips the throttle.
 *
 *   node --import tsx bench/secretCache.ts [--secrets 1000] [--runs 3] [--fleet 5]
 *
 * Prints a table and writes bench/results/secretCache.json. The throttle floor is the time the
 * requests need at the vault's average rate: (list pages + gets) / 400 per second. A fresh window
 * admits a burst of 4,000 at once, so a single instance can finish under its floor.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { SecretClient as OfficialSecretClient } from "@azure/keyvault-secrets";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import { SecretClient } from "../src/index.js";
import { SecretCache } from "../src/secretCache/index.js";
import { startLocalVault, type LocalVault } from "../src/emulator/index.js";

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
const requestsPerSecond = throttleLimit / throttleWindowSeconds;
const pageSize = 25;

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
  floorMs: number;
  ratioToFloor: number;
  failedLoads: number;
  failedSecrets: number;
}

async function measure(
  vault: LocalVault,
  scenario: string,
  loader: Loader,
  instances: number,
  repetitions: number,
): Promise<Row> {
  const durations: number[] = [];
  const attempts: number[] = [];
  const throttled: number[] = [];
  let failedLoads = 0;
  let failedSecrets = 0;
  for (let run = 0; run < repetitions; run++) {
    const fleet = Array.from({ length: instances }, () => createInstance(vault, loader));
    // Warm up each client (challenge, connection) outside the throttle and the timing.
    vault.setFaults({});
    await Promise.all(fleet.map((instance) => instance.client.getSecret("s-0000")));
    fleet.forEach((instance) => {
      instance.counter.attempts = 0;
      instance.counter.throttled = 0;
    });
    // A fresh window for every run, so that runs compare.
    vault.setFaults({ throttleLimit, throttleRetryAfter: true });
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
  const requiredRequests = instances * (Math.ceil(secretCount / pageSize) + secretCount);
  const floorMs = (requiredRequests / requestsPerSecond) * 1000;
  const medianMs = median(durations);
  return {
    scenario,
    loader,
    instances,
    runs: repetitions,
    medianMs: Math.round(medianMs),
    minMs: Math.round(Math.min(...durations)),
    maxMs: Math.round(Math.max(...durations)),
    requiredRequests,
    attemptsSent: Math.round(median(attempts)),
    throttled429: Math.round(median(throttled)),
    floorMs: Math.round(floorMs),
    ratioToFloor: Math.round((medianMs / floorMs) * 100) / 100,
    failedLoads,
    failedSecrets,
  };
}

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
      `Seeded ${secretCount} secrets. Throttle: ${throttleLimit} requests per ${throttleWindowSeconds} s window, 429 with Retry-After.\n`,
    );

    const loaders: Loader[] = [
      "SecretCache",
      "naive Promise.all (this client)",
      "naive Promise.all (official)",
    ];
    const rows: Row[] = [];
    for (const loader of loaders) {
      rows.push(await measure(vault, "one instance", loader, 1, runs));
      console.log(`  done: one instance, ${loader}`);
    }
    for (const loader of loaders) {
      rows.push(await measure(vault, `${fleetSize} instances at once`, loader, fleetSize, 1));
      console.log(`  done: ${fleetSize} instances, ${loader}`);
    }

    console.log("");
    console.table(
      rows.map((row) => ({
        scenario: row.scenario,
        loader: row.loader,
        "median ms": row.medianMs,
        "floor ms": row.floorMs,
        "ratio to floor": row.ratioToFloor,
        "requests needed": row.requiredRequests,
        "attempts sent": row.attemptsSent,
        "429s": row.throttled429,
        "failed loads": row.failedLoads,
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
          throttle: {
            limit: throttleLimit,
            windowSeconds: throttleWindowSeconds,
            retryAfter: true,
          },
          floorRule: "(list pages + gets) / 400 per second",
          rows,
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
