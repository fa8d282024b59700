import { EventEmitter, setMaxListeners } from "node:events";
import { inspect } from "node:util";
import { AbortError, type AbortSignalLike } from "@azure/abort-controller";
import { logger } from "../log.js";
import {
  mapToEnvironment,
  type ApplyToProcessEnvOptions,
  type ApplyToProcessEnvResult,
  type ToEnvOptions,
} from "./environment.js";
import { describeFailures, SecretCacheError, type SecretCacheFailure } from "./errors.js";
import {
  checkSecretKey,
  keyOf,
  resolveSecretCacheOptions,
  type SecretCacheClient,
  type SecretCacheOptions,
} from "./options.js";
import { SharedBackoff } from "./sharedBackoff.js";
import {
  applyChanges,
  type CachedSecret,
  type SecretCacheChange,
  type SecretCacheSkippedSecret,
  Synchronizer,
  type SyncResult,
  toEntry,
} from "./synchronizer.js";

/** Options of `load()` and `refresh()`. */
export interface SecretCacheOperationOptions {
  /**
   * Ends the load or refresh: its requests and waits stop and it rejects with an `AbortError`,
   * changing nothing in the cache. A call that joins a load or refresh already running stops
   * only its own wait; the signal of the call that started it ends it for every caller.
   * @default none
   */
  abortSignal?: AbortSignalLike;
}

/** What `load()` read: names, never values. */
export interface SecretCacheLoadResult {
  /** The names of the cached secrets, as the vault spells them, sorted. */
  loaded: string[];
  /**
   * Secrets left out because their `expiresOn` has passed or their `notBefore` is to come
   * (unless `includeOutsideValidityPeriod`), sorted by name.
   */
  skipped: SecretCacheSkippedSecret[];
  /**
   * Names given in `names` that the vault lacks or holds disabled, as given, sorted. Only ever
   * non-empty with `allowMissingNames`: otherwise `load()` fails naming them.
   */
  missing: string[];
}

const noChange = (): SecretCacheChange => ({ added: [], updated: [], removed: [], skipped: [] });

/** Settles with `promise`, or rejects with an AbortError as soon as `signal` fires. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignalLike | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(new AbortError("The SecretCache wait was aborted."));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new AbortError("The SecretCache wait was aborted."));
    signal.addEventListener("abort", onAbort);
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/**
 * Loads the secrets of a vault into memory once, serves them synchronously, and keeps them fresh:
 * the startup and rotation pattern of .NET's Key Vault configuration provider and Spring's Key
 * Vault property source.
 *
 * **Loading.** `load()` lists the secrets (every page, with this package's client or Microsoft's
 * 4.x one), skips disabled ones and those the filters (`filter`, `names`, `prefix`, `tag`) reject,
 * and fetches the values with at most `concurrency` requests in flight; fetching starts with the
 * first page, while the listing goes on. Secrets whose `expiresOn` has passed or whose `notBefore`
 * is to come are skipped and reported in the result's `skipped` (`includeOutsideValidityPeriod`
 * caches them too). With `names`, `load()` fails naming each named secret the vault lacks or holds
 * disabled (`allowMissingNames` lets it succeed without them, listing them in `missing`): no
 * silent partial result.
 *
 * **One shared backoff.** The requests of a load or refresh ask the client to give a 429 back at
 * once rather than retry it on its own, and this package's `SecretClient` does. The first 429
 * then pauses *every* worker: none sends another request until the `Retry-After` of that answer
 * (or, without one, an exponential delay from `throttleDelayInMs`) has passed; then the throttled
 * request is tried again. A client that does not know this ask (Microsoft's 4.x `SecretClient`)
 * retries a 429 on its own first (4.x honours `Retry-After`, up to 3 times), each worker alone,
 * and the pause begins when it gives up; the cache logs a warning the first time it sees such a
 * 429. `getOrFetch` reads a single secret: the client retries its 429s first, whatever the
 * client. 429s of requests that were already in flight when the pause began are the same episode
 * and do not deepen the delay. A request throttled `maxAttempts` times fails, and `load()` rejects
 * with a {@link SecretCacheError} naming every such secret. A secret deleted or disabled between
 * the listing and its fetch (404, 403) is treated as absent, not as a failure.
 *
 * **Refresh.** `refresh()` (or the `refreshIntervalInMs` timer) lists again and fetches only what
 * changed. The list carries no version id (the service gives each secret's base id), so a secret is
 * fetched again when its `updatedOn` differs from the cached one, or when it was last fetched within
 * a few seconds of its `updatedOn` (two versions created within one second share it); it counts as
 * `updated` only when its version or value changed. Additions and deletions are picked up, and
 * `change` is emitted with the names. A refresh that fails keeps the last good values (stale while
 * error): `refresh()` rejects; the timer emits `error` when a listener is attached and otherwise
 * logs a warning (an `error` event without listener would throw from a timer and end the process).
 * Secrets that could be read are applied even when others failed.
 *
 * **Values are never logged**, nor put into an error message; errors and logs name the secret.
 * `util.inspect(cache)`, `console.log(cache)` and `JSON.stringify(cache)` show the names and the
 * state, never a value.
 *
 * @example
 * ```ts
 * import { DefaultAzureCredential } from "@azure/identity";
 * import { SecretCache, SecretClient } from "keyvault-secrets";
 *
 * const client = new SecretClient("https://myvault.vault.azure.net", new DefaultAzureCredential());
 * const cache = new SecretCache(client, { prefix: "myapp-", refreshIntervalInMs: 5 * 60_000 });
 * cache.on("change", ({ updated }) => console.log(`rotated: ${updated.join(", ")}`));
 * cache.on("error", (error) => console.warn(`refresh failed, keeping last values: ${error.message}`));
 * await cache.load();
 * const password = cache.get("myapp-db-password");
 * cache.applyToProcessEnv();
 * // ... at shutdown:
 * cache.close();
 * ```
 */
export class SecretCache extends EventEmitter {
  private readonly refreshIntervalInMs: number | undefined;
  private readonly synchronizer: Synchronizer;
  private readonly closeController = new AbortController();
  private entries = new Map<string, CachedSecret>();
  private readonly pendingFetches = new Map<string, Promise<string>>();
  private readonly requiredNames: Map<string, string> | undefined;
  private readonly allowMissingNames: boolean;
  private loading: Promise<SecretCacheLoadResult> | undefined;
  private refreshing: Promise<SecretCacheChange> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private isLoaded = false;

  /**
   * Creates a cache; nothing is read until `load()` or `getOrFetch()`.
   *
   * @param client - A `SecretClient` (or anything with its `listPropertiesOfSecrets` and
   *   `getSecret`).
   * @param options - Filters, concurrency, throttling and refresh settings.
   * @throws TypeError when the client or an option has the wrong type; RangeError when a number is
   *   out of range.
   * @example
   * ```ts
   * const cache = new SecretCache(client, { tag: { name: "app", value: "billing" } });
   * ```
   */
  constructor(client: SecretCacheClient, options: SecretCacheOptions = {}) {
    super();
    const settings = resolveSecretCacheOptions(client, options);
    this.refreshIntervalInMs = settings.refreshIntervalInMs;
    this.requiredNames = settings.requiredNames;
    this.allowMissingNames = settings.allowMissingNames;
    // One listener per pending getOrFetch and per load or refresh, all removed when they settle.
    setMaxListeners(0, this.closeController.signal);
    this.synchronizer = new Synchronizer({
      client: settings.client,
      filter: settings.filter,
      backoff: new SharedBackoff({
        initialDelayInMs: settings.throttleDelayInMs,
        maxDelayInMs: settings.maxThrottleDelayInMs,
      }),
      concurrency: settings.concurrency,
      maxAttempts: settings.maxAttempts,
      includeOutsideValidityPeriod: settings.includeOutsideValidityPeriod,
      closeSignal: this.closeController.signal,
    });
  }

  /**
   * Whether `load()` has completed, so that `get` answers for every secret of the vault.
   * @returns true after a successful load
   */
  get loaded(): boolean {
    return this.isLoaded;
  }

  /**
   * How many secrets the cache holds.
   * @returns the count
   */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Reads every secret that passes the filters into the cache. Calling it again after it
   * succeeded refreshes the cache; calling it while it runs joins the same load.
   *
   * @param options - `abortSignal`: ends the load (it rejects with an `AbortError` and the cache
   *   stays as it was).
   * @returns Once every value is in the cache: the names loaded, the secrets skipped for their
   *   dates and (with `allowMissingNames`) the names the vault lacks.
   * @throws SecretCacheError naming each secret that could not be read (or the listing), e.g.
   *   one throttled `maxAttempts` times, and each name of `names` the vault lacks or holds
   *   disabled (unless `allowMissingNames`); the cache then stays unloaded. AbortError when the
   *   signal fired. Error when `close()` was called.
   * @example
   * ```ts
   * const { loaded, skipped } = await cache.load();
   * console.log(`${loaded.length} secrets loaded, ${skipped.length} skipped (expired or not yet valid)`);
   * ```
   */
  async load(options: SecretCacheOperationOptions = {}): Promise<SecretCacheLoadResult> {
    this.throwIfClosed("load()");
    const { abortSignal } = options;
    if (this.loading) return untilAborted(this.loading, abortSignal);
    if (this.isLoaded) {
      const change = await this.refresh({ abortSignal });
      return {
        loaded: this.secretNames(),
        skipped: change.skipped,
        missing: this.missingNames(new Set(change.skipped.map((s) => keyOf(s.secretName)))),
      };
    }
    this.loading = this.runLoad(abortSignal).finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  /**
   * The value of a secret, synchronously. Names compare case-insensitively.
   *
   * @param secretName - The secret's name.
   * @returns The value, or undefined when the vault has no such secret (or it is disabled or
   *   filtered out).
   * @throws Error when called before `load()` completed for a secret not fetched with `getOrFetch`.
   * @example
   * ```ts
   * await cache.load();
   * const password = cache.get("db-password");
   * ```
   */
  get(secretName: string): string | undefined {
    const key = checkSecretKey(secretName, "secretName");
    const entry = this.entries.get(key);
    if (entry !== undefined) return entry.value;
    if (!this.isLoaded) {
      throw new Error(
        `SecretCache.get("${secretName}") was called before load() completed. Await cache.load() first, or use await cache.getOrFetch("${secretName}") to fetch secrets one at a time.`,
      );
    }
    return undefined;
  }

  /**
   * Whether the cache holds a secret. Names compare case-insensitively.
   *
   * @param secretName - The secret's name.
   * @returns True when `get` would return a value.
   * @example
   * ```ts
   * if (!cache.has("db-password")) throw new Error("db-password is missing from the vault");
   * ```
   */
  has(secretName: string): boolean {
    return this.entries.has(checkSecretKey(secretName, "secretName"));
  }

  /**
   * The names of the cached secrets, as the vault spells them, sorted.
   *
   * @returns The names (never values).
   * @example
   * ```ts
   * console.log(cache.secretNames().join(", "));
   * ```
   */
  secretNames(): string[] {
    return [...this.entries.values()].map((entry) => entry.name).sort();
  }

  /**
   * The value of a secret from the cache, or fetched from the vault (and then cached) when the
   * cache does not hold it: for apps that do not preload. Concurrent calls for one name share
   * one request; the shared backoff applies.
   *
   * @param secretName - The secret's name.
   * @returns The value.
   * @throws SecretCacheError naming the secret when it cannot be read (not found, disabled,
   *   forbidden, still throttled) or the filters exclude it. Error when `close()` was called.
   * @example
   * ```ts
   * const cache = new SecretCache(client);
   * const password = await cache.getOrFetch("db-password");
   * ```
   */
  async getOrFetch(secretName: string): Promise<string> {
    const key = checkSecretKey(secretName, "secretName");
    const entry = this.entries.get(key);
    if (entry !== undefined) return entry.value;
    this.throwIfClosed("getOrFetch()");
    let pending = this.pendingFetches.get(key);
    if (pending === undefined) {
      pending = this.fetchOne(secretName, key).finally(() => this.pendingFetches.delete(key));
      this.pendingFetches.set(key, pending);
    }
    return pending;
  }

  /**
   * Lists the vault again and fetches only the secrets that changed, picks up additions (once
   * loaded; a cache filled only by `getOrFetch` updates and removes the secrets it holds) and
   * deletions, and emits `change` when anything changed. Concurrent calls share one refresh.
   *
   * @param options - `abortSignal`: ends the refresh (it rejects with an `AbortError` and the
   *   cache keeps its values).
   * @returns The names added, updated and removed, and the secrets skipped for their dates.
   * @throws SecretCacheError when the listing or some fetches failed. The cache keeps the last good
   *   value of each secret that could not be read (stale while error); what could be read is
   *   applied. AbortError when the signal fired. Error when `close()` was called.
   * @example
   * ```ts
   * const { added, updated, removed } = await cache.refresh();
   * ```
   */
  async refresh(options: SecretCacheOperationOptions = {}): Promise<SecretCacheChange> {
    this.throwIfClosed("refresh()");
    const { abortSignal } = options;
    if (this.refreshing) return untilAborted(this.refreshing, abortSignal);
    if (this.loading) {
      const loaded = await untilAborted(this.loading, abortSignal);
      return { ...noChange(), skipped: loaded.skipped };
    }
    if (!this.isLoaded && this.entries.size === 0) return noChange();
    this.refreshing = this.runRefresh(abortSignal).finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /**
   * The cached secrets as environment variables: keys from {@link toEnvironmentKey} (or
   * `transform`) after `prefix`.
   *
   * @param options - `prefix` and `transform`.
   * @returns Keys and values, e.g. `{ DB_PASSWORD: "..." }`.
   * @throws EnvironmentKeyCollisionError when two secrets map to one key (compared
   *   case-insensitively on Windows, whose environment ignores case). Error before `load()`.
   * @example
   * ```ts
   * const env = cache.toEnv({ prefix: "APP_" }); // db-password -> APP_DB_PASSWORD
   * ```
   */
  toEnv(options: ToEnvOptions = {}): Record<string, string> {
    if (!this.isLoaded) {
      throw new Error(
        "SecretCache.toEnv() was called before load() completed; await load() first.",
      );
    }
    const entries = [...this.entries.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([, entry]) => entry);
    return mapToEnvironment(entries, options, process.platform === "win32");
  }

  /**
   * Writes the cached secrets to `process.env` (keys as in {@link SecretCache.toEnv}). A
   * variable that is already set, even to an empty string, is left alone unless `override` is
   * true: the environment wins over the vault. Nothing is written when two secrets collide.
   * Later refreshes do not update `process.env`; call it again from a `change` listener for that.
   *
   * @param options - `override`, `prefix` and `transform`.
   * @returns The keys written and the keys skipped (never values).
   * @throws EnvironmentKeyCollisionError when two secrets map to one key. Error before `load()`.
   * @example
   * ```ts
   * await cache.load();
   * const { applied, skipped } = cache.applyToProcessEnv();
   * ```
   */
  applyToProcessEnv(options: ApplyToProcessEnvOptions = {}): ApplyToProcessEnvResult {
    const env = this.toEnv(options);
    const result: ApplyToProcessEnvResult = { applied: [], skipped: [] };
    for (const [key, value] of Object.entries(env)) {
      if (process.env[key] !== undefined && options.override !== true) {
        result.skipped.push(key);
      } else {
        process.env[key] = value;
        result.applied.push(key);
      }
    }
    return result;
  }

  /**
   * Stops the refresh timer and any load, refresh or fetch in progress (they reject). Values
   * already cached stay readable with `get`. Calling it again does nothing.
   *
   * @example
   * ```ts
   * process.on("SIGTERM", () => cache.close());
   * ```
   */
  close(): void {
    if (this.closeController.signal.aborted) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.closeController.abort(new Error("The SecretCache was closed."));
  }

  /**
   * Listens to `change`: the names a refresh added, updated and removed (emitted only when one of
   * them is not empty; the first `load()` does not emit it).
   * @param event - `"change"`
   * @param listener - called with the change
   * @returns this cache
   * @example
   * ```ts
   * cache.on("change", ({ updated }) => reconnectIfNeeded(updated));
   * ```
   */
  override on(event: "change", listener: (change: SecretCacheChange) => void): this;
  /**
   * Listens to `error`: a background refresh failed and the last good values are kept. Without
   * an `error` listener such failures are logged as warnings instead.
   * @param event - `"error"`
   * @param listener - called with the error (usually a {@link SecretCacheError})
   * @returns this cache
   * @example
   * ```ts
   * cache.on("error", (error) => console.warn(error.message));
   * ```
   */
  override on(event: "error", listener: (error: Error) => void): this;
  override on(event: string | symbol, listener: (value: never) => void): this {
    return super.on(event, listener as unknown as (...args: unknown[]) => void);
  }

  /**
   * Listens to the next `change` only.
   * @param event - `"change"`
   * @param listener - called with the change
   * @returns this cache
   * @example
   * ```ts
   * cache.once("change", (change) => console.log(change.added));
   * ```
   */
  override once(event: "change", listener: (change: SecretCacheChange) => void): this;
  /**
   * Listens to the next `error` only.
   * @param event - `"error"`
   * @param listener - called with the error
   * @returns this cache
   * @example
   * ```ts
   * cache.once("error", (error) => console.warn(error.message));
   * ```
   */
  override once(event: "error", listener: (error: Error) => void): this;
  override once(event: string | symbol, listener: (value: never) => void): this {
    return super.once(event, listener as unknown as (...args: unknown[]) => void);
  }

  /**
   * Removes a `change` listener.
   * @param event - `"change"`
   * @param listener - the listener given to `on`
   * @returns this cache
   * @example
   * ```ts
   * cache.off("change", onChange);
   * ```
   */
  override off(event: "change", listener: (change: SecretCacheChange) => void): this;
  /**
   * Removes an `error` listener.
   * @param event - `"error"`
   * @param listener - the listener given to `on`
   * @returns this cache
   * @example
   * ```ts
   * cache.off("error", onError);
   * ```
   */
  override off(event: "error", listener: (error: Error) => void): this;
  override off(event: string | symbol, listener: (value: never) => void): this {
    return super.off(event, listener as unknown as (...args: unknown[]) => void);
  }

  private async runLoad(abortSignal: AbortSignalLike | undefined): Promise<SecretCacheLoadResult> {
    const startedAt = Date.now();
    const result = await this.synchronizer.synchronize(true, undefined, abortSignal);
    if (result.failures.length > 0) {
      throw new SecretCacheError(
        `SecretCache.load() could not read ${describeFailures(result.failures, result.attempted)}. Nothing was loaded.`,
        result.failures,
      );
    }
    const absent = this.absentNames(result);
    if (absent.length > 0 && !this.allowMissingNames) {
      throw new SecretCacheError(
        `SecretCache.load(): ${absent.length} of the ${this.requiredNames!.size} secrets named in options.names ${absent.length === 1 ? "is" : "are"} not available: ${absent.map((f) => `"${f.secretName}" (${f.reason})`).join(", ")}. Nothing was loaded; add them to the vault (enabled), or set allowMissingNames: true to load without them.`,
        absent,
      );
    }
    const entries = new Map<string, CachedSecret>();
    for (const [key, secret] of result.fetched) entries.set(key, toEntry(secret));
    this.entries = entries;
    this.isLoaded = true;
    logger.info(
      `SecretCache: loaded ${entries.size} secrets (${result.vanished.size} vanished during the load, ${result.skipped.length} skipped for their dates${absent.length > 0 ? `, ${absent.length} named ones missing` : ""}) in ${Date.now() - startedAt} ms.`,
    );
    if (result.skipped.length > 0) {
      logger.info(
        `SecretCache: skipped ${result.skipped.map((s) => `"${s.secretName}" (${s.reason})`).join(", ")}.`,
      );
    }
    this.scheduleRefresh();
    return {
      loaded: this.secretNames(),
      skipped: result.skipped,
      missing: absent.map((failure) => failure.secretName).sort(),
    };
  }

  /** Each name of `names` that the load did not find, or found disabled (never a skipped one). */
  private absentNames(result: SyncResult): SecretCacheFailure[] {
    if (this.requiredNames === undefined) return [];
    const skipped = new Set(result.skipped.map((s) => keyOf(s.secretName)));
    const absent: SecretCacheFailure[] = [];
    for (const [key, name] of this.requiredNames) {
      if (result.fetched.has(key) || skipped.has(key)) continue;
      const reason = result.disabled.has(key) ? "disabled" : "not found in the vault";
      absent.push({ secretName: name, reason, error: undefined });
    }
    return absent.sort((a, b) => (a.secretName < b.secretName ? -1 : 1));
  }

  /** The names of `names` the cache does not hold, other than the given skipped keys. */
  private missingNames(skipped: Set<string>): string[] {
    if (this.requiredNames === undefined) return [];
    return [...this.requiredNames]
      .filter(([key]) => !this.entries.has(key) && !skipped.has(key))
      .map(([, name]) => name)
      .sort();
  }

  private async runRefresh(abortSignal: AbortSignalLike | undefined): Promise<SecretCacheChange> {
    const snapshot = new Map(this.entries);
    const result = await this.synchronizer.synchronize(this.isLoaded, snapshot, abortSignal);
    const change = applyChanges(this.entries, snapshot, result);
    logger.info(
      `SecretCache: refresh fetched ${result.fetched.size} secrets: ${change.added.length} added, ${change.updated.length} updated, ${change.removed.length} removed, ${result.failures.length} failed.`,
    );
    if (change.added.length + change.updated.length + change.removed.length > 0) {
      this.emit("change", change);
    }
    if (result.failures.length > 0) {
      throw new SecretCacheError(
        `SecretCache.refresh() could not read ${describeFailures(result.failures, result.attempted)}; their last good values are kept.`,
        result.failures,
      );
    }
    return change;
  }

  private async fetchOne(secretName: string, key: string): Promise<string> {
    const secret = await this.synchronizer.fetchOne(secretName, key);
    const entry = toEntry(secret);
    // A refresh may have cached it meanwhile; the entry read last is as fresh as any.
    this.entries.set(key, entry);
    this.scheduleRefresh();
    return entry.value;
  }

  private scheduleRefresh(): void {
    const interval = this.refreshIntervalInMs;
    if (interval === undefined || this.timer !== undefined || this.closeController.signal.aborted) {
      return;
    }
    this.timer = setTimeout(() => {
      this.refresh()
        .catch((error: unknown) => this.reportBackgroundError(error))
        .finally(() => {
          this.timer = undefined;
          this.scheduleRefresh();
        });
    }, interval);
    // An app that is otherwise done should be able to exit; close() is for orderly shutdowns.
    this.timer.unref();
  }

  private reportBackgroundError(error: unknown): void {
    if (this.closeController.signal.aborted) return;
    const asError = error instanceof Error ? error : new Error(String(error));
    if (this.listenerCount("error") > 0) {
      this.emit("error", asError);
    } else {
      logger.warning(
        `SecretCache: background refresh failed; the last good values are kept. ${asError.message}`,
      );
    }
  }

  /**
   * What `util.inspect` and `console.log` show: the state and the names, never a value.
   * @returns the summary
   */
  [inspect.custom](): string {
    return `SecretCache ${inspect(this.toJSON())}`;
  }

  /**
   * What `JSON.stringify` writes: the state and the names, never a value.
   * @returns `{ loaded, size, secretNames }`
   * @example
   * ```ts
   * console.log(JSON.stringify(cache)); // {"loaded":true,"size":2,"secretNames":["a","b"]}
   * ```
   */
  toJSON(): { loaded: boolean; size: number; secretNames: string[] } {
    return { loaded: this.isLoaded, size: this.entries.size, secretNames: this.secretNames() };
  }

  private throwIfClosed(operation: string): void {
    if (this.closeController.signal.aborted) {
      throw new Error(`SecretCache.${operation} was called after close().`);
    }
  }
}
