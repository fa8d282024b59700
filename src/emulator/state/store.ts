/**
 * The local vault's store and the service's rules about it: reads, and mutations that check the
 * rules, then express the change as a {@link StoreRecord} applied by {@link StoreState} (and
 * journaled by `durableStore.ts`). Wire bodies are rendered from what it returns by `render.ts`.
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
} from "../wire/errors.js";
import { StoreState, type SecretEntry } from "./storeState.js";
import type {
  CurrentVersion,
  ListPage,
  Mutation,
  SecretView,
  SerializedSecret,
  SetFields,
  StoreRecord,
  StoreSettings,
  StoredVersion,
  UpdateFields,
} from "./storeTypes.js";
import type { VaultClock } from "./vaultClock.js";

/** The vault's secrets, active and deleted, with the rules of the real service. */
export class SecretStore extends StoreState {
  private readonly softDelete: boolean;
  private readonly purgeable: boolean;

  /**
   * Creates an empty store.
   * @param settings - recovery level, retention and delay of delete/recover
   * @param clock - the vault clock
   */
  constructor(settings: StoreSettings, clock: VaultClock) {
    super(settings, clock);
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
    // A name with no deleted secret gets the generic message; "Deleted Secret not found" is
    // what a poller reads while the delete is still running.
    const entry = this.deletedEntry(name, secretNotFound);
    if (entry.pendingUntil > this.clock.nowMs()) throw deletedSecretNotFound(name);
    // The service refuses to read a secret that was disabled when it was deleted, as it
    // refuses to read a disabled live one.
    if (!entry.versions[entry.versions.length - 1].enabled) throw secretDisabled();
    return entry;
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
   * Lists the versions of a secret after `afterVersion`, ordered by version id.
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
    // The service lists versions ordered by version id, not by creation.
    const after = entry.versions
      .filter((v) => v.version > afterVersion)
      .sort((a, b) => (a.version < b.version ? -1 : 1));
    const items = after.slice(0, max);
    return {
      secret: entry,
      items,
      lastKey: items.length > 0 ? items[items.length - 1].version : afterVersion,
      more: after.length > max,
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

  /**
   * Reads one version's value as it is, enabled or not, changing nothing: for the vault's own
   * tools (the page, `keyvault-emulator export`), never for the API, which refuses a disabled one.
   * @param name - secret name
   * @param version - the version (not "" for the latest)
   * @returns the value
   */
  reveal(name: string, version: string): string {
    const stored = this.activeEntry(name).byVersion.get(version.toLowerCase());
    if (stored === undefined) throw secretNotFound(`${name}/${version}`);
    return stored.value;
  }

  /**
   * The current (latest) version of active secrets, with the expiry events already sent about
   * it: what the expiry watch decides on. Values are not part of it.
   * @param key - one secret's lower-case name, or undefined for every active secret
   * @returns the current versions (none for a key the vault does not hold)
   */
  currentVersions(key?: string): CurrentVersion[] {
    const entries =
      key === undefined
        ? [...this.active.values()]
        : [this.active.get(key)].filter((e) => e !== undefined);
    return entries.map((entry) => ({
      key: entry.key,
      name: entry.name,
      version: entry.versions[entry.versions.length - 1],
      sent: this.notices.get(entry.key),
    }));
  }

  // ---- mutations ---------------------------------------------------------------------------

  /**
   * Sets a secret: a new version that becomes the latest.
   * @param name - secret name (already validated)
   * @param fields - validated fields of the request
   * @param secondsAgo - how long before now the version counts as created (seeds space their
   * versions a second apart, since versions are listed by id and only creation times order them)
   * @returns the record, the secret and its new version
   */
  set(name: string, fields: SetFields, secondsAgo = 0): Mutation {
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
      at: Math.floor(this.clock.nowMs() / 1000) - secondsAgo,
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
    const entry = this.deletedEntry(name, deletedSecretNotFound);
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
    const entry = this.deletedEntry(name, secretNotFound);
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

  private deletedEntry(name: string, notFound: (name: string) => Error): SecretEntry {
    const entry = this.liveDeleted(name.toLowerCase());
    if (entry === undefined) throw notFound(name);
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
