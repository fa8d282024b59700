/**
 * The JSON shapes of the Key Vault secrets REST API, as they travel on the wire.
 * Shared by the client (`src/api`) and the local vault (`src/emulator`); nothing else is shared.
 * All dates are integer Unix seconds. Unset fields are omitted, never null.
 */

/** Secret attributes on the wire. */
export interface SecretAttributesWire {
  enabled?: boolean;
  nbf?: number;
  exp?: number;
  created?: number;
  updated?: number;
  recoveryLevel?: string;
  recoverableDays?: number;
}

/** A secret bundle, as returned by set, get, update, recover and restore. */
export interface SecretBundleWire {
  value?: string;
  id?: string;
  contentType?: string;
  attributes?: SecretAttributesWire;
  tags?: Record<string, string>;
  kid?: string;
  managed?: boolean;
  /** api-version 2025-07-01 and later. */
  previousVersion?: string;
}

/** A deleted secret bundle, as returned by delete and get deleted. */
export interface DeletedSecretBundleWire extends SecretBundleWire {
  recoveryId?: string;
  deletedDate?: number;
  scheduledPurgeDate?: number;
}

/** One item of a list of secrets or secret versions. */
export interface SecretItemWire {
  id?: string;
  attributes?: SecretAttributesWire;
  tags?: Record<string, string>;
  contentType?: string;
  managed?: boolean;
}

/** One item of a list of deleted secrets. */
export interface DeletedSecretItemWire extends SecretItemWire {
  recoveryId?: string;
  deletedDate?: number;
  scheduledPurgeDate?: number;
}

/** Body of `PATCH /secrets/{name}/{version}`. */
export interface SecretUpdateParametersWire {
  contentType?: string;
  attributes?: SecretAttributesWire;
  tags?: Record<string, string>;
}

/** Body of `PUT /secrets/{name}`. */
export interface SecretSetParametersWire extends SecretUpdateParametersWire {
  value: string;
}

/** Body of a backup response and of a restore request. */
export interface BackupBlobWire {
  value: string;
}

/** A Key Vault error body. */
export interface KeyVaultErrorWire {
  code?: string;
  message?: string;
  innererror?: KeyVaultErrorWire | null;
}

/** The envelope of a Key Vault error response. */
export interface KeyVaultErrorResponseWire {
  error?: KeyVaultErrorWire | null;
}

/**
 * An api-version of the Key Vault secrets service that {@link SecretClient} can speak.
 */
export type SecretServiceVersion =
  "7.0" | "7.1" | "7.2" | "7.3" | "7.4" | "7.5" | "7.6" | "2025-07-01" | "2026-04-01";

// Keys are checked against SecretServiceVersion both ways: a version missing here or not in the
// type does not compile.
const serviceVersionOrder: Record<SecretServiceVersion, number> = {
  "7.0": 0,
  "7.1": 1,
  "7.2": 2,
  "7.3": 3,
  "7.4": 4,
  "7.5": 5,
  "7.6": 6,
  "2025-07-01": 7,
  "2026-04-01": 8,
};

/** Every api-version the client can speak, oldest first. */
export const serviceVersions: readonly SecretServiceVersion[] = (
  Object.keys(serviceVersionOrder) as SecretServiceVersion[]
).sort((a, b) => serviceVersionOrder[a] - serviceVersionOrder[b]);

/** The api-version the client sends unless told otherwise: the latest stable. */
export const latestServiceVersion: SecretServiceVersion = "2026-04-01";

/** The query parameter that carries the api-version. */
export const apiVersionQueryParameter = "api-version";

/** The recovery levels Key Vault reports. */
export enum KnownDeletionRecoveryLevel {
  /** Deletion is immediate and irreversible. */
  Purgeable = "Purgeable",
  /** Deleted secrets are kept for the retention period and can be purged. */
  RecoverablePurgeable = "Recoverable+Purgeable",
  /** Deleted secrets are kept for the retention period and cannot be purged. */
  Recoverable = "Recoverable",
  /** As Recoverable, and the subscription itself cannot be cancelled. */
  RecoverableProtectedSubscription = "Recoverable+ProtectedSubscription",
  /** Recoverable+Purgeable with a retention of 7 to 89 days. */
  CustomizedRecoverablePurgeable = "CustomizedRecoverable+Purgeable",
  /** Recoverable with a retention of 7 to 89 days. */
  CustomizedRecoverable = "CustomizedRecoverable",
  /** Recoverable+ProtectedSubscription with a retention of 7 to 89 days. */
  CustomizedRecoverableProtectedSubscription = "CustomizedRecoverable+ProtectedSubscription",
}

/** The recovery levels the service reports on secrets. */
export const recoveryLevels: readonly string[] = Object.values(KnownDeletionRecoveryLevel);

/** The largest page a list operation may ask for. */
export const maxResultsLimit = 25;
