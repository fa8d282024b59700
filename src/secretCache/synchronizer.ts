import { setMaxListeners } from "node:events";
import { performance } from "node:perf_hooks";
import { AbortError, type AbortSignalLike } from "@azure/abort-controller";
import { logger } from "../log.js";
import type { KeyVaultSecret, SecretProperties } from "../models.js";
import type { ContinuablePage } from "../paging.js";
import {
  throttlingHandOffKey,
  wasHandedOff,
  type ThrottlingHandOff,
} from "../util/throttlingHandOff.js";
import type {
  CachedSecret,
  ReadOutcome,
  RemovalReason,
  SecretCacheSkippedSecret,
} from "./changes.js";
import {
  describeError,
  goneReason,
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

/** Said once per cache when a 429 of a load or refresh came from a client that retries 429s itself. */
export const throttlingNotHandedOffWarning =
  "SecretCache: a throttled request (429) came back from a client that does not take the cache's " +
  "throttling hand-off (not this package's SecretClient; Microsoft's 4.x Key Vault secrets " +
  "client is one). Such a client may retry a 429 on its own first (4.x honours Retry-After, up to " +
  "3 times), each worker alone, before the cache's shared backoff pauses them all. Give the cache " +
  "this package's SecretClient for one pause from the first 429.";

/** What one pass over the vault found. */
export interface SyncResult {
  /** When the pass began (`performance.now()`). */
  startedAtMs: number;
  /** Keys of the listed secrets that pass the filters. */
  listed: Set<string>;
  /** Secrets read, by key, with when each request was sent. */
  fetched: Map<string, { secret: KeyVaultSecret; readStartedAtMs: number }>;
  /** Secrets listed but deleted or disabled before their fetch: key -> which. */
  vanished: Map<string, "deleted" | "disabled">;
  /** Secrets listed disabled that the name filters keep: key -> name as the vault spells it. */
  disabled: Map<string, string>;
  /** Keys of enabled secrets that the name filters keep and the tag or `filter` reject. */
  filteredOut: Set<string>;
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
      startedAtMs: performance.now(),
      listed: new Set(),
      fetched: new Map(),
      vanished: new Map(),
      disabled: new Map(),
      filteredOut: new Set(),
      skipped: [],
      failures: [],
      attempted: 0,
    };
    const queue = new WorkQueue<string>();
    const worker = async (): Promise<void> => {
      for (let name = await queue.take(); name !== undefined; name = await queue.take()) {
        const key = keyOf(name);
        const readStartedAtMs = performance.now();
        try {
          result.fetched.set(key, {
            secret: await this.fetch(name, requestOptions),
            readStartedAtMs,
          });
        } catch (error) {
          if (signal.aborted) return;
          const gone = goneReason(error);
          if (gone !== undefined) {
            logger.info(`SecretCache: "${name}" was ${gone} after it was listed.`);
            result.vanished.set(key, gone);
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
   * Reads one secret by name (for `getOrFetch`, `refreshNow` and the per-secret timers), under the
   * shared backoff, and judges it by the filters and its dates. Never rejects for the vault's
   * answer: a failure is an outcome.
   * @param secretName - the secret's name
   * @throws Error when the cache was closed
   */
  async readOne(secretName: string): Promise<ReadOutcome> {
    const { closeSignal, filter, includeOutsideValidityPeriod } = this.context;
    const readStartedAtMs = performance.now();
    let secret: KeyVaultSecret;
    try {
      // Not part of a load or refresh: the client retries a 429 first, as for any caller.
      secret = await this.fetch(secretName, { abortSignal: closeSignal });
    } catch (error) {
      if (closeSignal.aborted) {
        throw new Error(`The SecretCache was closed while it was reading "${secretName}".`, {
          cause: error,
        });
      }
      const gone = goneReason(error);
      if (gone !== undefined) {
        return { kind: "removed", secretName, reason: gone, readStartedAtMs, error };
      }
      const failure = { secretName, reason: describeError(error), error };
      return { kind: "failed", failure, readStartedAtMs };
    }
    const removed = { kind: "removed" as const, secretName: secret.name, readStartedAtMs };
    if (!filter.matches(secret.properties)) return { ...removed, reason: "filteredOut" };
    const validity = includeOutsideValidityPeriod
      ? undefined
      : validityOf(secret.properties, Date.now());
    if (validity === "expired") {
      return { ...removed, reason: validity, date: secret.properties.expiresOn! };
    }
    if (validity === "notYetValid") {
      return { ...removed, reason: validity, date: secret.properties.notBefore! };
    }
    return { kind: "read", secret, readStartedAtMs };
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
          if (filter.matchesName(key)) {
            if (properties.enabled === false) result.disabled.set(key, properties.name);
            else result.filteredOut.add(key);
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

/**
 * What a refresh found for each secret it read or that left the cache: the secrets fetched, and
 * each cached one (of `snapshot`) that is gone, with the reason.
 * @param snapshot - the entries as they were when the refresh began
 * @param result - what the refresh read
 * @returns outcomes by key (none for a failed fetch: its failure is in `result.failures`)
 */
export function syncOutcomes(
  snapshot: Map<string, CachedSecret>,
  result: SyncResult,
): Map<string, ReadOutcome> {
  const outcomes = new Map<string, ReadOutcome>();
  for (const [key, { secret, readStartedAtMs }] of result.fetched) {
    outcomes.set(key, { kind: "read", secret, readStartedAtMs });
  }
  const skipped = new Map(result.skipped.map((s) => [keyOf(s.secretName), s.reason]));
  for (const [key, entry] of snapshot) {
    const vanished = result.vanished.get(key);
    if (result.listed.has(key) && vanished === undefined) continue;
    const reason: RemovalReason =
      vanished ??
      skipped.get(key) ??
      (result.disabled.has(key)
        ? "disabled"
        : result.filteredOut.has(key)
          ? "filteredOut"
          : "deleted");
    outcomes.set(key, {
      kind: "removed",
      secretName: entry.name,
      reason,
      readStartedAtMs: result.startedAtMs,
    });
  }
  return outcomes;
}

/** Whether a listed secret may differ from the cached one, so that it must be fetched again. */
function hasChanged(cached: CachedSecret, listed: SecretProperties): boolean {
  if (cached.invalidated) return true;
  if (listed.version !== undefined) return listed.version !== cached.version;
  return cached.unsettled || listed.updatedOn?.getTime() !== cached.updatedOnMs;
}
