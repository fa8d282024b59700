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

/** A page of a list operation. */
export interface ListResultWire<T> {
  value?: T[];
  nextLink?: string | null;
}

/** Body of `PUT /secrets/{name}`. */
export interface SecretSetParametersWire {
  value: string;
  contentType?: string;
  attributes?: SecretAttributesWire;
  tags?: Record<string, string>;
}

/** Body of `PATCH /secrets/{name}/{version}`. */
export interface SecretUpdateParametersWire {
  contentType?: string;
  attributes?: SecretAttributesWire;
  tags?: Record<string, string>;
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

/** Every api-version the client can speak, oldest first. */
export const serviceVersions = [
  "7.0",
  "7.1",
  "7.2",
  "7.3",
  "7.4",
  "7.5",
  "7.6",
  "2025-07-01",
  "2026-04-01",
] as const;

/** The api-version the client sends unless told otherwise: the latest stable. */
export const latestServiceVersion = "2026-04-01";

/** The query parameter that carries the api-version. */
export const apiVersionQueryParameter = "api-version";

/** The recovery levels the service reports on secrets. */
export const recoveryLevels: readonly string[] = [
  "Purgeable",
  "Recoverable+Purgeable",
  "Recoverable",
  "Recoverable+ProtectedSubscription",
  "CustomizedRecoverable+Purgeable",
  "CustomizedRecoverable",
  "CustomizedRecoverable+ProtectedSubscription",
];

/** The largest page a list operation may ask for. */
export const maxResultsLimit = 25;
