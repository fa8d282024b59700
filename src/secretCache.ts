import { EventEmitter, setMaxListeners } from "node:events";
import type { AbortSignalLike } from "@azure/abort-controller";
import type { PageSettings } from "@azure/core-paging";
import { isRestError } from "@azure/core-rest-pipeline";
import { logger } from "./log.js";
import type { KeyVaultSecret, SecretProperties } from "./models.js";
import type { ContinuablePage } from "./paging.js";
import {
  mapToEnvironment,
  type ApplyToProcessEnvOptions,
  type ApplyToProcessEnvResult,
  type ToEnvOptions,
} from "./secretCache/environment.js";
import { isThrottled, retryAfterInMs, SharedBackoff } from "./secretCache/sharedBackoff.js";

export {
  EnvironmentKeyCollisionError,
  toEnvironmentKey,
  type ApplyToProcessEnvOptions,
  type ApplyToProcessEnvResult,
  type EnvironmentKeyCollision,
  type ToEnvOptions,
} from "./secretCache/environment.js";

/**
 * What a {@link SecretCache} needs of a client: the two read methods of `SecretClient`. A
 * `SecretClient` is one; a test can pass a fake.
 */
export interface SecretCacheClient {
  /**
   * Lists the secrets of the vault (properties only), page by page.
   * @param options - the abort signal of the load or refresh
   * @returns an iterable whose `byPage()` gives pages with continuation tokens
   */
  listPropertiesOfSecrets(options?: { abortSignal?: AbortSignalLike }): {
    byPage(settings?: PageSettings): AsyncIterableIterator<ContinuablePage<SecretProperties>>;
  };
  /**
   * Reads the latest version of a secret with its value.
   * @param secretName - the name
   * @param options - the abort signal of the load or refresh
   * @returns the secret
   */
  getSecret(
    secretName: string,
    options?: { abortSignal?: AbortSignalLike },
  ): Promise<KeyVaultSecret>;
}

/** Keeps only secrets that carry a tag, optionally with a given value. */
export interface SecretCacheTagFilter {
  /** The tag name (case-sensitive, as tags are stored). */
  name: string;
  /**
   * The value the tag must have.
   * @default any value
   */
  value?: string;
}

/**
 * Options of {@link SecretCache}. The filters combine: a secret is cached when it is enabled and
 * passes every filter given.
 */
export interface SecretCacheOptions {
  /**
   * Keeps the secrets for which it returns true; it sees the listed properties (name, tags,
   * content type, dates), never a value.
   * @default all secrets
   */
  filter?: (properties: SecretProperties) => boolean;
  /**
   * Keeps only these secrets (names compare case-insensitively, as in the vault). A name that is
   * not in the vault is simply absent: `get` returns undefined for it.
   * @default all secrets
   */
  names?: string[];
  /**
   * Keeps only secrets whose name starts with this text (case-insensitively). The cache keeps
   * the full names; strip the prefix in {@link ToEnvOptions.transform} if needed.
   * @default all secrets
   */
  prefix?: string;
  /**
   * Keeps only secrets that carry this tag (and value, when given).
   * @default all secrets
   */
  tag?: SecretCacheTagFilter;
  /**
   * The most secret values fetched at once (the listing runs beside them, one page at a time).
   * @default 32
   */
  concurrency?: number;
  /**
   * Attempts per request (each one includes the client's own retries) while the vault keeps
   * answering 429. When one request has used them all, `load()` fails naming the secret.
   * @default 5
   */
  maxAttempts?: number;
  /**
   * The first shared pause after a 429 that carries no `Retry-After`; it doubles with each new
   * throttling episode (1, 2, 4, 8, 16 s by default, as Key Vault advises), plus up to 20 % jitter.
   * @default 1000
   */
  throttleDelayInMs?: number;
  /**
   * The longest shared pause after a 429 that carries no `Retry-After` (a `Retry-After` is always
   * honoured in full).
   * @default 16000
   */
  maxThrottleDelayInMs?: number;
  /**
   * Refreshes the cache in the background this often, starting once `load()` (or a first
   * `getOrFetch`) succeeded. The timer does not keep the process alive; `close()` stops it.
   * @default no background refresh
   */
  refreshIntervalInMs?: number;
}

/** The names of the secrets one refresh changed. Sorted; never values. */
export interface SecretCacheChange {
  /** Secrets new in the cache. */
  added: string[];
  /** Secrets whose latest version changed (rotated). */
  updated: string[];
  /** Secrets gone from the cache: deleted, disabled, or no longer passing the filters. */
  removed: string[];
}

/** One secret a {@link SecretCache} could not read, and why. */
export interface SecretCacheFailure {
  /** The secret's name, or `"(listing)"` when the list of secrets itself failed. */
  secretName: string;
  /** Why, in words: the status code, service error code and message. Never a value. */
  reason: string;
  /** The error the client threw (a `RestError` for a service answer). */
  error: unknown;
}

/**
 * A load, refresh or fetch of a {@link SecretCache} that failed. The message names each secret
 * that failed and why (up to ten; `failures` has all of them) and never contains a value.
 *
 * @example
 * ```ts
 * try {
 *   await cache.load();
 * } catch (error) {
 *   if (error instanceof SecretCacheError) {
 *     for (const { secretName, reason } of error.failures) console.error(secretName, reason);
 *   }
 * }
 * ```
 */
export class SecretCacheError extends Error {
  /** Every secret that failed. */
  readonly failures: SecretCacheFailure[];

  /**
   * Creates the error.
   * @param message - what failed
   * @param failures - each secret that failed and why
   */
  constructor(message: string, failures: SecretCacheFailure[]) {
    super(message, failures.length === 1 ? { cause: failures[0]!.error } : undefined);
    this.name = "SecretCacheError";
    this.failures = failures;
  }
}

/** Name used in failures of the listing itself. */
const listingFailureName = "(listing)";
/** Failures named in an error message; the rest are counted. */
const failuresInMessage = 10;
/**
 * A secret fetched less than this long after its last update may get another version within the
 * same whole second of `updatedOn`, which the list could not tell apart; it is fetched again on
 * the next refresh. The margin covers clock skew between the vault and this machine.
 */
const unsettledWindowInMs = 3000;
/** setTimeout's largest delay. */
const maxTimerDelayInMs = 2_147_483_647;

const defaults = {
  concurrency: 32,
  maxAttempts: 5,
  throttleDelayInMs: 1000,
  maxThrottleDelayInMs: 16_000,
};

interface CachedSecret {
  name: string;
  value: string;
  version: string | undefined;
  updatedOnMs: number | undefined;
  /** Whether a version created later could show in the list with the same `updatedOn`. */
  unsettled: boolean;
}

/** A 429 that outlasted every attempt. */
class StillThrottledError extends Error {
  constructor(
    readonly attempts: number,
    readonly lastError: unknown,
  ) {
    const retryAfter = retryAfterInMs(lastError);
    super(
      `still throttled (429) after ${attempts} attempt${attempts === 1 ? "" : "s"}${retryAfter === undefined ? "" : `; the vault last asked to wait ${Math.ceil(retryAfter / 1000)} s`}`,
    );
    this.name = "StillThrottledError";
  }
}

/**
 * Loads the secrets of a vault into memory once, serves them synchronously, and keeps them fresh:
 * the startup and rotation pattern of .NET's Key Vault configuration provider and Spring's Key
 * Vault property source.
 *
 * **Loading.** `load()` lists the secrets (one page at a time), skips disabled ones and those the
 * filters (`filter`, `names`, `prefix`, `tag`) reject, and fetches the values with at most
 * `concurrency` requests in flight; fetching starts with the first page, while the listing goes on.
 *
 * **One shared backoff.** The client's retry policy first retries each throttled request on its
 * own (honouring `Retry-After`). If a request still ends in 429, the cache pauses *every* worker:
 * none sends another request until the `Retry-After` of that answer (or, without one, an
 * exponential delay from `throttleDelayInMs`) has passed; then the throttled request is tried
 * again. 429s of requests that were already in flight when the pause began are the same episode
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
  private readonly client: SecretCacheClient;
  private readonly filter: ((properties: SecretProperties) => boolean) | undefined;
  private readonly names: Set<string> | undefined;
  private readonly prefix: string | undefined;
  private readonly tag: SecretCacheTagFilter | undefined;
  private readonly concurrency: number;
  private readonly maxAttempts: number;
  private readonly refreshIntervalInMs: number | undefined;
  private readonly backoff: SharedBackoff;
  private readonly closeController = new AbortController();
  private entries = new Map<string, CachedSecret>();
  private readonly pendingFetches = new Map<string, Promise<string>>();
  private loading: Promise<void> | undefined;
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
    if (
      typeof client !== "object" ||
      client === null ||
      typeof client.listPropertiesOfSecrets !== "function" ||
      typeof client.getSecret !== "function"
    ) {
      throw new TypeError(
        "client must be a SecretClient (an object with listPropertiesOfSecrets and getSecret).",
      );
    }
    if (typeof options !== "object" || options === null) {
      throw new TypeError("options must be an object.");
    }
    this.client = client;
    // One listener per pending getOrFetch and per load or refresh, all removed when they settle.
    setMaxListeners(0, this.closeController.signal);
    if (options.filter !== undefined && typeof options.filter !== "function") {
      throw new TypeError(`options.filter must be a function, got ${typeof options.filter}.`);
    }
    this.filter = options.filter;
    if (options.names !== undefined) {
      if (
        !Array.isArray(options.names) ||
        options.names.some((name) => typeof name !== "string" || name === "")
      ) {
        throw new TypeError("options.names must be an array of non-empty strings.");
      }
      this.names = new Set(options.names.map(keyOf));
    }
    if (options.prefix !== undefined && typeof options.prefix !== "string") {
      throw new TypeError(`options.prefix must be a string, got ${typeof options.prefix}.`);
    }
    this.prefix = options.prefix ? keyOf(options.prefix) : undefined;
    if (options.tag !== undefined) {
      const { tag } = options;
      if (
        typeof tag !== "object" ||
        tag === null ||
        typeof tag.name !== "string" ||
        tag.name === "" ||
        (tag.value !== undefined && typeof tag.value !== "string")
      ) {
        throw new TypeError(
          'options.tag must be { name: string; value?: string } with a non-empty name, e.g. { name: "app", value: "billing" }.',
        );
      }
      this.tag = { ...tag };
    }
    this.concurrency = integerOption(options.concurrency, "concurrency", defaults.concurrency, 1);
    this.maxAttempts = integerOption(options.maxAttempts, "maxAttempts", defaults.maxAttempts, 1);
    const throttleDelayInMs = durationOption(
      options.throttleDelayInMs,
      "throttleDelayInMs",
      defaults.throttleDelayInMs,
    );
    const maxThrottleDelayInMs = durationOption(
      options.maxThrottleDelayInMs,
      "maxThrottleDelayInMs",
      Math.max(defaults.maxThrottleDelayInMs, throttleDelayInMs),
    );
    if (maxThrottleDelayInMs < throttleDelayInMs) {
      throw new RangeError(
        `options.maxThrottleDelayInMs (${maxThrottleDelayInMs}) must not be less than throttleDelayInMs (${throttleDelayInMs}).`,
      );
    }
    this.backoff = new SharedBackoff({
      initialDelayInMs: throttleDelayInMs,
      maxDelayInMs: maxThrottleDelayInMs,
    });
    if (options.refreshIntervalInMs !== undefined) {
      const interval = options.refreshIntervalInMs;
      if (
        typeof interval !== "number" ||
        !Number.isFinite(interval) ||
        interval <= 0 ||
        interval > maxTimerDelayInMs
      ) {
        throw new RangeError(
          `options.refreshIntervalInMs must be a number of milliseconds above 0 and at most ${maxTimerDelayInMs}, got ${String(interval)}.`,
        );
      }
      this.refreshIntervalInMs = interval;
    }
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
   * succeeded refreshes the cache; calling it while it runs returns the same promise.
   *
   * @returns Once every value is in the cache.
   * @throws SecretCacheError naming each secret that could not be read (or the listing), e.g.
   *   one throttled `maxAttempts` times; the cache then stays unloaded. Error when `close()` was
   *   called.
   * @example
   * ```ts
   * await cache.load();
   * console.log(`${cache.size} secrets loaded`);
   * ```
   */
  async load(): Promise<void> {
    this.throwIfClosed("load()");
    if (this.loading) return this.loading;
    if (this.isLoaded) {
      await this.refresh();
      return;
    }
    this.loading = this.runLoad().finally(() => {
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
    const key = checkSecretName(secretName, "secretName");
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
    return this.entries.has(checkSecretName(secretName, "secretName"));
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
    const key = checkSecretName(secretName, "secretName");
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
   * @returns The names added, updated and removed.
   * @throws SecretCacheError when the listing or some fetches failed. The cache keeps the last good
   *   value of each secret that could not be read (stale while error); what could be read is
   *   applied. Error when `close()` was called.
   * @example
   * ```ts
   * const { added, updated, removed } = await cache.refresh();
   * ```
   */
  async refresh(): Promise<SecretCacheChange> {
    this.throwIfClosed("refresh()");
    if (this.refreshing) return this.refreshing;
    if (this.loading) {
      await this.loading;
      return { added: [], updated: [], removed: [] };
    }
    if (!this.isLoaded && this.entries.size === 0) return { added: [], updated: [], removed: [] };
    this.refreshing = this.runRefresh().finally(() => {
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

  private async runLoad(): Promise<void> {
    const startedAt = Date.now();
    const result = await this.synchronize(true);
    if (result.failures.length > 0) {
      throw new SecretCacheError(
        `SecretCache.load() could not read ${describeFailures(result.failures, result.attempted)}. Nothing was loaded.`,
        result.failures,
      );
    }
    const entries = new Map<string, CachedSecret>();
    for (const [key, secret] of result.fetched) entries.set(key, toEntry(secret));
    this.entries = entries;
    this.isLoaded = true;
    logger.info(
      `SecretCache: loaded ${entries.size} secrets (${result.vanished.size} vanished during the load) in ${Date.now() - startedAt} ms.`,
    );
    this.scheduleRefresh();
  }

  private async runRefresh(): Promise<SecretCacheChange> {
    const snapshot = new Map(this.entries);
    const result = await this.synchronize(this.isLoaded, snapshot);
    const change: SecretCacheChange = { added: [], updated: [], removed: [] };
    for (const [key, secret] of result.fetched) {
      const previous = this.entries.get(key);
      const entry = toEntry(secret);
      this.entries.set(key, entry);
      if (previous === undefined) change.added.push(entry.name);
      else if (previous.version !== entry.version || previous.value !== entry.value) {
        change.updated.push(entry.name);
      }
    }
    for (const [key, entry] of snapshot) {
      if ((!result.listed.has(key) || result.vanished.has(key)) && this.entries.delete(key)) {
        change.removed.push(entry.name);
      }
    }
    change.added.sort();
    change.updated.sort();
    change.removed.sort();
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

  /**
   * Lists the vault and fetches what `addNew` and `snapshot` call for, with bounded concurrency
   * and the shared backoff. Fetching starts with the first page, while the listing goes on.
   */
  private async synchronize(
    addNew: boolean,
    snapshot: Map<string, CachedSecret> = new Map(),
  ): Promise<SyncResult> {
    const controller = new AbortController();
    const closeSignal = this.closeController.signal;
    const onClose = (): void => controller.abort(closeSignal.reason);
    closeSignal.addEventListener("abort", onClose, { once: true });
    const signal = controller.signal;
    // Each worker's request and wait listen to the signal: not a leak, so no warning below that.
    setMaxListeners(4 * this.concurrency + 10, signal);
    const result: SyncResult = {
      listed: new Set(),
      fetched: new Map(),
      vanished: new Set(),
      failures: [],
      attempted: 0,
    };
    const queue = new WorkQueue<string>();
    const worker = async (): Promise<void> => {
      for (let name = await queue.take(); name !== undefined; name = await queue.take()) {
        const key = keyOf(name);
        try {
          result.fetched.set(key, await this.fetchWithBackoff(name, signal));
        } catch (error) {
          if (signal.aborted) return;
          if (isGone(error)) {
            logger.info(`SecretCache: "${name}" was deleted or disabled after it was listed.`);
            result.vanished.add(key);
          } else {
            result.failures.push({ secretName: name, reason: describeError(error), error });
          }
        }
      }
    };
    const workers = Array.from({ length: this.concurrency }, worker);
    let listError: unknown;
    try {
      for await (const properties of this.listMatching(signal)) {
        const key = keyOf(properties.name);
        result.listed.add(key);
        const cached = snapshot.get(key);
        if (cached === undefined ? addNew : hasChanged(cached, properties)) {
          result.attempted++;
          queue.push(properties.name);
        }
      }
    } catch (error) {
      listError = error;
      controller.abort(error);
    } finally {
      queue.close();
    }
    await Promise.all(workers);
    closeSignal.removeEventListener("abort", onClose);
    result.failures.sort((a, b) => (a.secretName < b.secretName ? -1 : 1));
    if (closeSignal.aborted) {
      throw new Error("The SecretCache was closed while it was reading the vault.");
    }
    if (listError !== undefined) {
      throw new SecretCacheError(
        `SecretCache could not list the vault's secrets: ${describeError(listError)}.${snapshot.size > 0 ? " The last good values are kept." : ""}`,
        [{ secretName: listingFailureName, reason: describeError(listError), error: listError }],
      );
    }
    return result;
  }

  /** The listed secrets that are enabled and pass the filters; throttled pages are resumed. */
  private async *listMatching(signal: AbortSignal): AsyncGenerator<SecretProperties> {
    let continuationToken: string | undefined;
    let attempt = 0;
    for (;;) {
      const pages = this.client
        .listPropertiesOfSecrets({ abortSignal: signal })
        .byPage(continuationToken === undefined ? {} : { continuationToken });
      for (;;) {
        await this.backoff.wait(signal);
        const startedAt = this.backoff.requestStarted();
        let next: IteratorResult<ContinuablePage<SecretProperties>>;
        try {
          next = await pages.next();
        } catch (error) {
          if (!isThrottled(error) || signal.aborted) throw error;
          attempt++;
          if (attempt >= this.maxAttempts) throw new StillThrottledError(attempt, error);
          const waitMs = this.backoff.throttled(error, startedAt);
          logger.warning(
            `SecretCache: listing was throttled (attempt ${attempt} of ${this.maxAttempts}); every worker pauses ${waitMs} ms.`,
          );
          break; // the pager is done after an error: resume from the last page's token
        }
        if (next.done) return;
        this.backoff.succeeded(startedAt);
        attempt = 0;
        for (const properties of next.value) {
          if (this.matches(properties)) yield properties;
        }
        continuationToken = next.value.continuationToken;
        if (continuationToken === undefined) return;
      }
    }
  }

  /** Gets a secret; a 429 after the client's retries pauses every worker, then tries again. */
  private async fetchWithBackoff(name: string, signal: AbortSignal): Promise<KeyVaultSecret> {
    for (let attempt = 1; ; attempt++) {
      await this.backoff.wait(signal);
      const startedAt = this.backoff.requestStarted();
      try {
        const secret = await this.client.getSecret(name, { abortSignal: signal });
        this.backoff.succeeded(startedAt);
        return secret;
      } catch (error) {
        if (!isThrottled(error) || signal.aborted) throw error;
        if (attempt >= this.maxAttempts) throw new StillThrottledError(attempt, error);
        const waitMs = this.backoff.throttled(error, startedAt);
        logger.warning(
          `SecretCache: "${name}" was throttled (attempt ${attempt} of ${this.maxAttempts}); every worker pauses ${waitMs} ms.`,
        );
      }
    }
  }

  private async fetchOne(secretName: string, key: string): Promise<string> {
    if (!this.matchesName(key)) {
      throw new SecretCacheError(
        `SecretCache.getOrFetch("${secretName}"): the secret is excluded by the cache's names or prefix filter.`,
        [],
      );
    }
    let secret: KeyVaultSecret;
    try {
      secret = await this.fetchWithBackoff(secretName, this.closeController.signal);
    } catch (error) {
      if (this.closeController.signal.aborted) {
        throw new Error(`The SecretCache was closed while it was fetching "${secretName}".`, {
          cause: error,
        });
      }
      const reason = describeError(error);
      throw new SecretCacheError(`SecretCache.getOrFetch("${secretName}") failed: ${reason}.`, [
        { secretName, reason, error },
      ]);
    }
    if (!this.matches(secret.properties)) {
      throw new SecretCacheError(
        `SecretCache.getOrFetch("${secretName}"): the secret is excluded by the cache's tag filter or filter function.`,
        [],
      );
    }
    const entry = toEntry(secret);
    // A refresh may have cached it meanwhile; the entry read last is as fresh as any.
    this.entries.set(key, entry);
    this.scheduleRefresh();
    return entry.value;
  }

  private matchesName(key: string): boolean {
    if (this.names !== undefined && !this.names.has(key)) return false;
    return this.prefix === undefined || key.startsWith(this.prefix);
  }

  private matches(properties: SecretProperties): boolean {
    if (properties.enabled === false) return false;
    if (!this.matchesName(keyOf(properties.name))) return false;
    if (this.tag !== undefined) {
      const value = properties.tags?.[this.tag.name];
      if (value === undefined || (this.tag.value !== undefined && value !== this.tag.value)) {
        return false;
      }
    }
    return this.filter === undefined || this.filter(properties) === true;
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

  private throwIfClosed(operation: string): void {
    if (this.closeController.signal.aborted) {
      throw new Error(`SecretCache.${operation} was called after close().`);
    }
  }
}

interface SyncResult {
  /** Keys of the listed secrets that pass the filters. */
  listed: Set<string>;
  /** Secrets read, by key. */
  fetched: Map<string, KeyVaultSecret>;
  /** Keys of secrets listed but deleted or disabled before their fetch. */
  vanished: Set<string>;
  /** Secrets that could not be read. */
  failures: SecretCacheFailure[];
  /** How many fetches were started. */
  attempted: number;
}

/** A queue that workers wait on until it is closed and empty. */
class WorkQueue<T> {
  private readonly items: T[] = [];
  private readonly waiting: Array<(item: T | undefined) => void> = [];
  private closed = false;

  push(item: T): void {
    const waiter = this.waiting.shift();
    if (waiter !== undefined) waiter(item);
    else this.items.push(item);
  }

  close(): void {
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) waiter(undefined);
  }

  take(): Promise<T | undefined> {
    if (this.items.length > 0) return Promise.resolve(this.items.shift());
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiting.push(resolve));
  }
}

function keyOf(name: string): string {
  return name.toLowerCase();
}

function checkSecretName(value: unknown, parameter: string): string {
  if (typeof value !== "string" || value === "") {
    throw new TypeError(
      `${parameter} must be a non-empty string, got ${value === "" ? "an empty string" : typeof value}.`,
    );
  }
  return keyOf(value);
}

function integerOption(value: unknown, name: string, fallback: number, minimum: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < minimum) {
    throw new RangeError(
      `options.${name} must be an integer of ${minimum} or more, got ${String(value)}.`,
    );
  }
  return value;
}

function durationOption(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new RangeError(
      `options.${name} must be a finite number of milliseconds, 0 or more, got ${String(value)}.`,
    );
  }
  return value;
}

function toEntry(secret: KeyVaultSecret): CachedSecret {
  const updatedOnMs = secret.properties.updatedOn?.getTime();
  return {
    name: secret.name,
    value: secret.value ?? "",
    version: secret.properties.version,
    updatedOnMs,
    unsettled: updatedOnMs === undefined || Date.now() < updatedOnMs + unsettledWindowInMs,
  };
}

/** Whether a listed secret may differ from the cached one, so that it must be fetched again. */
function hasChanged(cached: CachedSecret, listed: SecretProperties): boolean {
  if (listed.version !== undefined) return listed.version !== cached.version;
  return cached.unsettled || listed.updatedOn?.getTime() !== cached.updatedOnMs;
}

/** A secret deleted (404) or disabled (403 SecretDisabled / Forbidden on get) after listing. */
function isGone(error: unknown): boolean {
  if (!isRestError(error)) return false;
  if (error.statusCode === 404) return true;
  const inner = (error.details as { error?: { innererror?: { code?: string } } } | undefined)?.error
    ?.innererror?.code;
  return error.statusCode === 403 && inner === "SecretDisabled";
}

function describeError(error: unknown): string {
  if (error instanceof StillThrottledError) return error.message;
  if (isRestError(error)) {
    const status = error.statusCode === undefined ? "no response" : String(error.statusCode);
    const code = error.code === undefined ? "" : ` ${error.code}`;
    return `${status}${code}: ${error.message}`;
  }
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

function describeFailures(failures: SecretCacheFailure[], attempted: number): string {
  const named = failures
    .slice(0, failuresInMessage)
    .map((failure) => `"${failure.secretName}" (${failure.reason})`)
    .join(", ");
  const more =
    failures.length > failuresInMessage ? ` and ${failures.length - failuresInMessage} more` : "";
  return `${failures.length} of ${attempted} secrets: ${named}${more}`;
}
