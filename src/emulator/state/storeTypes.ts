/**
 * The shapes of the local vault's store: what it keeps of a secret, what readers see, the fields
 * of requests, and the records that express every change.
 */

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
      /**
       * An expiry event was sent about a secret's current version: journaled before the event
       * goes out, so it goes out once per version and expiry date, across restarts too.
       */
      type: "notice";
      key: string;
      name: string;
      version: string;
      kind: ExpiryNoticeKind;
      exp: number;
      nbf?: number;
    }
  | {
      /** One whole secret as a compacted journal keeps it (see {@link SecretStore.snapshot}). */
      type: "entry";
      secret: SerializedSecret;
      pendingUntil: number;
      deletedDate?: number;
      scheduledPurgeDate?: number;
    };

/** The two expiry events: near expiry (a threshold ahead of `exp`) and expired. */
export type ExpiryNoticeKind = "nearExpiry" | "expired";

/** The expiry events sent about a secret's current version: the `exp` each was sent for. */
export interface SentNotices {
  version: string;
  nearExpiry?: number;
  expired?: number;
}

/** A secret's current (latest) version and the expiry events sent about it. */
export interface CurrentVersion {
  key: string;
  name: string;
  version: StoredVersion;
  sent: SentNotices | undefined;
}

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
