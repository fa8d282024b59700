/**
 * The loaders of the SecretCache benchmarks in their own process (no vault on the same event
 * loop): measures a list page's round trip, prepares a fleet of loaders and runs it when told to.
 * Protocol: framework/protocol.ts.
 *
 * The loaders: `SecretCache.load()`, and the naive "list, then Promise.all over getSecret" with this
 * package's client and with the official `@azure/keyvault-secrets` client. Every instance of a
 * fleet runs in this one process; the vault is another (vaultChild.ts). For the refresh scenario:
 * one loaded SecretCache, whose refreshes and full reloads it times.
 */
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { SecretClient as OfficialSecretClient } from "@azure/keyvault-secrets";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
// Both from the package's entry point (bundled by compile.ts, as users load it): one copy of the
// modules they share, such as the retry policy that hands a cache's 429s back to it.
import { SecretCache, SecretClient } from "../../src/index.js";
import { childConfig, serveChild } from "../framework/childSide.js";
import { secretName, secretValue } from "../framework/fixtures.js";
import { median } from "../framework/measure.js";
import type {
  InstanceTimeline,
  Loader,
  LoaderConfig,
  LoadOutcome,
  RefreshKind,
  RefreshOutcome,
} from "../framework/protocol.js";
import { benchCredential, clientOptions } from "./contenders.js";

const config = childConfig<LoaderConfig>();
const credential = benchCredential();

/**
 * Counts every attempt a client sends, retries included, and the 429s among them, and notes when
 * the load was throttled, resumed and listed (times from `origin`).
 */
class AttemptCounter {
  attempts = 0;
  throttled = 0;
  origin = 0;
  private firstThrottledMs: number | undefined;
  private lastThrottledMs: number | undefined;
  private resumedMs: number | undefined;
  private retryAfterEndsMs: number | undefined;
  private listedMs: number | undefined;
  /** List pages answered (200). */
  pages = 0;
  /** Values read: gets answered (200). */
  gets = 0;
  private pagesBeforeThrottle: number | undefined;

  reset(): void {
    this.attempts = 0;
    this.throttled = 0;
    this.origin = performance.now();
    this.firstThrottledMs = this.lastThrottledMs = this.resumedMs = undefined;
    this.retryAfterEndsMs = this.listedMs = this.pagesBeforeThrottle = undefined;
    this.pages = 0;
    this.gets = 0;
  }

  timeline(doneMs: number): InstanceTimeline {
    const round = (ms: number | undefined): number | undefined =>
      ms === undefined ? undefined : Math.round(ms);
    return {
      firstThrottledMs: round(this.firstThrottledMs),
      lastThrottledMs: round(this.lastThrottledMs),
      resumedMs: round(this.resumedMs),
      retryAfterEndsMs: round(this.retryAfterEndsMs),
      listedMs: round(this.listedMs),
      pagesBeforeThrottle: this.pagesBeforeThrottle,
      doneMs: Math.round(doneMs),
    };
  }

  readonly policy: PipelinePolicy = {
    name: "benchAttemptCounter",
    sendRequest: async (request, next) => {
      this.attempts++;
      const sentMs = performance.now() - this.origin;
      const response = await next(request);
      const answeredMs = performance.now() - this.origin;
      if (response.status === 429) {
        this.throttled++;
        this.firstThrottledMs ??= answeredMs;
        this.pagesBeforeThrottle ??= this.pages;
        this.lastThrottledMs = answeredMs;
        this.resumedMs = undefined;
        const seconds = Number(response.headers.get("retry-after") ?? "NaN");
        if (Number.isFinite(seconds)) {
          const ends = answeredMs + seconds * 1000;
          // A 429 of a request sent after the last end begins a new episode.
          const newEpisode = this.retryAfterEndsMs === undefined || sentMs >= this.retryAfterEndsMs;
          this.retryAfterEndsMs = newEpisode ? ends : Math.min(this.retryAfterEndsMs!, ends);
        }
      } else if (this.lastThrottledMs !== undefined && sentMs >= this.lastThrottledMs) {
        this.resumedMs ??= sentMs;
      }
      // A list page: /secrets?... (a get is /secrets/{name}).
      const path = new URL(request.url).pathname;
      if (response.status === 200 && /\/secrets\/?$/.test(path)) {
        this.listedMs = answeredMs;
        this.pages++;
      } else if (response.status === 200 && /\/secrets\/[^/]+\/?$/.test(path)) {
        this.gets++;
      }
      return response;
    },
  };
}

/** The two read methods both clients share, as the naive loader uses them. */
interface ReadingClient {
  listPropertiesOfSecrets(): AsyncIterable<{ name: string; enabled?: boolean }>;
  getSecret(name: string): Promise<{ value?: string }>;
  close?(): void;
}

interface Instance {
  client: ReadingClient;
  counter: AttemptCounter;
  /** Resolves to the number of secrets that are missing or wrong (0 for a complete load). */
  load(): Promise<number>;
}

/** Secrets missing from `values` or holding another value than seeded. */
function missingOrWrong(values: Map<string, string | undefined>): number {
  let bad = 0;
  for (let i = 0; i < config.secrets; i++) {
    const name = secretName(i);
    if (values.get(name) !== secretValue(name)) bad++;
  }
  return bad + Math.max(0, values.size - config.secrets);
}

function createInstance(loader: Loader): Instance {
  const counter = new AttemptCounter();
  const additionalPolicies = [{ policy: counter.policy, position: "perRetry" as const }];
  if (loader === "naive Promise.all (official)") {
    const client = new OfficialSecretClient(config.url, credential, {
      ...clientOptions,
      additionalPolicies,
    });
    return { client, counter, load: () => naiveLoad(client) };
  }
  const client = new SecretClient(config.url, credential, { ...clientOptions, additionalPolicies });
  if (loader === "SecretCache") {
    return {
      client,
      counter,
      load: async () => {
        const cache = new SecretCache(client);
        try {
          await cache.load();
          const values = new Map<string, string | undefined>();
          for (let i = 0; i < config.secrets; i++) {
            const name = secretName(i);
            values.set(name, cache.get(name));
          }
          return missingOrWrong(values) + Math.max(0, cache.size - config.secrets);
        } finally {
          cache.close();
        }
      },
    };
  }
  return { client, counter, load: () => naiveLoad(client) };
}

/** What users report doing today: list, then fetch everything at once. */
async function naiveLoad(client: ReadingClient): Promise<number> {
  const names: string[] = [];
  for await (const properties of client.listPropertiesOfSecrets()) {
    if (properties.enabled !== false) names.push(properties.name);
  }
  const results = await Promise.allSettled(names.map((name) => client.getSecret(name)));
  const values = new Map<string, string | undefined>();
  results.forEach((result, i) => {
    if (result.status === "fulfilled") values.set(names[i]!, result.value.value);
  });
  return missingOrWrong(values);
}

/** Median round trip of the first list page (the link of the listing's chain), warm client. */
async function roundTripMs(samples: number): Promise<number> {
  const client = new SecretClient(config.url, credential, clientOptions);
  const firstPage = async (): Promise<void> => {
    await client.listPropertiesOfSecrets().byPage({ maxPageSize: config.pageSize }).next();
  };
  try {
    await firstPage();
    const times: number[] = [];
    for (let i = 0; i < samples; i++) {
      const started = performance.now();
      await firstPage();
      times.push(performance.now() - started);
    }
    return median(times);
  } finally {
    client.close();
  }
}

let fleet: Instance[] = [];

async function prepare(loader: Loader, instances: number): Promise<void> {
  fleet = Array.from({ length: instances }, () => createInstance(loader));
  await Promise.all(fleet.map((instance) => instance.client.getSecret(secretName(0))));
}

async function load(): Promise<LoadOutcome> {
  const running = fleet;
  fleet = [];
  const doneMs: number[] = [];
  const started = performance.now();
  running.forEach((instance) => {
    instance.counter.reset();
    instance.counter.origin = started;
  });
  const outcomes = await Promise.allSettled(
    running.map((instance, i) =>
      instance.load().finally(() => {
        doneMs[i] = performance.now() - started;
      }),
    ),
  );
  const durationMs = performance.now() - started;
  const outcome: LoadOutcome = {
    durationMs,
    attempts: running.reduce((sum, i) => sum + i.counter.attempts, 0),
    throttled: running.reduce((sum, i) => sum + i.counter.throttled, 0),
    failedLoads: 0,
    failedSecrets: 0,
    errors: [],
    timelines: running.map((instance, i) => instance.counter.timeline(doneMs[i] ?? durationMs)),
  };
  for (const result of outcomes) {
    if (result.status === "rejected") {
      outcome.failedLoads++;
      outcome.errors.push((result.reason as Error).message);
    } else if (result.value > 0) {
      outcome.failedLoads++;
      outcome.failedSecrets += result.value;
    }
  }
  running.forEach((instance) => instance.client.close?.());
  return outcome;
}

/** The refresh benchmark's client and loaded cache. */
let refreshed: { client: SecretClient; counter: AttemptCounter; cache: SecretCache } | undefined;

/**
 * Loads the cache of the refresh benchmark, then refreshes it until a refresh reads no value: a
 * version read within seconds of its update is read once more after a second (changes.ts).
 * @returns how many refreshes that took
 */
async function prepareRefresh(): Promise<number> {
  const counter = new AttemptCounter();
  const additionalPolicies = [{ policy: counter.policy, position: "perRetry" as const }];
  const client = new SecretClient(config.url, credential, { ...clientOptions, additionalPolicies });
  const cache = new SecretCache(client);
  await cache.load();
  refreshed = { client, counter, cache };
  for (let refreshes = 1; refreshes <= 10; refreshes++) {
    await sleep(1200);
    counter.reset();
    await cache.refresh();
    if (counter.gets === 0) return refreshes;
  }
  throw new Error("the cache still read values after 10 refreshes of an unchanged vault");
}

/** Times one refresh of the loaded cache, or one full reload (a new cache on the same client). */
async function timeRefresh(kind: RefreshKind): Promise<RefreshOutcome> {
  if (refreshed === undefined) throw new Error("prepareRefresh first");
  const { client, counter, cache } = refreshed;
  counter.reset();
  const started = performance.now();
  let changed = 0;
  if (kind === "refresh") {
    const change = await cache.refresh();
    changed = change.details.length;
  } else {
    const reload = new SecretCache(client);
    try {
      await reload.load();
      if (reload.size !== config.secrets) throw new Error(`reloaded ${reload.size} secrets`);
    } finally {
      reload.close();
    }
  }
  const durationMs = performance.now() - started;
  return {
    kind,
    durationMs,
    listPages: counter.pages,
    gets: counter.gets,
    attempts: counter.attempts,
    changed,
  };
}

serveChild(() =>
  Promise.resolve({
    handlers: {
      roundTrip: ({ samples }) => roundTripMs(samples),
      prepare: async ({ loader, instances }) => {
        await prepare(loader, instances);
        return null;
      },
      load: () => load(),
      prepareRefresh: () => prepareRefresh(),
      timeRefresh: ({ kind }) => timeRefresh(kind),
    },
  }),
);
