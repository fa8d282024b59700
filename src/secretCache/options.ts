import type { AbortSignalLike } from "@azure/abort-controller";
import type { PageSettings } from "@azure/core-paging";
import type { KeyVaultSecret, SecretProperties } from "../models.js";
import type { ContinuablePage } from "../paging.js";
import { maxTimerDelayInMs } from "../util/limits.js";
import { checkSecretName } from "../util/names.js";

/**
 * What a {@link SecretCache} needs of a client: the two read methods of `SecretClient` (and its
 * `vaultUrl`, for `handleEvent`). A `SecretClient` of this package is one, and so is one of
 * Microsoft's 4.x secrets client (whose pages carry no continuation token: the cache reads every
 * page either way, and which retries a 429 on its own before the cache's shared backoff sees it:
 * see {@link SecretCache}); a test can pass a fake.
 */
export interface SecretCacheClient {
  /**
   * Lists the secrets of the vault (properties only), page by page.
   * @param options - the abort signal of the load or refresh
   * @returns an iterable whose `byPage()` gives the pages (a continuation token on them is used
   *   to resume a listing that was throttled, when there is one)
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
  /**
   * The vault's URL, as `SecretClient` has it: `handleEvent` acts only on events whose secret
   * identifier names this host (and port). A client without it cannot take events.
   */
  readonly vaultUrl?: string;
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
 * Options of {@link SecretCache}. The filters combine: a secret is cached when it is enabled,
 * within its validity period (see `includeOutsideValidityPeriod`) and passes every filter given.
 */
export interface SecretCacheOptions {
  /**
   * Keeps the secrets for which it returns true; it sees the listed properties (name, tags,
   * content type, dates), never a value.
   * @default all secrets
   */
  filter?: (properties: SecretProperties) => boolean;
  /**
   * Keeps only these secrets (names compare case-insensitively, as in the vault). These are the
   * secrets the app needs: `load()` fails with a {@link SecretCacheError} naming each one the
   * vault lacks or holds disabled, unless `allowMissingNames` is true. (A named secret outside its
   * validity period is skipped and reported like any other, see `includeOutsideValidityPeriod`.)
   * @default all secrets
   */
  names?: string[];
  /**
   * Lets `load()` succeed when a secret listed in `names` is not in the vault or is disabled: it
   * is then absent from the cache (`get` returns undefined) and listed in the `missing` of
   * `load()`'s result.
   * @default false (`load()` fails naming each missing or disabled name)
   */
  allowMissingNames?: boolean;
  /**
   * Caches secrets whose `expiresOn` has passed or whose `notBefore` is still to come. By
   * default they are skipped (never fetched) and reported: in the `skipped` of `load()`'s result
   * and of each refresh's change, and by `getOrFetch`, which rejects for them.
   * @default false (such secrets are skipped and reported)
   */
  includeOutsideValidityPeriod?: boolean;
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
   * Attempts per request while the vault keeps answering 429 (with this package's `SecretClient`,
   * its 429s come straight to the cache's shared backoff; another client's own retries are part
   * of each attempt). When one request has used them all, `load()` fails naming the secret.
   * @default 5
   */
  maxAttempts?: number;
  /**
   * The first shared pause after a 429 that carries no `Retry-After`; it doubles with each new
   * throttling episode up to `maxThrottleDelayInMs` (1, 2, 2, 2 s by default), plus up to 20 %
   * jitter. After each pause a single request probes the vault before the others go, so a short
   * pause costs the vault one request, and the cache resumes soon after the service's 10-second
   * throttling window ends.
   * @default 1000
   */
  throttleDelayInMs?: number;
  /**
   * The longest shared pause after a 429 that carries no `Retry-After` (a `Retry-After` is always
   * honoured in full).
   * @default 2000
   */
  maxThrottleDelayInMs?: number;
  /**
   * Refreshes the cache in the background this often, starting once `load()` (or a first
   * `getOrFetch`) succeeded. The timer does not keep the process alive; `close()` stops it.
   * @default no background refresh
   */
  refreshIntervalInMs?: number;
  /**
   * Refresh intervals of single secrets, by name (names compare case-insensitively), beside or
   * instead of `refreshIntervalInMs`: each named secret is read again this often (one request, no
   * listing), starting once `load()` succeeded (or, without a load, once it was first read). Each
   * interval must be at least `minRefreshIntervalInMs`, and each name must pass the `names` and
   * `prefix` filters.
   * @default none
   * @example
   * ```ts
   * const cache = new SecretCache(client, {
   *   refreshIntervalInMs: 15 * 60_000, // everything every 15 minutes
   *   refreshIntervalsInMs: { "db-password": 60_000 }, // the password every minute
   * });
   * ```
   */
  refreshIntervalsInMs?: Record<string, number>;
  /**
   * The least time between two reads of one secret by name (`refreshNow(names)`, `getOrFetch`,
   * the per-secret intervals), and between two `refreshNow()` of every secret: a call that comes
   * sooner waits until it has passed, then reads (callers that come meanwhile share that read).
   * It keeps a loop of "the database said 401, read the password again" from flooding the vault.
   * 0 turns it off.
   * @default 1000
   * @example
   * ```ts
   * const cache = new SecretCache(client, { minRefreshIntervalInMs: 5_000 });
   * ```
   */
  minRefreshIntervalInMs?: number;
  /**
   * How a refresh that could read some secrets but not all of them ends. By default (false) it
   * is all or nothing: it changes nothing, the cache keeps every last good value, and the refresh
   * fails naming each secret it could not read and why. True applies what could be read (the
   * earlier default) and still fails naming the others, whose last good values are kept.
   * A listing that fails changes nothing either way.
   * @default false (all or nothing)
   * @example
   * ```ts
   * const cache = new SecretCache(client, { applyPartialRefresh: true });
   * ```
   */
  applyPartialRefresh?: boolean;
}
const defaults = {
  concurrency: 32,
  maxAttempts: 5,
  throttleDelayInMs: 1000,
  maxThrottleDelayInMs: 2_000,
  minRefreshIntervalInMs: 1000,
};

/** The settings of a {@link SecretCache}: its options checked, with the defaults applied. */
export interface SecretCacheSettings {
  client: SecretCacheClient;
  filter: SecretFilter;
  /** The `names` option: key -> the name as given; undefined when not given. */
  requiredNames: Map<string, string> | undefined;
  allowMissingNames: boolean;
  includeOutsideValidityPeriod: boolean;
  concurrency: number;
  maxAttempts: number;
  throttleDelayInMs: number;
  maxThrottleDelayInMs: number;
  refreshIntervalInMs: number | undefined;
  /** The `refreshIntervalsInMs` option: key -> the name as given and its interval. */
  secretIntervals: Map<string, { secretName: string; intervalInMs: number }>;
  minRefreshIntervalInMs: number;
  applyPartialRefresh: boolean;
}

/**
 * Checks the arguments of the {@link SecretCache} constructor.
 * @throws TypeError when the client or an option has the wrong type; RangeError when a number is
 *   out of range
 */
export function resolveSecretCacheOptions(
  client: SecretCacheClient,
  options: SecretCacheOptions,
): SecretCacheSettings {
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
  if (options.filter !== undefined && typeof options.filter !== "function") {
    throw new TypeError(`options.filter must be a function, got ${typeof options.filter}.`);
  }
  let requiredNames: Map<string, string> | undefined;
  if (options.names !== undefined) {
    if (
      !Array.isArray(options.names) ||
      options.names.some((name) => typeof name !== "string" || name === "")
    ) {
      throw new TypeError("options.names must be an array of non-empty strings.");
    }
    requiredNames = new Map(options.names.map((name) => [keyOf(name), name]));
  }
  const allowMissingNames = booleanOption(options.allowMissingNames, "allowMissingNames");
  const includeOutsideValidityPeriod = booleanOption(
    options.includeOutsideValidityPeriod,
    "includeOutsideValidityPeriod",
  );
  if (options.prefix !== undefined && typeof options.prefix !== "string") {
    throw new TypeError(`options.prefix must be a string, got ${typeof options.prefix}.`);
  }
  let tag: SecretCacheTagFilter | undefined;
  if (options.tag !== undefined) {
    tag = options.tag;
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
    tag = { ...tag };
  }
  const filter = new SecretFilter(
    options.filter,
    requiredNames === undefined ? undefined : new Set(requiredNames.keys()),
    options.prefix ? keyOf(options.prefix) : undefined,
    tag,
  );
  const concurrency = integerOption(options.concurrency, "concurrency", defaults.concurrency, 1);
  const maxAttempts = integerOption(options.maxAttempts, "maxAttempts", defaults.maxAttempts, 1);
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
  const refreshIntervalInMs =
    options.refreshIntervalInMs === undefined
      ? undefined
      : intervalOption(options.refreshIntervalInMs, "options.refreshIntervalInMs");
  const minRefreshIntervalInMs = durationOption(
    options.minRefreshIntervalInMs,
    "minRefreshIntervalInMs",
    defaults.minRefreshIntervalInMs,
  );
  if (minRefreshIntervalInMs > maxTimerDelayInMs) {
    throw new RangeError(
      `options.minRefreshIntervalInMs must be at most ${maxTimerDelayInMs}, got ${minRefreshIntervalInMs}.`,
    );
  }
  const secretIntervals = secretIntervalsOption(
    options.refreshIntervalsInMs,
    minRefreshIntervalInMs,
    filter,
  );
  return {
    client,
    filter,
    requiredNames,
    allowMissingNames,
    includeOutsideValidityPeriod,
    concurrency,
    maxAttempts,
    throttleDelayInMs,
    maxThrottleDelayInMs,
    refreshIntervalInMs,
    secretIntervals,
    minRefreshIntervalInMs,
    applyPartialRefresh: booleanOption(options.applyPartialRefresh, "applyPartialRefresh"),
  };
}

/** Checks a refresh interval: above 0 and within what a timer can wait. */
function intervalOption(value: unknown, label: string): number {
  if (
    typeof value !== "number" ||
    !Number.isFinite(value) ||
    value <= 0 ||
    value > maxTimerDelayInMs
  ) {
    throw new RangeError(
      `${label} must be a number of milliseconds above 0 and at most ${maxTimerDelayInMs}, got ${String(value)}.`,
    );
  }
  return value;
}

/** Checks `refreshIntervalsInMs`: names the filters keep, once each, intervals in range. */
function secretIntervalsOption(
  value: unknown,
  minRefreshIntervalInMs: number,
  filter: SecretFilter,
): Map<string, { secretName: string; intervalInMs: number }> {
  const intervals = new Map<string, { secretName: string; intervalInMs: number }>();
  if (value === undefined) return intervals;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(
      'options.refreshIntervalsInMs must be an object of secret names to milliseconds, e.g. { "db-password": 60000 }.',
    );
  }
  for (const [secretName, intervalInMs] of Object.entries(value)) {
    const label = `options.refreshIntervalsInMs["${secretName}"]`;
    const key = checkSecretKey(secretName, `a name of options.refreshIntervalsInMs`);
    const interval = intervalOption(intervalInMs, label);
    if (interval < minRefreshIntervalInMs) {
      throw new RangeError(
        `${label} (${interval}) must not be less than minRefreshIntervalInMs (${minRefreshIntervalInMs}); raise it or lower minRefreshIntervalInMs.`,
      );
    }
    const twin = intervals.get(key);
    if (twin !== undefined) {
      throw new RangeError(
        `options.refreshIntervalsInMs names one secret twice ("${twin.secretName}" and "${secretName}"; names compare case-insensitively): keep one.`,
      );
    }
    if (!filter.matchesName(key)) {
      throw new RangeError(
        `${label}: the cache's names or prefix filter excludes "${secretName}"; add it to names (or fix the prefix), or remove its interval.`,
      );
    }
    intervals.set(key, { secretName, intervalInMs: interval });
  }
  return intervals;
}

/** The filters of a {@link SecretCache}: which secrets it keeps. */
export class SecretFilter {
  constructor(
    private readonly filter: ((properties: SecretProperties) => boolean) | undefined,
    private readonly names: Set<string> | undefined,
    private readonly prefix: string | undefined,
    private readonly tag: SecretCacheTagFilter | undefined,
  ) {}

  /** Whether the `names` and `prefix` filters keep a secret of this key. */
  matchesName(key: string): boolean {
    if (this.names !== undefined && !this.names.has(key)) return false;
    return this.prefix === undefined || key.startsWith(this.prefix);
  }

  /** Whether the secret is enabled and every filter keeps it. */
  matches(properties: SecretProperties): boolean {
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
}

/** The cache's key of a secret name: names compare case-insensitively, as in the vault. */
export function keyOf(name: string): string {
  return name.toLowerCase();
}

/** Checks a secret name argument (the client's rules) and returns its key. */
export function checkSecretKey(value: unknown, parameter: string): string {
  return keyOf(checkSecretName(value, parameter));
}

function booleanOption(value: unknown, name: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== "boolean") {
    throw new TypeError(`options.${name} must be a boolean, got ${typeof value}.`);
  }
  return value;
}

/**
 * Why a secret is outside its validity period at `nowMs`, or undefined when it is within it.
 * @param properties - the listed or fetched properties
 * @param nowMs - the time to judge by
 * @returns "expired" (`expiresOn` has passed), "notYetValid" (`notBefore` is to come) or undefined
 */
export function validityOf(
  properties: Pick<SecretProperties, "expiresOn" | "notBefore">,
  nowMs: number,
): "expired" | "notYetValid" | undefined {
  if (properties.expiresOn !== undefined && properties.expiresOn.getTime() <= nowMs) {
    return "expired";
  }
  if (properties.notBefore !== undefined && properties.notBefore.getTime() > nowMs) {
    return "notYetValid";
  }
  return undefined;
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

/**
 * Checks the `names` of `refreshNow`.
 * @returns key -> the name as given, once per key
 * @throws TypeError when it is not an array of secret names
 */
export function checkNames(names: unknown, method: string): Map<string, string> {
  if (!Array.isArray(names)) {
    throw new TypeError(
      `SecretCache.${method}(names): names must be an array of secret names (or omitted for every secret), got ${typeof names}.`,
    );
  }
  const keys = new Map<string, string>();
  for (const name of names) {
    const key = checkSecretKey(name, `SecretCache.${method}(names): each name`);
    if (!keys.has(key)) keys.set(key, name as string);
  }
  return keys;
}
