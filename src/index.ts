/**
 * A client for Azure Key Vault secrets: {@link SecretClient}, with the API of Microsoft's
 * Key Vault secrets client 4.x (resumable pages, pollers that stop at once, 429s retried as the
 * service advises, errors that say what to do), and {@link SecretCache}, which loads a vault's
 * secrets at startup and keeps them fresh. The local vault for development and tests is the
 * subpath `keyvault-secrets/emulator`.
 *
 * @packageDocumentation
 * @module keyvault-secrets
 */
export { SecretClient } from "./secretClient.js";
export {
  type AdditionalPolicyConfig,
  type BackupSecretOptions,
  type BeginDeleteSecretOptions,
  type BeginRecoverDeletedSecretOptions,
  type ContentType,
  type DeletedSecret,
  type DeleteSecretOptions,
  type DeletionRecoveryLevel,
  type FullOperationResponse,
  type GetDeletedSecretOptions,
  type GetSecretOptions,
  type KeepAliveOptions,
  type KeyVaultSecret,
  KnownContentType,
  KnownDeletionRecoveryLevel,
  type ListDeletedSecretsOptions,
  type ListPropertiesOfSecretsOptions,
  type ListPropertiesOfSecretVersionsOptions,
  type OperationOptions,
  type OperationRequestOptions,
  type PurgeDeletedSecretOptions,
  type RecoverDeletedSecretOptions,
  type RestoreSecretBackupOptions,
  type SecretClientOptions,
  type SecretPollerOptions,
  type SecretProperties,
  type SecretServiceVersion,
  type SendRequestOptions,
  type SetSecretOptions,
  type UpdateSecretPropertiesOptions,
} from "./models.js";
export { type KeyVaultSecretIdentifier, parseKeyVaultSecretIdentifier } from "./identifier.js";
export { type ContinuablePage } from "./paging.js";
export {
  SecretCache,
  SecretCacheError,
  createEventGridHandler,
  EnvironmentKeyCollisionError,
  toEnvironmentKey,
  type ApplyToProcessEnvOptions,
  type ApplyToProcessEnvResult,
  type EnvironmentKeyCollision,
  type EnvironmentKeyRefusal,
  type EventGridHandlerOptions,
  type EventGridRequestHandler,
  type SecretCacheChange,
  type SecretCacheChangeDetail,
  type SecretCacheChangeReason,
  type SecretCacheClient,
  type SecretCacheEventResult,
  type SecretCacheFailure,
  type SecretCacheFreshness,
  type SecretCacheLoadResult,
  type SecretCacheOperationOptions,
  type SecretCacheOptions,
  type SecretCacheSkippedSecret,
  type SecretCacheTagFilter,
  type ToEnvOptions,
} from "./secretCache/index.js";
export {
  resolveReferences,
  KeyVaultReferenceError,
  type KeyVaultReferenceFailure,
  type ResolveReferencesOptions,
} from "./inject/references.js";
export { logger } from "./log.js";
export { RestError, isRestError } from "@azure/core-rest-pipeline";
export type { PagedAsyncIterableIterator, PageSettings } from "@azure/core-paging";
export type { PollerLike, PollOperationState } from "@azure/core-lro";
export type { TokenCredential } from "@azure/core-auth";
