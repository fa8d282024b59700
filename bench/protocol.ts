/**
 * What the benchmark processes say to each other (IPC messages of `child_process.fork`) and the
 * fixed names every process agrees on.
 */

/** The three contenders. */
export const contenderNames = ["ours", "official", "raw"] as const;
/** One contender: our client, `@azure/keyvault-secrets`, or a raw keep-alive HTTP loop. */
export type ContenderName = (typeof contenderNames)[number];

/** What one measured operation does. */
export type OperationKind = "get" | "set" | "list";

/** The api-version every contender sends (the default of both clients). */
export const benchApiVersion = "2026-04-01";
/** The secret read by the get scenarios. */
export const getSecretName = "bench-get";
/** The value of {@link getSecretName}: 64 characters, a typical password or connection string. */
export const getSecretValue = "v".repeat(48) + "0123456789abcdef";
/** The secret written by the set scenarios (always the same name: a new version each time). */
export const setSecretName = "bench-set";
/** The value the set scenarios write. */
export const setSecretValue = "s".repeat(48) + "fedcba9876543210";
/** Items per list page, as the service answers without `maxresults`. */
export const listPageSize = 25;

/** Name of the i-th secret of a listing. */
export function listSecretName(index: number): string {
  return `bench-${String(index).padStart(5, "0")}`;
}

/** How a server child is started (argv[2], JSON). */
export interface ServerConfig {
  /** Secrets the list pages hold (fixed server) or to create before listening (local vault). */
  items: number;
  /** Serve HTTPS with a generated certificate. */
  https: boolean;
}

/** First message of a server child. */
export interface ServerReady {
  type: "listening";
  /** The vault URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** PEM of the CA that issued the server certificate (HTTPS only). */
  caCertificate?: string;
}

/** How a client child is started (argv[2], JSON). */
export interface ClientConfig {
  contender: ContenderName;
  operation: OperationKind;
  concurrency: number;
  url: string;
  /** Items one listing must yield (list only): a check that every contender did the same work. */
  expectedItems: number;
}

/** Parent -> client child. */
export type ClientCommand =
  { type: "round"; warmupMs: number; durationMs: number; maxOps: number } | { type: "stop" };

/** What one measured round of a client child produced. */
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

/** Client child -> parent. */
export type ClientMessage =
  | { type: "ready"; maxRssKb: number }
  | { type: "result"; result: RoundResult }
  | { type: "stopped"; maxRssKb: number }
  | { type: "failed"; message: string };

/** What a cold-start child prints on its single stdout line (JSON). */
export interface ColdStartResult {
  /** Importing the client's module alone (none for raw: node:http is part of Node). */
  importMs: number;
  /** From just before the client is imported to the first getSecret's value in hand. */
  importToFirstGetMs?: number;
  /** From process start (Node's time origin) to the same point. */
  processToFirstGetMs?: number;
}

/**
 * The token every contender sends. The fixed server and the local vault (without `strictAuth`)
 * accept any bearer token, so the credential costs nothing and is the same for everyone.
 */
export const benchToken =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." +
  "eyJhdWQiOiJodHRwczovL3ZhdWx0LmF6dXJlLm5ldCIsImlzcyI6ImJlbmNoIn0." +
  "YmVuY2gtc2lnbmF0dXJlLW5vdC1jaGVja2Vk";
