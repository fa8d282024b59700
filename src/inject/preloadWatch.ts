/**
 * Watching in the preload `keyvault-secrets/env` (ESM and CommonJS alike): `secretsWatcher`, one
 * per process whichever module system loaded the preload, and the background watcher that keeps
 * `process.env` current. The reads run in a worker thread (preloadWatchWorker.ts) that is
 * unref'd: its timers, requests and retries never keep the app alive, and nothing it does can
 * throw into the app. The app's thread only applies what the worker found, all at once, and
 * emits `change`.
 */
import { EventEmitter } from "node:events";
import { Worker } from "node:worker_threads";
import { preloadChildVariable, preloadPrefix, writeLine } from "./loadEnvironment.js";
import { testTimingFrom } from "./watchSettings.js";

/** A `change` of {@link SecretsWatcher}: the variables of `process.env` that changed. Names only. */
export interface SecretsWatcherChange {
  /** Every variable that changed, sorted. */
  names: string[];
  /** Variables set that were not set by the preload before, sorted. */
  added: string[];
  /** Variables set to a new value, sorted. */
  updated: string[];
  /**
   * Variables the preload no longer sets (their secret was deleted, disabled or expired, or no
   * longer passes the filters), sorted: deleted from `process.env`, or set back to the value the
   * environment gave (a Key Vault reference's text).
   */
  removed: string[];
}

/**
 * Tells the app when `keyvault-secrets/env` updated `process.env` (with
 * `KEYVAULT_SECRETS_WATCH` set). `process.env` holds the new values when `change` is emitted.
 *
 * @example
 * ```ts
 * import { secretsWatcher } from "keyvault-secrets/env";
 *
 * secretsWatcher.on("change", ({ names }) => {
 *   console.log(`rotated: ${names.join(", ")}`); // process.env holds the new values
 * });
 * ```
 */
export interface SecretsWatcher {
  /** Whether the preload watches the vault (`KEYVAULT_SECRETS_WATCH` set); no `change` otherwise. */
  readonly watching: boolean;
  /**
   * Listens to `change`: `process.env` was updated.
   * @param event - `"change"`
   * @param listener - called with the variables that changed
   * @returns the watcher
   */
  on(event: "change", listener: (change: SecretsWatcherChange) => void): this;
  /**
   * Listens to the next `change` only.
   * @param event - `"change"`
   * @param listener - called with the variables that changed
   * @returns the watcher
   */
  once(event: "change", listener: (change: SecretsWatcherChange) => void): this;
  /**
   * Removes a `change` listener.
   * @param event - `"change"`
   * @param listener - the listener given to `on`
   * @returns the watcher
   */
  off(event: "change", listener: (change: SecretsWatcherChange) => void): this;
}

/** The one watcher of the process. */
class PreloadSecretsWatcher extends EventEmitter implements SecretsWatcher {
  watching = false;
}

/** What the preload keeps once per process, shared by its ES module and CommonJS forms. */
export interface PreloadState {
  watcher: PreloadSecretsWatcher;
  /** Whether a preload has loaded the secrets in this process (the other form then does not). */
  loaded: boolean;
}

const stateKey = Symbol.for("keyvault-secrets/env");

/**
 * The preload's state of this process, created by whichever form of the preload comes first.
 * @returns the state
 */
export function preloadState(): PreloadState {
  const holder = globalThis as { [stateKey]?: PreloadState };
  return (holder[stateKey] ??= { watcher: new PreloadSecretsWatcher(), loaded: false });
}

/**
 * Whether this preload is to load: not in its own helper process or worker, and not when the other
 * form of the preload has loaded in this process already. Claims the load when it is.
 * @returns true when the caller loads
 */
export function claimLoad(): boolean {
  const state = preloadState();
  if (process.env[preloadChildVariable] !== undefined || state.loaded) return false;
  state.loaded = true;
  return true;
}

/**
 * Sets the loaded variables in `process.env` and, when `KEYVAULT_SECRETS_WATCH` asked for it,
 * starts watching.
 * @param workerFile - preloadWatchWorker.js of the same build
 * @param env - the environment before the preload set anything
 * @param variables - the variables loaded
 * @param intervalInMs - the watch interval, or undefined when not watching
 */
export function applyAndWatch(
  workerFile: string | URL,
  env: Record<string, string | undefined>,
  variables: Record<string, string>,
  intervalInMs: number | undefined,
): void {
  for (const [key, value] of Object.entries(variables)) process.env[key] = value;
  if (intervalInMs === undefined) return;
  watchInBackground(workerFile, {
    env,
    variables,
    intervalInMs,
    fastRetries: testTimingFrom(env) !== undefined,
  });
}

/** What the worker needs. Values travel in memory only (never a command line or a file). */
export interface WatchWorkerData {
  /** The environment as it was before the preload set anything. */
  env: Record<string, string | undefined>;
  /** The variables the preload set. */
  variables: Record<string, string>;
  intervalInMs: number;
  fastRetries: boolean;
}

/** What the worker posts. */
export type WatchWorkerMessage =
  | { kind: "warning"; line: string }
  | {
      kind: "change";
      variables: Record<string, string>;
      added: string[];
      updated: string[];
      removed: string[];
      /** The change in words, names only. */
      description: string;
    };

/**
 * Starts watching in a worker thread that does not keep the process alive.
 * @param workerFile - preloadWatchWorker.js of the same build
 * @param data - the environment before the preload, the variables it set, the interval
 */
function watchInBackground(workerFile: string | URL, data: WatchWorkerData): void {
  const { watcher } = preloadState();
  let worker: Worker;
  try {
    worker = new Worker(workerFile, {
      workerData: data,
      // The marker keeps a preload in NODE_OPTIONS or execArgv from loading again in the worker.
      env: { ...data.env, [preloadChildVariable]: "1" },
      execArgv: [],
    });
  } catch (error) {
    warn(`watching could not start (${describe(error)}); process.env keeps its values.`);
    return;
  }
  watcher.watching = true;
  worker.on("message", (message: WatchWorkerMessage) => {
    if (message.kind === "warning") {
      warn(message.line);
      return;
    }
    applyChange(message, data.env);
    warn(`process.env updated: ${message.description}.`);
    const { added, updated, removed } = message;
    const names = [...added, ...updated, ...removed].sort();
    watcher.emit("change", { names, added, updated, removed } satisfies SecretsWatcherChange);
  });
  worker.on("error", (error) => {
    watcher.watching = false;
    warn(`watching stopped (${describe(error)}); process.env keeps its values.`);
  });
  // Last: a "message" listener refs the worker again.
  worker.unref();
}

/** Updates `process.env` in one synchronous step: the app never sees half a change. */
function applyChange(
  change: Extract<WatchWorkerMessage, { kind: "change" }>,
  env: Record<string, string | undefined>,
): void {
  for (const key of change.removed) {
    const given = env[key];
    if (given === undefined) delete process.env[key];
    else process.env[key] = given;
  }
  for (const key of [...change.added, ...change.updated]) {
    process.env[key] = change.variables[key];
  }
}

function warn(line: string): void {
  writeLine(preloadPrefix, line);
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
