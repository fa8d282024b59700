/**
 * The one protocol between the benchmark and its child processes.
 *
 * Every child is started with its configuration as JSON in argv[2]. A long-lived child (a server,
 * a contender, the SecretCache loaders) is started with `fork`: its first message is `ready`; then
 * it answers each command with `answer` (or `failed`), one command at a time; `stop` closes what
 * it holds, answers with its peak RSS and exits, as it also does when its parent goes away. A
 * one-shot child (a cold start, a vault start-up) is started with plain `node`, no IPC channel,
 * and prints its result as the last line of its stdout (JSON).
 */
import type { LocalVaultFaultOptions } from "../../src/emulator/index.js";
import type { ContenderName } from "./fixtures.js";

/** How a server child (the fixed server or the local vault) is started. */
export interface ServerConfig {
  /** Secrets to list: the fixed server's list pages, or the local vault's seed. */
  secrets: number;
  /** The local vault also holds the get scenarios' secret (the fixed server always answers it). */
  getSecret: boolean;
  /** Serve HTTPS with a generated certificate. */
  https: boolean;
}

/** What one measured operation of a contender does. */
export type OperationKind = "get" | "set" | "list";

/** How a contender child is started. */
export interface ClientConfig {
  contender: ContenderName;
  operation: OperationKind;
  concurrency: number;
  url: string;
  /** Items one listing must yield (list only): a check that every contender did the same work. */
  expectedItems: number;
  /** file: URL of our client's compiled entry point. */
  ourModuleUrl: string;
}

/** The loaders the SecretCache benchmark compares. */
export type Loader =
  "SecretCache" | "naive Promise.all (this client)" | "naive Promise.all (official)";

/** How the SecretCache loaders' child is started. */
export interface LoaderConfig {
  url: string;
  /** Secrets the vault holds: what every load must return. */
  secrets: number;
  /** Items of a list page. */
  pageSize: number;
}

/** How a cold-start child is started; `core` imports `@azure/core-rest-pipeline` alone. */
export interface ColdStartConfig {
  contender: ContenderName | "core";
  url: string;
  ourModuleUrl: string;
}

/** What a cold-start child prints. */
export interface ColdStartResult {
  /** Importing the client's module alone (none for raw: node:http is part of Node). */
  importMs: number;
  /** From just before the client is imported to the first getSecret's value in hand. */
  importToFirstGetMs?: number;
  /** From process start (Node's time origin) to the same point. */
  processToFirstGetMs?: number;
}

/** How a vault start-up child is started: the directory the vault keeps its state in. */
export interface StartupConfig {
  location: string;
}

/** What a vault start-up child prints. */
export interface StartupResult {
  ms: number;
  /** CPU time too: on a shared machine it varies less than the wall clock. */
  cpuMs: number;
}

/** What one measured round of a contender produced. */
export interface RoundResult {
  ops: number;
  /** Operations of the unmeasured warm-up before the round. */
  warmupOps: number;
  errors: number;
  elapsedMs: number;
  /** User + system CPU of the whole child process during the measured part, microseconds. */
  cpuUs: number;
  /** Peak resident set size of the child so far, kilobytes. */
  maxRssKb: number;
}

/** When things happened in one SecretCache instance's load, in ms from the start of the run. */
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

/** A command that carries nothing but its name. */
type Bare = Record<never, never>;

/** Every command a child may be sent: what it carries, and what the child answers. */
export interface Exchanges {
  /** Every child: close, answer with the peak RSS, exit. */
  stop: { ask: Bare; answer: { maxRssKb: number } };
  /** The local vault: set its faults (which also starts a fresh throttle window). */
  faults: { ask: { faults: LocalVaultFaultOptions }; answer: null };
  /** A contender: a warm-up, then a measured round of its operation. */
  round: { ask: { warmupMs: number; durationMs: number; maxOps: number }; answer: RoundResult };
  /** The loaders: median round trip (ms) of a list page under the vault's current faults. */
  roundTrip: { ask: { samples: number }; answer: number };
  /** The loaders: create `instances` loaders and warm each client (challenge, connection). */
  prepare: { ask: { loader: Loader; instances: number }; answer: null };
  /** The loaders: run the prepared loaders at once, time them, close them. */
  load: { ask: Bare; answer: LoadOutcome };
  /**
   * The loaders: load one SecretCache for the refresh benchmark and refresh it until a refresh
   * reads no value; answers how many refreshes that took.
   */
  prepareRefresh: { ask: Bare; answer: number };
  /** The loaders: time one refresh of that cache, or one full reload. */
  timeRefresh: { ask: { kind: RefreshKind }; answer: RefreshOutcome };
}

/** The name of a command. */
export type CommandName = keyof Exchanges;
/** A command as sent: its name in `type`, and what it carries. */
export type Command<N extends CommandName = CommandName> = {
  [K in N]: { type: K } & Exchanges[K]["ask"];
}[N];
/** What a child answers to a command. */
export type Answer<N extends CommandName> = Exchanges[N]["answer"];

/** What a child says once it takes commands. */
export interface ReadyInfo {
  /** Peak resident set size so far, kilobytes. */
  maxRssKb: number;
  /** A server's URL, e.g. `http://127.0.0.1:41234`. */
  url?: string;
  /** PEM of the CA that issued a server's certificate (HTTPS only). */
  caCertificate?: string;
}

/** Child -> parent. */
export type ChildMessage =
  | ({ type: "ready" } & ReadyInfo)
  | { type: "answer"; command: CommandName; answer: unknown }
  | { type: "failed"; message: string };
