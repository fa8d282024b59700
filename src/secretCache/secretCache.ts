import { EventEmitter, setMaxListeners } from "node:events";
import { performance } from "node:perf_hooks";
import { inspect } from "node:util";
import { AbortError, type AbortSignalLike } from "@azure/abort-controller";
import { delay } from "@azure/core-util";
import { logger } from "../log.js";
import {
  applyOutcomes,
  type CachedSecret,
  changedAnything,
  invalidated,
  noChange,
  type ReadOutcome,
  type SecretCacheChange,
  type SecretCacheSkippedSecret,
  skippedOf,
  toEntry,
} from "./changes.js";
import {
  mapToEnvironment,
  type ApplyToProcessEnvOptions,
  type ApplyToProcessEnvResult,
  type MappedEnvironment,
  type ToEnvOptions,
} from "./environment.js";
import {
  describeFailures,
  fetchRefusal,
  SecretCacheError,
  type SecretCacheFailure,
} from "./errors.js";
import { planEventRefresh, type SecretCacheEventResult, vaultHostOf } from "./eventRefresh.js";
import { NamedReads } from "./namedReads.js";
import {
  checkNames,
  checkSecretKey,
  keyOf,
  resolveSecretCacheOptions,
  type SecretCacheClient,
  type SecretCacheOptions,
  type SecretFilter,
} from "./options.js";
import { RefreshSchedule } from "./refreshSchedule.js";
import { SharedBackoff } from "./sharedBackoff.js";
import { Synchronizer, type SyncResult, syncOutcomes } from "./synchronizer.js";

/** Options of `load()`, `refresh()` and `refreshNow()`. */
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

/**
 * How fresh the values of a {@link SecretCache} are: when they were last all read, and since when
 * refreshes have been failing.
 */
export interface SecretCacheFreshness {
  /**
   * When the last successful `load()` or refresh of every secret (`refresh()`, `refreshNow()`,
   * the `refreshIntervalInMs` timer) ended; undefined before the first. Reads of single secrets
   * do not count.
   */
  refreshedAt: Date | undefined;
  /**
   * When the first refresh of every secret that failed after that one ended: since then the
   * cache serves its last good values, which may be out of date. Undefined while the last such
   * refresh succeeded.
   */
  staleSince: Date | undefined;
}

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
 * `updated` only when its version or value changed. A refresh of unchanged secrets sends only the
 * list pages. Additions and deletions are picked up, and `change` is emitted with the names and,
 * per name, the old and new version ids and the reason (never a value). A secret deleted, disabled,
 * expired or no longer kept by the filters is removed from the cache.
 *
 * **All or nothing.** A refresh changes the cache only when every read it needed succeeded;
 * otherwise it changes nothing and the cache keeps every last good value (stale while error):
 * `refresh()` rejects with a {@link SecretCacheError} naming each secret that failed and why; the
 * timer emits `error` when a listener is attached and otherwise logs a warning (an `error` event
 * without listener would throw from a timer and end the process). `applyPartialRefresh` applies
 * what could be read instead. {@link SecretCache.freshness} says when the values were last all
 * read, and since when refreshes fail.
 *
 * **On demand.** `refreshNow(names)` reads named secrets at once, e.g. after the database
 * answered 401 (callers share one request per name, and a name is read at most once per
 * `minRefreshIntervalInMs`); `invalidate(name)` drops a value known to be bad until it is read
 * again; `refreshIntervalsInMs` reads single secrets on their own schedule.
 *
 * **On events.** `handleEvent(body)` takes what an Event Grid webhook received from the vault
 * (Key Vault's secret events) and reads again exactly the secrets a new version or an expiry
 * changed, without polling; {@link createEventGridHandler} is the webhook itself.
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
  private readonly client: SecretCacheClient;
  private readonly synchronizer: Synchronizer;
  private readonly reads: NamedReads;
  private readonly schedule: RefreshSchedule;
  private readonly filter: SecretFilter;
  private readonly closeController = new AbortController();
  private entries = new Map<string, CachedSecret>();
  private readonly requiredNames: Map<string, string> | undefined;
  private readonly allowMissingNames: boolean;
  private readonly applyPartialRefresh: boolean;
  private readonly minRefreshIntervalInMs: number;
  private loading: Promise<SecretCacheLoadResult> | undefined;
  private refreshing: Promise<SecretCacheChange> | undefined;
  /** A `refreshNow()` of every secret waiting for the minimum interval. */
  private waitingRefresh: Promise<SecretCacheChange> | undefined;
  /** When the last load or refresh of every secret ended (`performance.now()`). */
  private lastRefreshEndedAtMs = Number.NEGATIVE_INFINITY;
  private refreshedAt: Date | undefined;
  private staleSince: Date | undefined;
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
    this.client = settings.client;
    this.requiredNames = settings.requiredNames;
    this.allowMissingNames = settings.allowMissingNames;
    this.applyPartialRefresh = settings.applyPartialRefresh;
    this.minRefreshIntervalInMs = settings.minRefreshIntervalInMs;
    this.filter = settings.filter;
    const closeSignal = this.closeController.signal;
    // One listener per pending read and per load or refresh, all removed when they settle.
    setMaxListeners(0, closeSignal);
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
      closeSignal,
    });
    this.reads = new NamedReads(
      (secretName) => this.synchronizer.readOne(secretName),
      settings.minRefreshIntervalInMs,
      closeSignal,
    );
    this.schedule = new RefreshSchedule(settings.refreshIntervalInMs, settings.secretIntervals, {
      refreshAll: () => this.refresh(),
      refreshSecret: (secretName, key) =>
        this.readNames(
          new Map([[key, secretName]]),
          `SecretCache's refresh of "${secretName}" (refreshIntervalsInMs)`,
        ),
      reportError: (error) => this.reportBackgroundError(error),
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
   * How fresh the values are: when the last successful load or refresh of every secret ended,
   * and since when refreshes have been failing (the cache then serves its last good values).
   * @returns the two dates
   * @example
   * ```ts
   * const { refreshedAt, staleSince } = cache.freshness;
   * if (staleSince !== undefined && Date.now() - staleSince.getTime() > 15 * 60_000) {
   *   console.warn(`secrets last read at ${refreshedAt?.toISOString()}; refreshes failing since ${staleSince.toISOString()}`);
   * }
   * ```
   */
  get freshness(): SecretCacheFreshness {
    return { refreshedAt: this.refreshedAt, staleSince: this.staleSince };
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
   * @throws Error when called before `load()` completed for a secret not fetched with `getOrFetch`,
   *   and for a secret given to `invalidate()` and not read since (`getOrFetch` waits for the read).
   * @example
   * ```ts
   * await cache.load();
   * const password = cache.get("db-password");
   * ```
   */
  get(secretName: string): string | undefined {
    const key = checkSecretKey(secretName, "secretName");
    const entry = this.entries.get(key);
    if (entry?.invalidated === true) {
      throw new Error(
        `SecretCache.get("${secretName}"): the secret was invalidated and has not been read since. Use await cache.getOrFetch("${secretName}") or await cache.refreshNow(["${secretName}"]) to read it again.`,
      );
    }
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
   * @returns True when `get` would return a value (false for an invalidated secret).
   * @example
   * ```ts
   * if (!cache.has("db-password")) throw new Error("db-password is missing from the vault");
   * ```
   */
  has(secretName: string): boolean {
    const entry = this.entries.get(checkSecretKey(secretName, "secretName"));
    return entry !== undefined && !entry.invalidated;
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
   * cache does not hold it or it was invalidated: for apps that do not preload. Concurrent calls
   * for one name share one request; the shared backoff and `minRefreshIntervalInMs` apply (an
   * invalidated secret read less than that ago waits for it).
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
    if (entry !== undefined && !entry.invalidated) return entry.value;
    this.throwIfClosed("getOrFetch()");
    if (!this.filter.matchesName(key)) {
      throw new SecretCacheError(
        `SecretCache.getOrFetch("${secretName}"): the secret is excluded by the cache's names or prefix filter.`,
        [],
      );
    }
    const outcome = await this.readAfterInvalidation(secretName, key);
    if (outcome.kind === "failed") {
      const { failure } = outcome;
      throw new SecretCacheError(
        `SecretCache.getOrFetch("${secretName}") failed: ${failure.reason}.`,
        [{ ...failure, secretName }],
      );
    }
    const change = applyOutcomes(this.entries, new Map([[key, outcome]]), skippedOf([outcome]));
    // A first read is a load of one secret (no event, as load()); a secret read again after
    // invalidate() may have rotated or gone, and listeners hear of it.
    if (change.updated.length + change.removed.length > 0) this.emit("change", change);
    if (outcome.kind === "removed") throw fetchRefusal(secretName, outcome);
    this.schedule.startCacheWide();
    this.schedule.startSecret(key);
    const current = this.entries.get(key);
    return current !== undefined && !current.invalidated
      ? current.value
      : (outcome.secret.value ?? "");
  }

  /**
   * Lists the vault again and fetches only the secrets that changed, picks up additions (once
   * loaded; a cache filled only by `getOrFetch` updates and removes the secrets it holds) and
   * deletions, and emits `change` when anything changed. Concurrent calls share one refresh.
   *
   * @param options - `abortSignal`: ends the refresh (it rejects with an `AbortError` and the
   *   cache keeps its values).
   * @returns The names added, updated and removed, the secrets skipped for their dates, and per
   *   name the old and new version ids and why it changed.
   * @throws SecretCacheError naming each secret that could not be read (or the listing) and why.
   *   All or nothing: the cache is then unchanged and keeps every last good value (stale while
   *   error); with `applyPartialRefresh`, what could be read is applied and the others keep their
   *   last good values. AbortError when the signal fired. Error when `close()` was called.
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
   * Reads the named secrets from the vault now (one request each, no listing), for the "the
   * database answered 401, read the password again" pattern; without names, refreshes every
   * secret as `refresh()` does (listing, then fetching what changed).
   *
   * Concurrent calls share one request per name (and one refresh of every secret). A name is read
   * at most once per `minRefreshIntervalInMs`: a call that comes sooner after the name's last
   * read waits until the interval has passed, then reads, so that a loop of callers cannot flood
   * the vault; callers that come meanwhile share that read. The swap is all or nothing as for
   * `refresh()` (see `applyPartialRefresh`), and `change` is emitted when anything changed. A
   * secret the vault lacks or holds disabled, or that the filters or its dates now exclude, is
   * removed from the cache (reported, not thrown).
   *
   * @param names - The secrets to read (names compare case-insensitively); all when omitted.
   * @param options - `abortSignal`: ends this call's wait (it rejects with an `AbortError` and
   *   changes nothing); reads other callers share go on.
   * @returns What changed: names added, updated and removed, with their version ids and reasons.
   * @throws TypeError when `names` is not an array of secret names. SecretCacheError naming the
   *   names the `names` or `prefix` filter excludes (before any request), or each secret that
   *   could not be read and why (the cache is then unchanged). AbortError when the signal fired.
   *   Error when `close()` was called.
   * @example
   * ```ts
   * try {
   *   await db.connect(cache.get("db-password"));
   * } catch (error) {
   *   if ((error as { code?: string }).code !== "28P01") throw error; // not "bad password"
   *   const { updated } = await cache.refreshNow(["db-password"]);
   *   if (updated.length === 0) throw error; // the vault has nothing newer
   *   await db.connect(cache.get("db-password"));
   * }
   * ```
   */
  async refreshNow(
    names?: string[],
    options: SecretCacheOperationOptions = {},
  ): Promise<SecretCacheChange> {
    const keys = names === undefined ? undefined : checkNames(names, "refreshNow");
    this.throwIfClosed("refreshNow()");
    const { abortSignal } = options;
    if (abortSignal?.aborted) throw new AbortError("The SecretCache refreshNow() was aborted.");
    if (keys === undefined) return this.refreshEverySecretNow(abortSignal);
    const excluded = [...keys].filter(([key]) => !this.filter.matchesName(key));
    if (excluded.length > 0) {
      throw new SecretCacheError(
        `SecretCache.refreshNow(): the cache's names or prefix filter excludes ${excluded.map(([, name]) => `"${name}"`).join(", ")}; nothing was read.`,
        excluded.map(([, secretName]) => ({
          secretName,
          reason: "excluded by the cache's names or prefix filter",
          error: undefined,
        })),
      );
    }
    return this.readNames(keys, "SecretCache.refreshNow()", abortSignal);
  }

  /**
   * Drops the cached value of a secret known to be bad (say, the database refused it), until it
   * is read again: `get` then throws, `has` answers false and `toEnv` throws, while `getOrFetch`
   * reads it (waiting out `minRefreshIntervalInMs` if it was read just before) and the next
   * refresh fetches it whether or not the list shows a change. A read sent before the call does
   * not restore it. Does nothing for a secret the cache does not hold.
   *
   * @param secretName - The secret's name.
   * @throws TypeError when the name is not a valid secret name.
   * @example
   * ```ts
   * cache.invalidate("db-password");
   * const password = await cache.getOrFetch("db-password"); // read from the vault again
   * ```
   */
  invalidate(secretName: string): void {
    const key = checkSecretKey(secretName, "secretName");
    const entry = this.entries.get(key);
    if (entry !== undefined) this.entries.set(key, invalidated(entry));
  }

  /**
   * Acts on Key Vault's secret events as Event Grid delivers them to a webhook, so the cache
   * follows rotations without polling: `SecretNewVersionCreated` and `SecretExpired` read the
   * named secret again (as `refreshNow([name])`: shared, at most once per
   * `minRefreshIntervalInMs`, all or nothing, `change` emitted), and `SecretNearExpiry` reads
   * nothing (the value did not change; the result lists it, to rotate or alert). An event naming a
   * secret a loaded cache does not hold (a new one) refreshes every secret once, as
   * `refreshNow()` does: the listing decides whether the filters keep it.
   *
   * Left alone (counted in `ignored`): events of another vault (the host of the secret's
   * identifier, `data.Id`, is not the host of the client's `vaultUrl`), of keys and certificates,
   * and of secrets the cache does not cover (its `names` or `prefix` filter; a cache filled only
   * by `getOrFetch` covers the secrets it holds). A `SecretNewVersionCreated` for the version the
   * cache holds (a repeated delivery) reads nothing. An event can only make the cache read its own
   * vault, never put a value in it.
   *
   * @param eventOrBatch - One event or an array, in the Event Grid schema or CloudEvents 1.0: the
   *   request body's JSON text, the value it parses to, or `@azure/eventgrid`'s deserialized
   *   events.
   * @param options - `abortSignal`: ends this call's wait, as for `refreshNow`.
   * @returns The names read again, whether every secret was refreshed, the names near expiry and
   *   up to date, how many events were ignored, and the change.
   * @throws TypeError when the body is not Key Vault's events (say which field; never its
   *   content), when it is Event Grid's validation event (answer it instead), or when the client
   *   has no `vaultUrl`. SecretCacheError when a read failed (the cache is then unchanged), as
   *   `refreshNow`. Error when `close()` was called.
   * @example
   * ```ts
   * // In a webhook that already answered Event Grid's validation (or use createEventGridHandler):
   * const { refreshed, nearExpiry } = await cache.handleEvent(JSON.parse(body));
   * if (nearExpiry.length > 0) console.warn(`expiring soon: ${nearExpiry.join(", ")}`);
   * ```
   */
  async handleEvent(
    eventOrBatch: unknown,
    options: SecretCacheOperationOptions = {},
  ): Promise<SecretCacheEventResult> {
    const plan = planEventRefresh(eventOrBatch, {
      vaultHost: vaultHostOf(this.client),
      matchesName: (key) => this.filter.matchesName(key),
      loaded: this.isLoaded,
      heldVersion: (key) => {
        const entry = this.entries.get(key);
        if (entry === undefined) return undefined;
        return entry.invalidated ? null : (entry.version ?? null);
      },
    });
    this.throwIfClosed("handleEvent()");
    const names = [...plan.readByName.values()];
    let change = noChange();
    // A listing refresh reads every secret whose version changed, the named ones included.
    if (plan.refreshAll) change = await this.refreshNow(undefined, options);
    else if (names.length > 0) change = await this.refreshNow(names, options);
    const result: SecretCacheEventResult = {
      refreshed: names.sort(),
      refreshedAll: plan.refreshAll,
      nearExpiry: plan.nearExpiry,
      upToDate: plan.upToDate,
      ignored: plan.ignored,
      change,
    };
    logger.info(
      `SecretCache: events read ${result.refreshed.length} secrets again${result.refreshedAll ? " and refreshed every secret" : ""}; ${result.nearExpiry.length} near expiry, ${result.upToDate.length} up to date, ${result.ignored} ignored.`,
    );
    return result;
  }

  /**
   * The cached secrets as environment variables: keys from {@link toEnvironmentKey} (or
   * `transform`) after `prefix`. A key that a secret may not choose by its name (one that runs
   * code or redirects connections, e.g. `NODE_OPTIONS`, `LD_PRELOAD`, `PATH`, `HTTPS_PROXY`: see
   * {@link EnvironmentKeyRefusal}) is left out, with a warning in the log, unless the secret is
   * listed in the `names` option.
   *
   * @param options - `prefix` and `transform`.
   * @returns Keys and values, e.g. `{ DB_PASSWORD: "..." }`.
   * @throws EnvironmentKeyCollisionError when two secrets map to one key (compared
   *   case-insensitively on Windows, whose environment ignores case). Error before `load()`, and
   *   while a secret given to `invalidate()` has not been read again.
   * @example
   * ```ts
   * const env = cache.toEnv({ prefix: "APP_" }); // db-password -> APP_DB_PASSWORD
   * ```
   */
  toEnv(options: ToEnvOptions = {}): Record<string, string> {
    const { variables, refused } = this.mapEnvironment("toEnv", options);
    for (const { key, secretName, reason } of refused) {
      logger.warning(
        `SecretCache.toEnv: left out ${key} (secret "${secretName}"): ${reason}; list the secret in the names option to allow it.`,
      );
    }
    return variables;
  }

  /**
   * Writes the cached secrets to `process.env` (keys as in {@link SecretCache.toEnv}). A
   * variable that is already set, even to an empty string, is left alone unless `override` is
   * true: the environment wins over the vault. Nothing is written when two secrets collide. A
   * key that a secret may not choose (see {@link EnvironmentKeyRefusal}) is not written unless the
   * secret is listed in the `names` option; the result's `refused` names it.
   * Later refreshes do not update `process.env`; call it again from a `change` listener for that.
   *
   * @param options - `override`, `prefix` and `transform`.
   * @returns The keys written, the keys skipped and the keys refused (never values).
   * @throws EnvironmentKeyCollisionError when two secrets map to one key. Error before `load()`.
   * @example
   * ```ts
   * await cache.load();
   * const { applied, skipped, refused } = cache.applyToProcessEnv();
   * ```
   */
  applyToProcessEnv(options: ApplyToProcessEnvOptions = {}): ApplyToProcessEnvResult {
    const { variables, refused } = this.mapEnvironment("applyToProcessEnv", options);
    const result: ApplyToProcessEnvResult = { applied: [], skipped: [], refused };
    for (const [key, value] of Object.entries(variables)) {
      if (process.env[key] !== undefined && options.override !== true) {
        result.skipped.push(key);
      } else {
        process.env[key] = value;
        result.applied.push(key);
      }
    }
    return result;
  }

  private mapEnvironment(operation: string, options: ToEnvOptions): MappedEnvironment {
    if (!this.isLoaded) {
      throw new Error(
        `SecretCache.${operation}() was called before load() completed; await load() first.`,
      );
    }
    const entries = [...this.entries.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([, entry]) => entry);
    const pending = entries.filter((entry) => entry.invalidated).map((entry) => entry.name);
    if (pending.length > 0) {
      throw new Error(
        `SecretCache.${operation}(): ${pending.map((name) => `"${name}"`).join(", ")} ${pending.length === 1 ? "was" : "were"} invalidated and not read since; await cache.refreshNow(${JSON.stringify(pending)}) first.`,
      );
    }
    const named = this.requiredNames;
    return mapToEnvironment(entries, options, (name) => named?.has(keyOf(name)) === true);
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
    this.schedule.close();
    this.closeController.abort(new Error("The SecretCache was closed."));
  }

  /**
   * Listens to `change`: the names a refresh (or `refreshNow`, or a per-secret refresh) added,
   * updated and removed, and in `details` per name the old and new version ids and why (emitted
   * only when one of them is not empty; the first `load()` and a first `getOrFetch` of a secret do
   * not emit it). Never a value.
   * @param event - `"change"`
   * @param listener - called with the change
   * @returns this cache
   * @example
   * ```ts
   * cache.on("change", ({ details }) => {
   *   for (const { secretName, kind, reason, previousVersion, version } of details) {
   *     console.log(`${secretName} ${kind} (${reason}): ${previousVersion ?? "-"} -> ${version ?? "-"}`);
   *   }
   * });
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
    this.lastRefreshEndedAtMs = performance.now();
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
    for (const [key, { secret, readStartedAtMs }] of result.fetched) {
      entries.set(key, toEntry(secret, readStartedAtMs));
    }
    this.entries = entries;
    this.isLoaded = true;
    this.markFresh();
    logger.info(
      `SecretCache: loaded ${entries.size} secrets (${result.vanished.size} vanished during the load, ${result.skipped.length} skipped for their dates${absent.length > 0 ? `, ${absent.length} named ones missing` : ""}) in ${Date.now() - startedAt} ms.`,
    );
    if (result.skipped.length > 0) {
      logger.info(
        `SecretCache: skipped ${result.skipped.map((s) => `"${s.secretName}" (${s.reason})`).join(", ")}.`,
      );
    }
    this.schedule.startAll();
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
    try {
      const snapshot = new Map(this.entries);
      const result = await this.synchronizer.synchronize(this.isLoaded, snapshot, abortSignal);
      logger.info(
        `SecretCache: refresh listed ${result.listed.size} secrets and fetched ${result.fetched.size}; ${result.failures.length} failed.`,
      );
      const change = this.applyReads(
        syncOutcomes(snapshot, result),
        result.skipped,
        result.failures,
        result.attempted,
        "SecretCache.refresh()",
      );
      this.markFresh();
      return change;
    } catch (error) {
      if (error instanceof SecretCacheError) this.staleSince ??= new Date();
      throw error;
    } finally {
      this.lastRefreshEndedAtMs = performance.now();
    }
  }

  /**
   * `refreshNow()` without names: joins the load or refresh running, or refreshes once the
   * minimum interval since the last one has passed (callers that come meanwhile share it).
   */
  private refreshEverySecretNow(
    abortSignal: AbortSignalLike | undefined,
  ): Promise<SecretCacheChange> {
    const waitMs = this.lastRefreshEndedAtMs + this.minRefreshIntervalInMs - performance.now();
    if (this.loading || this.refreshing || waitMs <= 0) return this.refresh({ abortSignal });
    this.waitingRefresh ??= delay(waitMs, { abortSignal: this.closeController.signal })
      .then(
        () => this.refresh(),
        (error: unknown) => {
          throw new Error("The SecretCache was closed while refreshNow() waited.", {
            cause: error,
          });
        },
      )
      .finally(() => {
        this.waitingRefresh = undefined;
      });
    return untilAborted(this.waitingRefresh, abortSignal);
  }

  /**
   * Reads secrets by name (shared, at most once per minimum interval each) and applies what they
   * found, all or nothing.
   * @param names - the names as given, by key
   * @param operation - what read them, for messages
   */
  private async readNames(
    names: Map<string, string>,
    operation: string,
    abortSignal?: AbortSignalLike,
  ): Promise<SecretCacheChange> {
    const reading = Promise.all(
      [...names].map(
        async ([key, secretName]) =>
          [key, await this.readAfterInvalidation(secretName, key)] as const,
      ),
    );
    const outcomes = new Map<string, ReadOutcome>(await untilAborted(reading, abortSignal));
    const failures = [...outcomes.values()]
      .flatMap((outcome) => (outcome.kind === "failed" ? [outcome.failure] : []))
      .sort((a, b) => (a.secretName < b.secretName ? -1 : 1));
    const change = this.applyReads(
      outcomes,
      skippedOf([...outcomes.values()]),
      failures,
      names.size,
      operation,
    );
    for (const key of names.keys()) {
      if (this.entries.has(key)) this.schedule.startSecret(key);
    }
    if (this.entries.size > 0) this.schedule.startCacheWide();
    return change;
  }

  /** A read of a secret; when the one shared was sent before `invalidate()`, one sent after it. */
  private async readAfterInvalidation(secretName: string, key: string): Promise<ReadOutcome> {
    const outcome = await this.reads.request(secretName, key);
    const entry = this.entries.get(key);
    if (entry?.invalidated === true && outcome.readStartedAtMs < entry.readStartedAtMs) {
      return this.reads.request(secretName, key);
    }
    return outcome;
  }

  /**
   * Applies what reads found: every outcome when none failed; otherwise nothing (all or nothing),
   * or, with `applyPartialRefresh`, the others. Emits `change` when anything changed.
   * @throws SecretCacheError naming the failures
   */
  private applyReads(
    outcomes: Map<string, ReadOutcome>,
    skipped: SecretCacheSkippedSecret[],
    failures: SecretCacheFailure[],
    attempted: number,
    operation: string,
  ): SecretCacheChange {
    const failed = failures.length > 0;
    if (failed && !this.applyPartialRefresh) {
      throw new SecretCacheError(
        `${operation} could not read ${describeFailures(failures, attempted)}. Nothing was changed: the cache keeps every last good value.`,
        failures,
      );
    }
    const change = applyOutcomes(this.entries, outcomes, skipped);
    if (changedAnything(change)) {
      logger.info(
        `SecretCache: ${change.added.length} added, ${change.updated.length} updated, ${change.removed.length} removed.`,
      );
      this.emit("change", change);
    }
    if (failed) {
      throw new SecretCacheError(
        `${operation} could not read ${describeFailures(failures, attempted)}; their last good values are kept.`,
        failures,
      );
    }
    return change;
  }

  /** A load or refresh of every secret succeeded. */
  private markFresh(): void {
    this.refreshedAt = new Date();
    this.staleSince = undefined;
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
