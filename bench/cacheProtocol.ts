/**
 * What the processes of the SecretCache benchmarks say to each other (IPC messages of
 * `child_process.fork`): `bench/secretCache.ts` and `bench/cacheRefresh.ts` (the orchestrators),
 * `bench/cacheVault.ts` (the local vault) and `bench/cacheLoader.ts` (the loaders), and the names
 * they agree on.
 */
import type { LocalVaultFaultOptions } from "../src/emulator/index.js";

/** Name of the i-th secret the vault is seeded with. */
export function cacheSecretName(index: number): string {
  return `s-${String(index).padStart(4, "0")}`;
}

/** The value seeded for a secret, which every loader checks. */
export function cacheSecretValue(name: string): string {
  return `value of ${name}`;
}

/** The loaders compared. */
export type Loader =
  "SecretCache" | "naive Promise.all (this client)" | "naive Promise.all (official)";

/** Orchestrator -> vault. */
export type CacheVaultCommand = { type: "faults"; faults: LocalVaultFaultOptions };

/** Vault -> orchestrator. */
export type CacheVaultMessage =
  { type: "listening"; url: string } | { type: "faultsSet" } | { type: "failed"; message: string };

/** How the loader child is started (argv[2], JSON). */
export interface CacheLoaderConfig {
  url: string;
  /** Secrets the vault holds: what every load must return. */
  secrets: number;
  /** Items of a list page. */
  pageSize: number;
}

/** Orchestrator -> loader. */
export type CacheLoaderCommand =
  /** Median round trip of a list page under the vault's current faults (one warm-up first). */
  | { type: "roundTrip"; samples: number }
  /** Creates `instances` loaders and warms each client (challenge, connection). */
  | { type: "prepare"; loader: Loader; instances: number }
  /** Runs the prepared loaders at once, times them, closes them. */
  | { type: "load" }
  /**
   * Loads one SecretCache for the refresh benchmark and refreshes it until a refresh reads no
   * value (a version read within seconds of its update is read once more, see changes.ts).
   */
  | { type: "prepareRefresh" }
  /** Times one refresh of that cache, or one full reload (a new cache's load on its client). */
  | { type: "timeRefresh"; kind: RefreshKind };

/** What the refresh benchmark times: a refresh of a loaded cache, or a full reload. */
export type RefreshKind = "refresh" | "reload";

/** One timed refresh or full reload. */
export interface RefreshOutcome {
  kind: RefreshKind;
  durationMs: number;
  /** List pages answered. */
  listPages: number;
  /** Values read (gets answered). */
  gets: number;
  /** Requests sent, all kinds. */
  attempts: number;
  /** Secrets the refresh reported added, updated or removed (0 for an unchanged vault). */
  changed: number;
}

/** When things happened in one instance's load, in ms from the start of the run. */
export interface InstanceTimeline {
  /** The first and last 429 answered. */
  firstThrottledMs?: number;
  lastThrottledMs?: number;
  /** The first request sent after the last 429 that was answered without 429. */
  resumedMs?: number;
  /**
   * The earliest time the last throttling episode's `Retry-After` answers allowed a request again
   * (the least, over its 429s, of answered + Retry-After): what a client that honours them can do
   * at best, whole seconds being all the header says.
   */
  retryAfterEndsMs?: number;
  /** The last list page answered. */
  listedMs?: number;
  /** List pages answered before the first 429 (of 40 for 1,000 secrets). */
  pagesBeforeThrottle?: number;
  /** The load finished. */
  doneMs: number;
}

/** What one run of the prepared loaders gave. */
export interface LoadOutcome {
  /** From the first request until every instance finished. */
  durationMs: number;
  /** Attempts sent by all instances (retries and 429s included). */
  attempts: number;
  throttled: number;
  /** Instances whose load failed or returned anything but every secret with its value. */
  failedLoads: number;
  failedSecrets: number;
  /** Why loads failed (error messages; never values). */
  errors: string[];
  timelines: InstanceTimeline[];
}

/** Loader -> orchestrator. */
export type CacheLoaderMessage =
  | { type: "ready" }
  | { type: "roundTrip"; ms: number }
  | { type: "prepared" }
  | { type: "loaded"; outcome: LoadOutcome }
  | { type: "refreshPrepared"; settleRefreshes: number }
  | { type: "refreshTimed"; outcome: RefreshOutcome }
  | { type: "failed"; message: string };
