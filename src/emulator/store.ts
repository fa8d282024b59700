/**
 * The local vault's state and the service's rules about it. Every change is expressed as a
 * {@link StoreRecord} that is applied synchronously and can be replayed from the journal, so a
 * restarted vault reaches the same state without generating anything anew. Wire bodies are
 * rendered from what it returns by `render.ts`.
 */
import { randomBytes } from "node:crypto";
import {
  beingDeleted,
  beingRecovered,
  deletedButRecoverable,
  deletedSecretNotFound,
  purgeNotAllowed,
  restoreConflict,
  secretDisabled,
  secretNotFound,
} from "./errors.js";

/** One version of a secret, as the vault keeps it (and as backups carry it). */
export interface StoredVersion {
  version: string;
  value: string;
  contentType?: string;
  tags?: Record<string, string>;
  enabled: boolean;
  nbf?: number;
  exp?: number;
  /** Unix seconds. */
  created: number;
  /** Unix seconds. */
  updated: number;
}

/** Every version of one secret, in creation order (the form backups and restore records carry). */
export interface SerializedSecret {
  name: string;
  versions: StoredVersion[];
}

/** A secret as readers see it: name, versions and deletion dates. */
export interface SecretView {
  readonly name: string;
  readonly versions: readonly StoredVersion[];
  readonly deletedDate?: number;
  readonly scheduledPurgeDate?: number;
}

interface SecretEntry extends SecretView {
  key: string;
  name: string;
  versions: StoredVersion[];
  byVersion: Map<string, StoredVersion>;
  /** Vault-clock milliseconds until which a delete or recover is still in progress; 0 = none. */
  pendingUntil: number;
  deletedDate?: number;
  scheduledPurgeDate?: number;
}

/** The writable fields of a set request, already validated. */
export interface SetFields {
  value: string;
  contentType?: string;
  tags?: Record<string, string>;
  enabled?: boolean;
  nbf?: number;
  exp?: number;
}

/** The writable fields of an update request, already validated; absent = unchanged. */
export interface UpdateFields {
  contentType?: string;
  tags?: Record<string, string>;
  enabled?: boolean;
  nbf?: number;
  exp?: number;
}

/** A state change, journaled before it is acknowledged and replayed at start. */
export type StoreRecord =
  | ({ type: "set"; key: string; name: string; version: string; at: number } & SetFields)
  | ({ type: "update"; key: string; version: string; at: number } & UpdateFields)
  | {
      type: "delete";
      key: string;
      readyAt: number;
      deletedDate?: number;
      scheduledPurgeDate?: number;
    }
  | { type: "recover"; key: string; readyAt: number }
  | { type: "purge"; key: string; /** Vault-clock milliseconds of the purge. */ at?: number }
  | { type: "restore"; secret: SerializedSecret }
  | { type: "reset" }
  | { type: "clock"; advanceMs: number }
  | {
      /** One whole secret as a compacted journal keeps it (see {@link SecretStore.snapshot}). */
      type: "entry";
      secret: SerializedSecret;
      pendingUntil: number;
      deletedDate?: number;
      scheduledPurgeDate?: number;
    };

/** The settings of a store. */
export interface StoreSettings {
  recoveryLevel: string;
  recoverableDays: number;
  delayMs: number;
  /** Milliseconds after a purge during which a restore of the name conflicts. */
  restoreConflictAfterPurgeInMs: number;
}

/** A result of a mutation: the record to journal and the secret it changed. */
export interface Mutation {
  record: StoreRecord;
  secret: SecretView;
  /** The version the answer names (the new one for set, the latest for recover and restore). */
  version: StoredVersion;
}

/** One page of a list: the secrets (or versions) and where the next page starts. */
export interface ListPage<T> {
  items: T[];
  lastKey: string;
  more: boolean;
}

/** Largest shift of the vault clock, in one step and in all: 100 years. */
export const maxClockShiftMs = 100 * 365.25 * 86_400_000;

/**
 * What is wrong with a clock shift, if anything: it must be a whole, non-negative number of
 * milliseconds, and the clock may run at most 100 years ahead (so dates stay integral seconds in
 * range).
 * @param ms - the shift asked for
 * @param offsetMs - the clock's current shift
 * @returns the problem, or undefined for a valid shift
 */
export function clockShiftProblem(ms: unknown, offsetMs: number): string | undefined {
  if (typeof ms !== "number" || !Number.isInteger(ms) || ms < 0) {
    return `advanceMs must be a whole, non-negative number of milliseconds, got ${String(ms)}.`;
  }
  if (ms + offsetMs > maxClockShiftMs) {
    return `advanceMs would move the vault clock more than 100 years (${maxClockShiftMs} ms) ahead.`;
  }
  return undefined;
}

/** The vault's clock: wall time shifted by the test control `advanceClock`. */
export class VaultClock {
  /** Milliseconds the clock runs ahead of wall time. */
  offsetMs = 0;

  /**
   * Current vault time.
   * @returns milliseconds since the epoch, shifted
   */
  nowMs(): number {
    return Date.now() + this.offsetMs;
  }

  /**
   * Shifts the clock forward.
   * @param ms - milliseconds to add
   */
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

/** The vault's secrets, active and deleted, with the rules of the real service. */
export class SecretStore {
  private readonly active = new Map<string, SecretEntry>();
  private readonly deleted = new Map<string, SecretEntry>();
  /** Vault-clock milliseconds of recent purges, by key (restores conflict for a while after). */
  private readonly purgedAt = new Map<string, number>();
  private readonly softDelete: boolean;
  private readonly purgeable: boolean;

  /**
   * Creates an empty store.
   * @param settings - recovery level, retention and delay of delete/recover
   * @param clock - the vault clock
   */
  constructor(
    private readonly settings: StoreSettings,
    readonly clock: VaultClock,
  ) {
    this.softDelete = settings.recoveryLevel !== "Purgeable";
    this.purgeable = settings.recoveryLevel.includes("Purgeable");
  }

  // ---- reads -------------------------------------------------------------------------------

  /**
   * Reads a secret (latest or one version) for a get.
   * @param name - secret name
   * @param version - version, or "" for the latest
   * @returns the secret and the version
   */
  get(name: string, version: string): { secret: SecretView; version: StoredVersion } {
    const entry = this.activeEntry(name);
    const stored = this.findVersion(entry, name, version);
    if (!stored.enabled) throw secretDisabled();
    return { secret: entry, version: stored };
  }

  /**
   * Reads a deleted secret.
   * @param name - secret name
   * @returns the deleted secret
   */
  getDeleted(name: string): SecretView {
    return this.deletedEntry(name, true, deletedSecretNotFound);
  }

  /**
   * Lists active secrets after `afterKey`, ordered by lower-case name.
   * @param afterKey - lower-case name of the last item already returned ("" = from the start)
   * @param max - page size
   * @returns the secrets of the page and whether more follow
   */
  list(afterKey: string, max: number): ListPage<SecretView> {
    const now = this.clock.nowMs();
    return this.page(this.active, afterKey, max, (e) => e.pendingUntil <= now);
  }

  /**
   * Lists the versions of a secret after `afterVersion`, in creation order.
   * @param name - secret name
   * @param afterVersion - last version already returned ("" = from the start)
   * @param max - page size
   * @returns the secret (undefined when unknown) and the versions of the page
   */
  listVersions(
    name: string,
    afterVersion: string,
    max: number,
  ): ListPage<StoredVersion> & { secret: SecretView | undefined } {
    const entry = this.active.get(name.toLowerCase());
    const none = { secret: undefined, items: [], lastKey: afterVersion, more: false };
    // The service answers an empty list for a name it does not know.
    if (entry === undefined || entry.pendingUntil > this.clock.nowMs()) return none;
    let start = 0;
    if (afterVersion !== "") {
      start = entry.versions.findIndex((v) => v.version === afterVersion) + 1;
      if (start === 0) return none;
    }
    const items = entry.versions.slice(start, start + max);
    return {
      secret: entry,
      items,
      lastKey: items.length > 0 ? items[items.length - 1].version : afterVersion,
      more: start + max < entry.versions.length,
    };
  }

  /**
   * Lists deleted secrets after `afterKey`, ordered by lower-case name.
   * @param afterKey - lower-case name of the last item already returned ("" = from the start)
   * @param max - page size
   * @returns the deleted secrets of the page and whether more follow
   */
  listDeleted(afterKey: string, max: number): ListPage<SecretView> {
    const now = this.clock.nowMs();
    for (const entry of [...this.deleted.values()]) this.expireIfDue(entry, now);
    return this.page(this.deleted, afterKey, max, (e) => e.pendingUntil <= now);
  }

  /**
   * Reads every version of an active secret for a backup.
   * @param name - secret name
   * @returns the serialized secret
   */
  exportSecret(name: string): SerializedSecret {
    const entry = this.activeEntry(name);
    return { name: entry.name, versions: entry.versions.map((v) => ({ ...v })) };
  }

  // ---- mutations ---------------------------------------------------------------------------

  /**
   * Sets a secret: a new version that becomes the latest.
   * @param name - secret name (already validated)
   * @param fields - validated fields of the request
   * @returns the record, the secret and its new version
   */
  set(name: string, fields: SetFields): Mutation {
    const key = name.toLowerCase();
    const existing = this.active.get(key);
    if (existing !== undefined && existing.pendingUntil > this.clock.nowMs()) {
      throw beingRecovered(existing.name);
    }
    const deleted = this.liveDeleted(key);
    if (deleted !== undefined) throw deletedButRecoverable(deleted.name);
    const record: StoreRecord = {
      type: "set",
      key,
      name,
      version: randomBytes(16).toString("hex"),
      at: Math.floor(this.clock.nowMs() / 1000),
      ...fields,
    };
    this.apply(record);
    return this.latestOf(record, this.active.get(key) as SecretEntry);
  }

  /**
   * Updates the properties of one version (value cannot change).
   * @param name - secret name
   * @param version - version, or "" for the latest
   * @param fields - validated fields; absent ones stay unchanged
   * @returns the record, the secret and the version updated
   */
  update(name: string, version: string, fields: UpdateFields): Mutation {
    const entry = this.activeEntry(name);
    const stored = this.findVersion(entry, name, version);
    const record: StoreRecord = {
      type: "update",
      key: entry.key,
      version: stored.version,
      at: Math.floor(this.clock.nowMs() / 1000),
      ...fields,
    };
    this.apply(record);
    return { record, secret: entry, version: stored };
  }

  /**
   * Deletes every version of a secret (soft delete unless the level is `Purgeable`).
   * @param name - secret name
   * @returns the record and the deleted secret
   */
  delete(name: string): Mutation {
    const entry = this.activeEntry(name);
    const now = this.clock.nowMs();
    const deletedDate = Math.floor(now / 1000);
    const record: StoreRecord = this.softDelete
      ? {
          type: "delete",
          key: entry.key,
          readyAt: now + this.settings.delayMs,
          deletedDate,
          scheduledPurgeDate: deletedDate + this.settings.recoverableDays * 86400,
        }
      : { type: "delete", key: entry.key, readyAt: now };
    this.apply(record);
    return this.latestOf(record, entry);
  }

  /**
   * Purges a deleted secret for good.
   * @param name - secret name
   * @returns the record
   */
  purge(name: string): StoreRecord {
    const entry = this.deletedEntry(name, false, deletedSecretNotFound);
    if (entry.pendingUntil > this.clock.nowMs()) throw beingDeleted();
    if (!this.purgeable) throw purgeNotAllowed();
    const record: StoreRecord = { type: "purge", key: entry.key, at: this.clock.nowMs() };
    this.apply(record);
    return record;
  }

  /**
   * Recovers a deleted secret with all its versions.
   * @param name - secret name
   * @returns the record, the secret and its latest version
   */
  recover(name: string): Mutation {
    // The service answers the generic "not found" message here, not "Deleted Secret not found".
    const entry = this.deletedEntry(name, false, secretNotFound);
    const now = this.clock.nowMs();
    if (entry.pendingUntil > now) throw beingDeleted();
    const record: StoreRecord = {
      type: "recover",
      key: entry.key,
      readyAt: now + this.settings.delayMs,
    };
    this.apply(record);
    return this.latestOf(record, entry);
  }

  /**
   * Restores a backed-up secret with all its versions.
   * @param secret - the decrypted backup
   * @param idOf - the id of a version, named in a conflict
   * @returns the record, the secret and its latest version
   */
  restore(secret: SerializedSecret, idOf: (name: string, version: string) => string): Mutation {
    const key = secret.name.toLowerCase();
    const conflict = (): Error =>
      restoreConflict(idOf(secret.name, secret.versions[secret.versions.length - 1].version));
    // The service refuses a restore while the name is in use, and for a few seconds after a purge.
    if (this.active.has(key)) throw conflict();
    const purgedAt = this.purgedAt.get(key);
    if (purgedAt !== undefined) {
      if (this.clock.nowMs() < purgedAt + this.settings.restoreConflictAfterPurgeInMs) {
        throw conflict();
      }
      this.purgedAt.delete(key);
    }
    const deleted = this.liveDeleted(key);
    if (deleted !== undefined) throw deletedButRecoverable(deleted.name);
    const record: StoreRecord = { type: "restore", secret };
    this.apply(record);
    return this.latestOf(record, this.active.get(key) as SecretEntry);
  }

  /**
   * Applies one record; used for fresh mutations and for replaying the journal alike.
   * @param record - the record
   */
  apply(record: StoreRecord): void {
    switch (record.type) {
      case "set": {
        let entry = this.active.get(record.key);
        if (entry === undefined) {
          entry = newEntry(record.key, record.name);
          this.active.set(record.key, entry);
        }
        const stored: StoredVersion = {
          version: record.version,
          value: record.value,
          enabled: record.enabled ?? true,
          created: record.at,
          updated: record.at,
        };
        if (record.contentType !== undefined) stored.contentType = record.contentType;
        if (record.tags !== undefined) stored.tags = record.tags;
        if (record.nbf !== undefined) stored.nbf = record.nbf;
        if (record.exp !== undefined) stored.exp = record.exp;
        entry.versions.push(stored);
        entry.byVersion.set(stored.version, stored);
        entry.pendingUntil = 0;
        return;
      }
      case "update": {
        const stored = this.active.get(record.key)?.byVersion.get(record.version);
        if (stored === undefined) return;
        if (record.contentType !== undefined) stored.contentType = record.contentType;
        if (record.tags !== undefined) stored.tags = record.tags;
        if (record.enabled !== undefined) stored.enabled = record.enabled;
        if (record.nbf !== undefined) stored.nbf = record.nbf;
        if (record.exp !== undefined) stored.exp = record.exp;
        stored.updated = record.at;
        return;
      }
      case "delete": {
        const entry = this.active.get(record.key);
        if (entry === undefined) return;
        this.active.delete(record.key);
        if (record.deletedDate === undefined) return;
        entry.deletedDate = record.deletedDate;
        entry.scheduledPurgeDate = record.scheduledPurgeDate;
        entry.pendingUntil = record.readyAt;
        this.deleted.set(record.key, entry);
        return;
      }
      case "recover": {
        const entry = this.deleted.get(record.key);
        if (entry === undefined) return;
        this.deleted.delete(record.key);
        delete entry.deletedDate;
        delete entry.scheduledPurgeDate;
        entry.pendingUntil = record.readyAt;
        this.active.set(record.key, entry);
        return;
      }
      case "purge":
        this.deleted.delete(record.key);
        if (record.at !== undefined && this.settings.restoreConflictAfterPurgeInMs > 0) {
          this.purgedAt.set(record.key, record.at);
          if (this.purgedAt.size > 1024) this.forgetSettledPurges(record.at);
        }
        return;
      case "restore": {
        const key = record.secret.name.toLowerCase();
        const entry = newEntry(key, record.secret.name);
        for (const v of record.secret.versions) {
          const copy = { ...v };
          entry.versions.push(copy);
          entry.byVersion.set(copy.version, copy);
        }
        this.active.set(key, entry);
        return;
      }
      case "reset":
        this.active.clear();
        this.deleted.clear();
        this.purgedAt.clear();
        return;
      case "clock":
        this.clock.advance(record.advanceMs);
        return;
      case "entry": {
        const key = record.secret.name.toLowerCase();
        const entry = newEntry(key, record.secret.name);
        for (const v of record.secret.versions) {
          const copy = { ...v };
          entry.versions.push(copy);
          entry.byVersion.set(copy.version, copy);
        }
        entry.pendingUntil = record.pendingUntil;
        if (record.deletedDate === undefined) {
          this.active.set(key, entry);
        } else {
          entry.deletedDate = record.deletedDate;
          entry.scheduledPurgeDate = record.scheduledPurgeDate;
          this.deleted.set(key, entry);
        }
        return;
      }
    }
  }

  /**
   * Records that rebuild this store's state exactly from an empty store (every version, deleted
   * secrets with their dates, deletes and recovers in progress, the clock): what a compacted
   * journal holds.
   * @returns the records, in an order that replays
   */
  snapshot(): StoreRecord[] {
    const records: StoreRecord[] = [];
    if (this.clock.offsetMs !== 0) records.push({ type: "clock", advanceMs: this.clock.offsetMs });
    for (const entry of [...this.active.values(), ...this.deleted.values()]) {
      const record: StoreRecord = {
        type: "entry",
        secret: { name: entry.name, versions: entry.versions },
        pendingUntil: entry.pendingUntil,
      };
      if (entry.deletedDate !== undefined) record.deletedDate = entry.deletedDate;
      if (entry.scheduledPurgeDate !== undefined) {
        record.scheduledPurgeDate = entry.scheduledPurgeDate;
      }
      records.push(record);
    }
    return records;
  }

  // ---- helpers -----------------------------------------------------------------------------

  private activeEntry(name: string): SecretEntry {
    const entry = this.active.get(name.toLowerCase());
    // A secret still being recovered is not visible yet: pollers wait for 200.
    if (
      entry === undefined ||
      (entry.pendingUntil !== 0 && entry.pendingUntil > this.clock.nowMs())
    ) {
      throw secretNotFound(name);
    }
    return entry;
  }

  private findVersion(entry: SecretEntry, name: string, version: string): StoredVersion {
    if (version === "") return entry.versions[entry.versions.length - 1];
    const stored = entry.byVersion.get(version.toLowerCase());
    if (stored === undefined) throw secretNotFound(`${name}/${version}`);
    return stored;
  }

  /** A deleted entry whose retention has not run out (deleting or done). */
  private liveDeleted(key: string): SecretEntry | undefined {
    const entry = this.deleted.get(key);
    if (entry === undefined) return undefined;
    return this.expireIfDue(entry, this.clock.nowMs()) ? undefined : entry;
  }

  private deletedEntry(
    name: string,
    mustBeDone: boolean,
    notFound: (name: string) => Error,
  ): SecretEntry {
    const entry = this.liveDeleted(name.toLowerCase());
    if (entry === undefined || (mustBeDone && entry.pendingUntil > this.clock.nowMs())) {
      throw notFound(name);
    }
    return entry;
  }

  /** Purges automatically once the scheduled purge date has passed; returns whether it did. */
  private expireIfDue(entry: SecretEntry, nowMs: number): boolean {
    if (entry.scheduledPurgeDate !== undefined && entry.scheduledPurgeDate * 1000 <= nowMs) {
      this.deleted.delete(entry.key);
      return true;
    }
    return false;
  }

  private sortedKeys(
    map: Map<string, SecretEntry>,
    afterKey: string,
    visible: (entry: SecretEntry) => boolean,
  ): string[] {
    const keys: string[] = [];
    for (const [key, entry] of map) if (key > afterKey && visible(entry)) keys.push(key);
    return keys.sort();
  }

  private forgetSettledPurges(nowMs: number): void {
    for (const [key, at] of this.purgedAt) {
      if (at + this.settings.restoreConflictAfterPurgeInMs <= nowMs) this.purgedAt.delete(key);
    }
  }

  private latestOf(record: StoreRecord, entry: SecretEntry): Mutation {
    return { record, secret: entry, version: entry.versions[entry.versions.length - 1] };
  }

  private page(
    map: Map<string, SecretEntry>,
    afterKey: string,
    max: number,
    visible: (entry: SecretEntry) => boolean,
  ): ListPage<SecretView> {
    const keys = this.sortedKeys(map, afterKey, visible);
    const page = keys.slice(0, max);
    return {
      items: page.map((k) => map.get(k) as SecretEntry),
      lastKey: page.length > 0 ? page[page.length - 1] : afterKey,
      more: keys.length > max,
    };
  }
}

function newEntry(key: string, name: string): SecretEntry {
  return { key, name, versions: [], byVersion: new Map(), pendingUntil: 0 };
}
