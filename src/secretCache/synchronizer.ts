import { setMaxListeners } from "node:events";
import { AbortError, type AbortSignalLike } from "@azure/abort-controller";
import { logger } from "../log.js";
import type { KeyVaultSecret, SecretProperties } from "../models.js";
import type { ContinuablePage } from "../paging.js";
import {
  throttlingHandOffKey,
  wasHandedOff,
  type ThrottlingHandOff,
} from "../util/throttlingHandOff.js";
import {
  describeError,
  isGone,
  listingFailureName,
  SecretCacheError,
  type SecretCacheFailure,
} from "./errors.js";
import { keyOf, validityOf, type SecretCacheClient, type SecretFilter } from "./options.js";
import {
  type SharedBackoff,
  type SharedBackoffAttempts,
  withSharedBackoff,
} from "./sharedBackoff.js";
import { WorkQueue } from "./workQueue.js";

/**
 * A secret fetched less than this long after its last update may get another version within the
 * same whole second of `updatedOn`, which the list could not tell apart; it is fetched again on
 * the next refresh. The margin covers clock skew between the vault and this machine.
 */
const unsettledWindowInMs = 3000;

/** Said once per cache when a 429 of a load or refresh came from a client that retries 429s itself. */
export const throttlingNotHandedOffWarning =
  "SecretCache: a throttled request (429) came back from a client that does not take the cache's " +
  "throttling hand-off (not this package's SecretClient; Microsoft's @azure/keyvault-secrets 4.x " +
  "client is one). Such a client may retry a 429 on its own first (4.x honours Retry-After, up to " +
  "3 times), each worker alone, before the cache's shared backoff pauses them all. Give the cache " +
  "this package's SecretClient for one pause from the first 429.";

/** A secret a load or refresh left out because of its dates. Never a value. */
export interface SecretCacheSkippedSecret {
  /** The secret's name, as the vault spells it. */
  secretName: string;
  /** `"expired"`: its `expiresOn` has passed. `"notYetValid"`: its `notBefore` is to come. */
  reason: "expired" | "notYetValid";
  /** The date that decided it: `expiresOn` when expired, `notBefore` when not yet valid. */
  date: Date;
}

/** The names of the secrets one refresh changed. Sorted; never values. */
export interface SecretCacheChange {
  /** Secrets new in the cache. */
  added: string[];
  /** Secrets whose latest version changed (rotated). */
  updated: string[];
  /** Secrets gone from the cache: deleted, disabled, expired, or no longer passing the filters. */
  removed: string[];
  /**
   * Secrets left out because `expiresOn` has passed or `notBefore` is to come (unless
   * `includeOutsideValidityPeriod`), sorted by name. A cached secret that expired is also in
   * `removed`.
   */
  skipped: SecretCacheSkippedSecret[];
}

/** A secret as the cache holds it. */
export interface CachedSecret {
  name: string;
  value: string;
  version: string | undefined;
  updatedOnMs: number | undefined;
  /** Whether a version created later could show in the list with the same `updatedOn`. */
  unsettled: boolean;
}

/** What one pass over the vault found. */
export interface SyncResult {
  /** Keys of the listed secrets that pass the filters. */
  listed: Set<string>;
  /** Secrets read, by key. */
  fetched: Map<string, KeyVaultSecret>;
  /** Keys of secrets listed but deleted or disabled before their fetch. */
  vanished: Set<string>;
  /** Secrets listed disabled that the name filters keep: key -> name as the vault spells it. */
  disabled: Map<string, string>;
  /** Secrets left out because of their dates. */
  skipped: SecretCacheSkippedSecret[];
  /** Secrets that could not be read. */
  failures: SecretCacheFailure[];
  /** How many fetches were started. */
  attempted: number;
}

/** The options each request of a load or refresh is sent with. */
type SyncRequestOptions = { abortSignal: AbortSignal } & ThrottlingHandOff;

/** What a {@link Synchronizer} works with. */
export interface SynchronizerContext {
  client: SecretCacheClient;
  filter: SecretFilter;
  backoff: SharedBackoff;
  concurrency: number;
  maxAttempts: number;
  /** Whether expired and not-yet-valid secrets are cached too. */
  includeOutsideValidityPeriod: boolean;
  /** Aborted when the cache is closed. */
  closeSignal: AbortSignal;
}

/**
 * Reads the vault for a {@link SecretCache}: lists it and fetches, with bounded concurrency and the
 * shared backoff, the secrets a load or refresh calls for.
 */
export class Synchronizer {
  /** Whether the warning that the client does not take the throttling hand-off was given. */
  private handOffWarned = false;

  constructor(private readonly context: SynchronizerContext) {}

  /**
   * Lists the vault and fetches what `addNew` and `snapshot` call for. Fetching starts with the
   * first page, while the listing goes on.
   *
   * @param addNew - fetch listed secrets the snapshot does not hold
   * @param snapshot - the cached secrets; those listed as changed are fetched again
   * @param abortSignal - the caller's signal: ends the listing, the fetches and the waits
   * @throws SecretCacheError when the listing failed; Error when the cache was closed;
   *   AbortError when `abortSignal` fired
   */
  async synchronize(
    addNew: boolean,
    snapshot: Map<string, CachedSecret> = new Map(),
    abortSignal?: AbortSignalLike,
  ): Promise<SyncResult> {
    const { closeSignal, concurrency } = this.context;
    if (abortSignal?.aborted) throw new AbortError("The SecretCache operation was aborted.");
    const controller = new AbortController();
    const onClose = (): void => controller.abort(closeSignal.reason);
    const onAbort = (): void => controller.abort(new AbortError("aborted"));
    closeSignal.addEventListener("abort", onClose, { once: true });
    abortSignal?.addEventListener("abort", onAbort);
    const signal = controller.signal;
    // Every worker's 429 comes straight here, to the one shared backoff (see sharedBackoff.ts):
    // the requests ask the client not to retry 429s on its own (util/throttlingHandOff.ts).
    const requestOptions: SyncRequestOptions = {
      abortSignal: signal,
      [throttlingHandOffKey]: true,
    };
    // Each worker's request and wait listen to the signal: not a leak, so no warning below that.
    setMaxListeners(4 * concurrency + 10, signal);
    const result: SyncResult = {
      listed: new Set(),
      fetched: new Map(),
      vanished: new Set(),
      disabled: new Map(),
      skipped: [],
      failures: [],
      attempted: 0,
    };
    const queue = new WorkQueue<string>();
    const worker = async (): Promise<void> => {
      for (let name = await queue.take(); name !== undefined; name = await queue.take()) {
        const key = keyOf(name);
        try {
          result.fetched.set(key, await this.fetch(name, requestOptions));
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
    const workers = Array.from({ length: concurrency }, worker);
    let listError: unknown;
    try {
      for await (const properties of this.listMatching(requestOptions, result)) {
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
    abortSignal?.removeEventListener("abort", onAbort);
    result.failures.sort((a, b) => (a.secretName < b.secretName ? -1 : 1));
    result.skipped.sort((a, b) => (a.secretName < b.secretName ? -1 : 1));
    if (closeSignal.aborted) {
      throw new Error("The SecretCache was closed while it was reading the vault.");
    }
    if (abortSignal?.aborted) {
      throw new AbortError("The SecretCache operation was aborted; nothing was changed.");
    }
    if (listError !== undefined) {
      throw new SecretCacheError(
        `SecretCache could not list the vault's secrets: ${describeError(listError)}.${snapshot.size > 0 ? " The last good values are kept." : ""}`,
        [{ secretName: listingFailureName, reason: describeError(listError), error: listError }],
      );
    }
    return result;
  }

  /**
   * Gets a secret; a 429 pauses every worker, then tries again. The requests of a load or refresh
   * ask the client to hand 429s back at once, so the shared backoff sees each of them.
   * @param requestOptions - the signal that ends the waits and the request, and the hand-off ask
   */
  fetch(name: string, requestOptions: SyncRequestOptions): Promise<KeyVaultSecret> {
    const { backoff, client } = this.context;
    return withSharedBackoff(backoff, this.attempts(requestOptions, `"${name}"`), () =>
      // A copy per request, as a client may write to the options it is given.
      client.getSecret(name, { ...requestOptions }),
    );
  }

  /** How {@link withSharedBackoff} retries a request sent with `requestOptions`. */
  private attempts(requestOptions: SyncRequestOptions, subject: string): SharedBackoffAttempts {
    return {
      maxAttempts: this.context.maxAttempts,
      signal: requestOptions.abortSignal,
      subject,
      onThrottled: requestOptions[throttlingHandOffKey] === true ? this.checkHandOff : undefined,
    };
  }

  /**
   * Sees each 429 of a request that asked for the throttling hand-off. A client that did not take
   * it (not this package's SecretClient: Microsoft's 4.x one, a wrapper that drops the option, a
   * fake) may have retried the 429 on its own before giving it back; said once per cache.
   */
  private readonly checkHandOff = (error: unknown): void => {
    if (this.handOffWarned || wasHandedOff(error)) return;
    this.handOffWarned = true;
    logger.warning(throttlingNotHandedOffWarning);
  };

  /**
   * Gets one secret for `getOrFetch`, checked against the filters.
   * @param secretName - the secret's name
   * @throws SecretCacheError when it cannot be read or the filters exclude it; Error when the
   *   cache was closed
   */
  async fetchOne(secretName: string, key: string): Promise<KeyVaultSecret> {
    const { closeSignal, filter } = this.context;
    if (!filter.matchesName(key)) {
      throw new SecretCacheError(
        `SecretCache.getOrFetch("${secretName}"): the secret is excluded by the cache's names or prefix filter.`,
        [],
      );
    }
    let secret: KeyVaultSecret;
    try {
      // Not part of a load or refresh: the client retries a 429 first, as for any caller.
      secret = await this.fetch(secretName, { abortSignal: closeSignal });
    } catch (error) {
      if (closeSignal.aborted) {
        throw new Error(`The SecretCache was closed while it was fetching "${secretName}".`, {
          cause: error,
        });
      }
      const reason = describeError(error);
      throw new SecretCacheError(`SecretCache.getOrFetch("${secretName}") failed: ${reason}.`, [
        { secretName, reason, error },
      ]);
    }
    if (!filter.matches(secret.properties)) {
      throw new SecretCacheError(
        `SecretCache.getOrFetch("${secretName}"): the secret is excluded by the cache's tag filter or filter function.`,
        [],
      );
    }
    const validity = this.context.includeOutsideValidityPeriod
      ? undefined
      : validityOf(secret.properties, Date.now());
    if (validity !== undefined) {
      const reason =
        validity === "expired"
          ? `expired on ${secret.properties.expiresOn!.toISOString()}`
          : `not valid before ${secret.properties.notBefore!.toISOString()}`;
      throw new SecretCacheError(
        `SecretCache.getOrFetch("${secretName}"): the secret is ${reason}; set includeOutsideValidityPeriod to read it anyway.`,
        [],
      );
    }
    return secret;
  }

  /**
   * The listed secrets that are enabled, within their validity period (unless the option says
   * otherwise) and pass the filters, reading every page until the pager is done. Disabled and
   * skipped secrets are recorded in `result`. A throttled listing resumes from the last page's
   * continuation token, or, with a client whose pages carry none, from the first page again,
   * skipping the secrets already listed.
   */
  private async *listMatching(
    requestOptions: SyncRequestOptions,
    result: SyncResult,
  ): AsyncGenerator<SecretProperties> {
    const { backoff, client, filter, includeOutsideValidityPeriod } = this.context;
    const seen = new Set<string>();
    let continuationToken: string | undefined;
    let pages: AsyncIterator<ContinuablePage<SecretProperties>> | undefined;
    const nextPage = async (): Promise<IteratorResult<ContinuablePage<SecretProperties>>> => {
      pages ??= client
        .listPropertiesOfSecrets({ ...requestOptions })
        .byPage(continuationToken === undefined ? {} : { continuationToken });
      try {
        return await pages.next();
      } catch (error) {
        // The pager is done after an error: the next attempt starts a new one.
        pages = undefined;
        throw error;
      }
    };
    const requestPage = (): Promise<IteratorResult<ContinuablePage<SecretProperties>>> => {
      const page = withSharedBackoff(backoff, this.attempts(requestOptions, "listing"), nextPage);
      // Awaited below; until then a failure must not count as unhandled.
      page.catch(() => undefined);
      return page;
    };
    let pending = requestPage();
    for (;;) {
      const next = await pending;
      if (next.done === true) return;
      // Only to resume after an error: the end of the listing is the pager's to say.
      if (next.value.continuationToken !== undefined) {
        continuationToken = next.value.continuationToken;
      }
      // The listing is a chain of round trips, the least time a load can take: the next page is
      // asked for before this page's secrets go to the workers, so its request goes out first and
      // the chain never waits behind the gets.
      pending = requestPage();
      const nowMs = Date.now();
      for (const properties of next.value) {
        const key = keyOf(properties.name);
        if (seen.has(key)) continue;
        seen.add(key);
        if (!filter.matches(properties)) {
          if (properties.enabled === false && filter.matchesName(key)) {
            result.disabled.set(key, properties.name);
          }
          continue;
        }
        const validity = includeOutsideValidityPeriod ? undefined : validityOf(properties, nowMs);
        if (validity !== undefined) {
          result.skipped.push({
            secretName: properties.name,
            reason: validity,
            date: validity === "expired" ? properties.expiresOn! : properties.notBefore!,
          });
          continue;
        }
        yield properties;
      }
    }
  }
}

/** The cache entry of a secret just read. */
export function toEntry(secret: KeyVaultSecret): CachedSecret {
  const updatedOnMs = secret.properties.updatedOn?.getTime();
  return {
    name: secret.name,
    value: secret.value ?? "",
    version: secret.properties.version,
    updatedOnMs,
    unsettled: updatedOnMs === undefined || Date.now() < updatedOnMs + unsettledWindowInMs,
  };
}

/**
 * Applies what a refresh read to the cache's entries and says what changed: a secret counts as
 * updated only when its version or value changed, and a cached secret no longer listed (or gone
 * since the listing) is removed.
 * @param entries - the cache's entries, updated in place
 * @param snapshot - the entries as they were when the refresh began
 * @param result - what the refresh read
 * @returns the names added, updated and removed, sorted
 */
export function applyChanges(
  entries: Map<string, CachedSecret>,
  snapshot: Map<string, CachedSecret>,
  result: SyncResult,
): SecretCacheChange {
  const change: SecretCacheChange = {
    added: [],
    updated: [],
    removed: [],
    skipped: result.skipped,
  };
  for (const [key, secret] of result.fetched) {
    const previous = entries.get(key);
    const entry = toEntry(secret);
    entries.set(key, entry);
    if (previous === undefined) change.added.push(entry.name);
    else if (previous.version !== entry.version || previous.value !== entry.value) {
      change.updated.push(entry.name);
    }
  }
  for (const [key, entry] of snapshot) {
    if ((!result.listed.has(key) || result.vanished.has(key)) && entries.delete(key)) {
      change.removed.push(entry.name);
    }
  }
  change.added.sort();
  change.updated.sort();
  change.removed.sort();
  return change;
}

/** Whether a listed secret may differ from the cached one, so that it must be fetched again. */
function hasChanged(cached: CachedSecret, listed: SecretProperties): boolean {
  if (listed.version !== undefined) return listed.version !== cached.version;
  return cached.unsettled || listed.updatedOn?.getTime() !== cached.updatedOnMs;
}
