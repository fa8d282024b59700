/**
 * The local vault's state and how each {@link StoreRecord} changes it: applied synchronously, the
 * same for a fresh change and for one replayed from the journal, so a restarted vault reaches the
 * same state without generating anything anew. The service's rules, which decide the records, live
 * in `store.ts`.
 */
import type {
  SentNotices,
  SerializedSecret,
  SecretView,
  StoreRecord,
  StoreSettings,
  StoredVersion,
} from "./storeTypes.js";
import type { VaultClock } from "./vaultClock.js";

/** A secret as the store keeps it. */
export interface SecretEntry extends SecretView {
  key: string;
  name: string;
  versions: StoredVersion[];
  byVersion: Map<string, StoredVersion>;
  /** Vault-clock milliseconds until which a delete or recover is still in progress; 0 = none. */
  pendingUntil: number;
  deletedDate?: number;
  scheduledPurgeDate?: number;
}

/** The vault's secrets, active and deleted, and recent purges; changed only by records. */
export class StoreState {
  protected readonly active = new Map<string, SecretEntry>();
  protected readonly deleted = new Map<string, SecretEntry>();
  /** Vault-clock milliseconds of recent purges, by key (restores conflict for a while after). */
  protected readonly purgedAt = new Map<string, number>();
  /** The expiry events sent about each secret's current version, by key. */
  protected readonly notices = new Map<string, SentNotices>();

  /**
   * Creates an empty state.
   * @param settings - recovery level, retention and delay of delete/recover
   * @param clock - the vault clock
   */
  constructor(
    protected readonly settings: StoreSettings,
    readonly clock: VaultClock,
  ) {}

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
        if (record.deletedDate === undefined) {
          this.notices.delete(record.key);
          return;
        }
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
        this.notices.delete(record.key);
        if (record.at !== undefined && this.settings.restoreConflictAfterPurgeInMs > 0) {
          this.purgedAt.set(record.key, record.at);
          if (this.purgedAt.size > 1024) this.forgetSettledPurges(record.at);
        }
        return;
      case "restore": {
        const key = record.secret.name.toLowerCase();
        const entry = entryOf(key, record.secret);
        this.active.set(key, entry);
        // A restored secret is a new object to its subscribers, though its versions keep their ids.
        this.notices.delete(key);
        return;
      }
      case "reset":
        this.active.clear();
        this.deleted.clear();
        this.purgedAt.clear();
        this.notices.clear();
        return;
      case "clock":
        this.clock.advance(record.advanceMs);
        return;
      case "notice": {
        let sent = this.notices.get(record.key);
        if (sent?.version !== record.version) {
          sent = { version: record.version };
          this.notices.set(record.key, sent);
        }
        sent[record.kind] = record.exp;
        return;
      }
      case "entry": {
        const key = record.secret.name.toLowerCase();
        const entry = entryOf(key, record.secret);
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
   * secrets with their dates, deletes and recovers in progress, the clock, the expiry events
   * sent): what a compacted
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
      records.push(...this.noticeRecords(entry));
    }
    return records;
  }

  /** The records that rebuild the expiry events sent about an entry's current version. */
  private noticeRecords(entry: SecretEntry): StoreRecord[] {
    const sent = this.notices.get(entry.key);
    if (sent === undefined) return [];
    const records: StoreRecord[] = [];
    for (const kind of ["nearExpiry", "expired"] as const) {
      const exp = sent[kind];
      if (exp === undefined) continue;
      const { key, name } = entry;
      records.push({ type: "notice", key, name, version: sent.version, kind, exp });
    }
    return records;
  }

  private forgetSettledPurges(nowMs: number): void {
    for (const [key, at] of this.purgedAt) {
      if (at + this.settings.restoreConflictAfterPurgeInMs <= nowMs) this.purgedAt.delete(key);
    }
  }
}

/** A new entry holding no version yet. */
function newEntry(key: string, name: string): SecretEntry {
  return { key, name, versions: [], byVersion: new Map(), pendingUntil: 0 };
}

/** A new entry holding a copy of every version of `secret`. */
function entryOf(key: string, secret: SerializedSecret): SecretEntry {
  const entry = newEntry(key, secret.name);
  for (const v of secret.versions) {
    const copy = { ...v };
    entry.versions.push(copy);
    entry.byVersion.set(copy.version, copy);
  }
  return entry;
}
