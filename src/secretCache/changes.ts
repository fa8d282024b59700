/**
 * What a {@link SecretCache} holds for each secret, and how the outcome of a read changes it: the
 * change it reports (names, version ids and reasons, never values), and the rule that a read sent
 * earlier never overwrites what a read sent later found.
 */
import { performance } from "node:perf_hooks";
import type { KeyVaultSecret } from "../models.js";
import type { SecretCacheFailure } from "./errors.js";

/**
 * A secret fetched less than this long after its last update may get another version within the
 * same whole second of `updatedOn`, which the list could not tell apart; it is fetched again on
 * the next refresh. The margin covers clock skew between the vault and this machine.
 */
const unsettledWindowInMs = 3000;

/**
 * A read sent this long after a version was first received sees any later version created within
 * the same second of `updatedOn` (whatever the vault's clock says): the version is then settled.
 * One second, and a margin for the two clocks' rates.
 */
const sameSecondInMs = 1100;

/** A secret a load or refresh left out because of its dates. Never a value. */
export interface SecretCacheSkippedSecret {
  /** The secret's name, as the vault spells it. */
  secretName: string;
  /** `"expired"`: its `expiresOn` has passed. `"notYetValid"`: its `notBefore` is to come. */
  reason: "expired" | "notYetValid";
  /** The date that decided it: `expiresOn` when expired, `notBefore` when not yet valid. */
  date: Date;
}

/**
 * Why a secret changed in the cache. `"newVersion"`: it was added or its latest version changed.
 * The others say why it was removed: `"deleted"` (the vault no longer lists it, or answered 404),
 * `"disabled"`, `"expired"` (its `expiresOn` has passed), `"notYetValid"` (its `notBefore` is to
 * come), `"filteredOut"` (its tags or the `filter` function no longer keep it).
 */
export type SecretCacheChangeReason =
  "newVersion" | "deleted" | "disabled" | "expired" | "notYetValid" | "filteredOut";

/** One secret a refresh changed: its name, version ids and why. Never a value. */
export interface SecretCacheChangeDetail {
  /** The secret's name, as the vault spells it. */
  secretName: string;
  /** Which list of the change it is in. */
  kind: "added" | "updated" | "removed";
  /** Why it changed. */
  reason: SecretCacheChangeReason;
  /** The version the cache held before; undefined for an added secret. */
  previousVersion: string | undefined;
  /** The version the cache holds now; undefined for a removed secret. */
  version: string | undefined;
}

/** What one refresh changed. Sorted by name; names and version ids, never values. */
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
  /**
   * Every secret of `added`, `updated` and `removed`, sorted by name, with the version the cache
   * held before and holds now, and why it changed.
   */
  details: SecretCacheChangeDetail[];
}

/** A secret as the cache holds it. */
export interface CachedSecret {
  name: string;
  /** The value; empty while `invalidated`. */
  value: string;
  version: string | undefined;
  updatedOnMs: number | undefined;
  /** Whether a version created later could show in the list with the same `updatedOn`. */
  unsettled: boolean;
  /**
   * When the read that found it was sent (`performance.now()`), or when it was invalidated: a
   * read sent before this changes nothing.
   */
  readStartedAtMs: number;
  /** When this version was first received (`performance.now()`). */
  versionSeenAtMs: number;
  /** Set by `invalidate()`: the value is dropped and must be read again. */
  invalidated: boolean;
}

/** The reasons a read can remove a secret. */
export type RemovalReason = Exclude<SecretCacheChangeReason, "newVersion">;

/** What one read found for one secret. */
export type ReadOutcome =
  /** The secret, enabled and kept by the filters. */
  | { kind: "read"; secret: KeyVaultSecret; readStartedAtMs: number }
  /**
   * Absent, or left out: `error` is the vault's answer for a deleted or disabled one, `date` the
   * date that decided an expired or not yet valid one.
   */
  | {
      kind: "removed";
      secretName: string;
      reason: RemovalReason;
      readStartedAtMs: number;
      error?: unknown;
      date?: Date;
    }
  /** The read failed: nothing is known. */
  | { kind: "failed"; failure: SecretCacheFailure; readStartedAtMs: number };

/**
 * The cache entry of a secret just read.
 * @param secret - what the vault answered
 * @param readStartedAtMs - when the request was sent (`performance.now()`)
 * @param previous - the entry the cache held, if any
 */
export function toEntry(
  secret: KeyVaultSecret,
  readStartedAtMs: number,
  previous?: CachedSecret,
): CachedSecret {
  const updatedOnMs = secret.properties.updatedOn?.getTime();
  const version = secret.properties.version;
  const sameVersion =
    previous !== undefined &&
    previous.version === version &&
    previous.updatedOnMs === updatedOnMs &&
    version !== undefined;
  const versionSeenAtMs = sameVersion ? previous.versionSeenAtMs : performance.now();
  return {
    name: secret.name,
    value: secret.value ?? "",
    version,
    updatedOnMs,
    unsettled:
      updatedOnMs === undefined ||
      (Date.now() < updatedOnMs + unsettledWindowInMs &&
        // A vault whose clock runs ahead of this machine's would leave it unsettled for good.
        !(sameVersion && readStartedAtMs >= versionSeenAtMs + sameSecondInMs)),
    readStartedAtMs,
    versionSeenAtMs,
    invalidated: false,
  };
}

/**
 * An entry whose value is dropped until a read sent after now.
 * @param entry - the cached entry
 */
export function invalidated(entry: CachedSecret): CachedSecret {
  return { ...entry, value: "", invalidated: true, readStartedAtMs: performance.now() };
}

/** A change that changed nothing. */
export function noChange(skipped: SecretCacheSkippedSecret[] = []): SecretCacheChange {
  return { added: [], updated: [], removed: [], skipped, details: [] };
}

/** Whether a change added, updated or removed anything (what `change` is emitted for). */
export function changedAnything(change: SecretCacheChange): boolean {
  return change.details.length > 0;
}

/**
 * Applies what reads found to the cache's entries and says what changed. A failed outcome is
 * left out (the caller decides whether the others apply); an outcome of a read sent before the
 * entry's own read (or its invalidation) changes nothing. A secret counts as updated only when
 * its version or value changed.
 * @param entries - the cache's entries, updated in place
 * @param outcomes - by key
 * @param skipped - the secrets skipped for their dates, as the change reports them
 * @returns the names added, updated and removed, sorted, with their details
 */
export function applyOutcomes(
  entries: Map<string, CachedSecret>,
  outcomes: Map<string, ReadOutcome>,
  skipped: SecretCacheSkippedSecret[],
): SecretCacheChange {
  const change = noChange(skipped);
  for (const [key, outcome] of outcomes) {
    if (outcome.kind === "failed") continue;
    const previous = entries.get(key);
    if (previous !== undefined && outcome.readStartedAtMs < previous.readStartedAtMs) continue;
    const detail =
      outcome.kind === "read"
        ? applyRead(entries, key, outcome.secret, outcome.readStartedAtMs, previous)
        : applyRemoval(entries, key, outcome.reason, previous);
    if (detail !== undefined) change.details.push(detail);
  }
  change.details.sort((a, b) => (a.secretName < b.secretName ? -1 : 1));
  for (const detail of change.details) change[detail.kind].push(detail.secretName);
  return change;
}

/** The secrets outcomes left out for their dates, sorted by name. */
export function skippedOf(outcomes: ReadOutcome[]): SecretCacheSkippedSecret[] {
  const skipped: SecretCacheSkippedSecret[] = [];
  for (const outcome of outcomes) {
    if (outcome.kind !== "removed" || outcome.date === undefined) continue;
    if (outcome.reason === "expired" || outcome.reason === "notYetValid") {
      skipped.push({ secretName: outcome.secretName, reason: outcome.reason, date: outcome.date });
    }
  }
  return skipped.sort((a, b) => (a.secretName < b.secretName ? -1 : 1));
}

function applyRead(
  entries: Map<string, CachedSecret>,
  key: string,
  secret: KeyVaultSecret,
  readStartedAtMs: number,
  previous: CachedSecret | undefined,
): SecretCacheChangeDetail | undefined {
  const entry = toEntry(secret, readStartedAtMs, previous);
  entries.set(key, entry);
  const detail = {
    secretName: entry.name,
    reason: "newVersion" as const,
    previousVersion: previous?.version,
    version: entry.version,
  };
  if (previous === undefined) return { ...detail, kind: "added" };
  const valueChanged = !previous.invalidated && previous.value !== entry.value;
  if (previous.version !== entry.version || valueChanged) return { ...detail, kind: "updated" };
  return undefined;
}

function applyRemoval(
  entries: Map<string, CachedSecret>,
  key: string,
  reason: RemovalReason,
  previous: CachedSecret | undefined,
): SecretCacheChangeDetail | undefined {
  if (previous === undefined) return undefined;
  entries.delete(key);
  return {
    secretName: previous.name,
    kind: "removed",
    reason,
    previousVersion: previous.version,
    version: undefined,
  };
}
