/**
 * The local vault's state and the service's rules about it. Every change is expressed as a
 * {@link StoreRecord} that is applied synchronously and can be replayed from the journal, so a
 * restarted vault reaches the same state without generating anything anew.
 */
import { randomBytes } from "node:crypto";
import type {
  DeletedSecretBundleWire,
  DeletedSecretItemWire,
  SecretAttributesWire,
  SecretBundleWire,
  SecretItemWire,
} from "../api/wireTypes.js";
import {
  VaultError,
  beingDeleted,
  beingRecovered,
  deletedButRecoverable,
  deletedSecretNotFound,
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
  previousVersion?: string;
}

/** Every version of one secret, in creation order (the form backups and restore records carry). */
export interface SerializedSecret {
  name: string;
  versions: StoredVersion[];
}

interface SecretEntry {
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
  | ({ type: "set"; key: string; name: string; version: string; at: number } & SetFields & {
        previousVersion?: string;
      })
  | ({ type: "update"; key: string; version: string; at: number } & UpdateFields)
  | {
      type: "delete";
      key: string;
      readyAt: number;
      deletedDate?: number;
      scheduledPurgeDate?: number;
    }
  | { type: "recover"; key: string; readyAt: number }
  | { type: "purge"; key: string }
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

/** How the store renders ids and version-dependent fields for one request. */
export interface RenderContext {
  /** `{scheme}://{host}` of the request, no trailing slash. */
  baseUrl: string;
  /** Whether `previousVersion` is part of the api-version (2025-07-01 and later). */
  previousVersion: boolean;
  /** Whether `recoverableDays` is part of the api-version (7.1 and later). */
  recoverableDays: boolean;
}

/** The settings of a store. */
export interface StoreSettings {
  recoveryLevel: string;
  recoverableDays: number;
  delayMs: number;
}

/** A result of a mutation: the record to journal and the rendered answer. */
export interface Mutation<T> {
  record: StoreRecord;
  result: T;
}

/** The vault's clock: wall time shifted by the test control `advanceClock`. */
export class VaultClock {
  private offsetMs = 0;

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

  /**
   * How far the clock is shifted.
   * @returns milliseconds added to wall time
   */
  offset(): number {
    return this.offsetMs;
  }
}

/** The vault's secrets, active and deleted, with the rules of the real service. */
export class SecretStore {
  private readonly active = new Map<string, SecretEntry>();
  private readonly deleted = new Map<string, SecretEntry>();
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
   * Reads a secret (latest or one version) with its value.
   * @param name - secret name
   * @param version - version, or "" for the latest
   * @param ctx - render context
   * @returns the SecretBundle
   */
  get(name: string, version: string, ctx: RenderContext): SecretBundleWire {
    const entry = this.activeEntry(name);
    const stored = this.findVersion(entry, name, version);
    if (!stored.enabled) throw secretDisabled();
    return this.bundle(entry, stored, ctx, true);
  }

  /**
   * Reads a deleted secret.
   * @param name - secret name
   * @param ctx - render context
   * @returns the DeletedSecretBundle (no value)
   */
  getDeleted(name: string, ctx: RenderContext): DeletedSecretBundleWire {
    const entry = this.deletedEntry(name, true);
    return this.deletedBundle(entry, ctx);
  }

  /**
   * Lists active secrets after `afterKey`, ordered by lower-case name.
   * @param afterKey - lower-case name of the last item already returned ("" = from the start)
   * @param max - page size
   * @param ctx - render context
   * @returns items of the page and whether more follow
   */
  list(
    afterKey: string,
    max: number,
    ctx: RenderContext,
  ): { items: SecretItemWire[]; lastKey: string; more: boolean } {
    const now = this.clock.nowMs();
    const keys = this.sortedKeys(this.active, afterKey, (e) => e.pendingUntil <= now);
    const page = keys.slice(0, max);
    return {
      items: page.map((k) => {
        const entry = this.active.get(k) as SecretEntry;
        return this.item(entry, entry.versions[entry.versions.length - 1], ctx, false);
      }),
      lastKey: page.length > 0 ? page[page.length - 1] : afterKey,
      more: keys.length > max,
    };
  }

  /**
   * Lists the versions of a secret after `afterVersion`, in creation order.
   * @param name - secret name
   * @param afterVersion - last version already returned ("" = from the start)
   * @param max - page size
   * @param ctx - render context
   * @returns items of the page and whether more follow
   */
  listVersions(
    name: string,
    afterVersion: string,
    max: number,
    ctx: RenderContext,
  ): { items: SecretItemWire[]; lastKey: string; more: boolean } {
    const entry = this.active.get(name.toLowerCase());
    if (entry === undefined || entry.pendingUntil > this.clock.nowMs()) {
      // The service answers an empty list for a name it does not know.
      return { items: [], lastKey: afterVersion, more: false };
    }
    let start = 0;
    if (afterVersion !== "") {
      start = entry.versions.findIndex((v) => v.version === afterVersion) + 1;
      if (start === 0) return { items: [], lastKey: afterVersion, more: false };
    }
    const page = entry.versions.slice(start, start + max);
    return {
      items: page.map((v) => this.item(entry, v, ctx, true)),
      lastKey: page.length > 0 ? page[page.length - 1].version : afterVersion,
      more: start + max < entry.versions.length,
    };
  }

  /**
   * Lists deleted secrets after `afterKey`, ordered by lower-case name.
   * @param afterKey - lower-case name of the last item already returned ("" = from the start)
   * @param max - page size
   * @param ctx - render context
   * @returns items of the page and whether more follow
   */
  listDeleted(
    afterKey: string,
    max: number,
    ctx: RenderContext,
  ): { items: DeletedSecretItemWire[]; lastKey: string; more: boolean } {
    const now = this.clock.nowMs();
    for (const entry of [...this.deleted.values()]) this.expireIfDue(entry, now);
    const keys = this.sortedKeys(this.deleted, afterKey, (e) => e.pendingUntil <= now);
    const page = keys.slice(0, max);
    return {
      items: page.map((k) => {
        const entry = this.deleted.get(k) as SecretEntry;
        return {
          ...this.deletionFields(entry, ctx),
          ...this.item(entry, entry.versions[entry.versions.length - 1], ctx, false),
        };
      }),
      lastKey: page.length > 0 ? page[page.length - 1] : afterKey,
      more: keys.length > max,
    };
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
   * @param ctx - render context
   * @returns the record and the SecretBundle with value
   */
  set(name: string, fields: SetFields, ctx: RenderContext): Mutation<SecretBundleWire> {
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
      ...(existing === undefined
        ? {}
        : { previousVersion: existing.versions[existing.versions.length - 1].version }),
    };
    this.apply(record);
    const entry = this.active.get(key) as SecretEntry;
    return {
      record,
      result: this.bundle(entry, entry.versions[entry.versions.length - 1], ctx, true),
    };
  }

  /**
   * Updates the properties of one version (value cannot change).
   * @param name - secret name
   * @param version - version, or "" for the latest
   * @param fields - validated fields; absent ones stay unchanged
   * @param ctx - render context
   * @returns the record and the SecretBundle without value
   */
  update(
    name: string,
    version: string,
    fields: UpdateFields,
    ctx: RenderContext,
  ): Mutation<SecretBundleWire> {
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
    return { record, result: this.bundle(entry, stored, ctx, false) };
  }

  /**
   * Deletes every version of a secret (soft delete unless the level is `Purgeable`).
   * @param name - secret name
   * @param ctx - render context
   * @returns the record and the DeletedSecretBundle
   */
  delete(name: string, ctx: RenderContext): Mutation<DeletedSecretBundleWire> {
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
    return { record, result: this.deletedBundle(entry, ctx) };
  }

  /**
   * Purges a deleted secret for good.
   * @param name - secret name
   * @returns the record
   */
  purge(name: string): Mutation<undefined> {
    const entry = this.deletedEntry(name, false);
    if (entry.pendingUntil > this.clock.nowMs()) throw beingDeleted();
    if (!this.purgeable) {
      throw new VaultError(
        403,
        "Forbidden",
        `Operation "purge" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed.`,
      );
    }
    const record: StoreRecord = { type: "purge", key: entry.key };
    this.apply(record);
    return { record, result: undefined };
  }

  /**
   * Recovers a deleted secret with all its versions.
   * @param name - secret name
   * @param ctx - render context
   * @returns the record and the SecretBundle of the latest version (no value)
   */
  recover(name: string, ctx: RenderContext): Mutation<SecretBundleWire> {
    const entry = this.deletedEntry(name, false);
    const now = this.clock.nowMs();
    if (entry.pendingUntil > now) throw beingDeleted();
    const record: StoreRecord = {
      type: "recover",
      key: entry.key,
      readyAt: now + this.settings.delayMs,
    };
    this.apply(record);
    return {
      record,
      result: this.bundle(entry, entry.versions[entry.versions.length - 1], ctx, false),
    };
  }

  /**
   * Restores a backed-up secret with all its versions.
   * @param secret - the decrypted backup
   * @param ctx - render context
   * @returns the record and the SecretBundle of the latest version (no value)
   */
  restore(secret: SerializedSecret, ctx: RenderContext): Mutation<SecretBundleWire> {
    const key = secret.name.toLowerCase();
    const existing = this.active.get(key);
    if (existing !== undefined) {
      throw new VaultError(
        409,
        "Conflict",
        `Secret ${existing.name} already exists in this key vault; restore needs a name that is not in use.`,
      );
    }
    const deleted = this.liveDeleted(key);
    if (deleted !== undefined) throw deletedButRecoverable(deleted.name);
    const record: StoreRecord = { type: "restore", secret };
    this.apply(record);
    const entry = this.active.get(key) as SecretEntry;
    return {
      record,
      result: this.bundle(entry, entry.versions[entry.versions.length - 1], ctx, false),
    };
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
        if (record.previousVersion !== undefined) stored.previousVersion = record.previousVersion;
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
    if (this.clock.offset() !== 0) records.push({ type: "clock", advanceMs: this.clock.offset() });
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

  private deletedEntry(name: string, mustBeDone: boolean): SecretEntry {
    const entry = this.liveDeleted(name.toLowerCase());
    if (entry === undefined || (mustBeDone && entry.pendingUntil > this.clock.nowMs())) {
      throw deletedSecretNotFound(name);
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

  private attributes(stored: StoredVersion, ctx: RenderContext): SecretAttributesWire {
    const attributes: SecretAttributesWire = { enabled: stored.enabled };
    if (stored.nbf !== undefined) attributes.nbf = stored.nbf;
    if (stored.exp !== undefined) attributes.exp = stored.exp;
    attributes.created = stored.created;
    attributes.updated = stored.updated;
    attributes.recoveryLevel = this.settings.recoveryLevel;
    if (this.softDelete && ctx.recoverableDays) {
      attributes.recoverableDays = this.settings.recoverableDays;
    }
    return attributes;
  }

  private bundle(
    entry: SecretEntry,
    stored: StoredVersion,
    ctx: RenderContext,
    withValue: boolean,
  ): SecretBundleWire {
    const bundle: SecretBundleWire = {};
    if (withValue) bundle.value = stored.value;
    bundle.id = `${ctx.baseUrl}/secrets/${entry.name}/${stored.version}`;
    if (stored.contentType !== undefined) bundle.contentType = stored.contentType;
    bundle.attributes = this.attributes(stored, ctx);
    if (stored.tags !== undefined) bundle.tags = stored.tags;
    if (ctx.previousVersion && stored.previousVersion !== undefined) {
      bundle.previousVersion = stored.previousVersion;
    }
    return bundle;
  }

  private item(
    entry: SecretEntry,
    stored: StoredVersion,
    ctx: RenderContext,
    versioned: boolean,
  ): SecretItemWire {
    const item: SecretItemWire = {
      id: `${ctx.baseUrl}/secrets/${entry.name}${versioned ? `/${stored.version}` : ""}`,
      attributes: this.attributes(stored, ctx),
    };
    if (stored.tags !== undefined) item.tags = stored.tags;
    if (stored.contentType !== undefined) item.contentType = stored.contentType;
    return item;
  }

  private deletionFields(entry: SecretEntry, ctx: RenderContext): DeletedSecretItemWire {
    if (entry.deletedDate === undefined) return {};
    return {
      recoveryId: `${ctx.baseUrl}/deletedsecrets/${entry.name}`,
      deletedDate: entry.deletedDate,
      scheduledPurgeDate: entry.scheduledPurgeDate,
    };
  }

  private deletedBundle(entry: SecretEntry, ctx: RenderContext): DeletedSecretBundleWire {
    return {
      ...this.deletionFields(entry, ctx),
      ...this.bundle(entry, entry.versions[entry.versions.length - 1], ctx, false),
    };
  }
}

function newEntry(key: string, name: string): SecretEntry {
  return { key, name, versions: [], byVersion: new Map(), pendingUntil: 0 };
}
