import type { AbortSignalLike } from "@azure/abort-controller";
import type {
  HttpClient,
  LogPolicyOptions,
  PipelineOptions,
  PipelinePolicy,
  PipelineRetryOptions,
  PipelineResponse,
  RawHttpHeaders,
  RawHttpHeadersInput,
  TransferProgressEvent,
} from "@azure/core-rest-pipeline";
import type { OperationTracingOptions } from "@azure/core-tracing";
import type { SecretServiceVersion } from "./api/wireTypes.js";

// Defined with the wire, their one source; public from here.
export { KnownDeletionRecoveryLevel, type SecretServiceVersion } from "./api/wireTypes.js";

/** A pipeline policy added by the caller, run once per call or once per attempt. */
export interface AdditionalPolicyConfig {
  /** The policy. */
  policy: PipelinePolicy;
  /** `perCall`: once per operation, before retries; `perRetry`: on every attempt, after signing. */
  position: "perCall" | "perRetry";
}

/** Keep-alive settings of the client's connections. */
export interface KeepAliveOptions {
  /**
   * Reuse connections between requests.
   * @default true
   */
  enable?: boolean;
}

/**
 * Options for {@link SecretClient}: the common Azure client options plus Key Vault's own.
 */
export interface SecretClientOptions extends PipelineOptions {
  /**
   * The api-version sent with every request.
   * @default "2026-04-01" (the latest stable version)
   */
  serviceVersion?: SecretServiceVersion;
  /**
   * Skips the check that the vault host belongs to the resource named in the authentication
   * challenge. Needed for the local vault (`localhost`) and for some private clouds. When the check
   * fails, the call throws an `Error` with `code` `"ChallengeResourceMismatch"` and no token is
   * requested.
   * @default false
   */
  disableChallengeResourceVerification?: boolean;
  /**
   * How requests are retried. A 429 (throttled) is retried after its `Retry-After` when it has one,
   * else after about 1, 2, 4, 8 and 16 s (Key Vault's advice; `retryDelayInMs` doubled each time,
   * up to 20 % jitter, capped at `maxRetryDelayInMs`). Network errors, 408 and 5xx (except 501 and
   * 505) are retried with the same backoff. Waits end when the abort signal fires.
   * @default `maxRetries` 5 for throttled requests and 3 for failures (setting it sets both),
   *   `retryDelayInMs` 1000, `maxRetryDelayInMs` 64000
   */
  retryOptions?: PipelineRetryOptions;
  /**
   * The HTTP client that sends requests.
   * @default the Node.js HTTP client of `@azure/core-rest-pipeline`
   */
  httpClient?: HttpClient;
  /**
   * Allows `http:` vault URLs, to loopback hosts only (the local vault). Tokens are never sent over
   * plain HTTP to any other host.
   * @default false
   */
  allowInsecureConnection?: boolean;
  /**
   * Extra pipeline policies, added per call or per retry.
   * @default none
   */
  additionalPolicies?: AdditionalPolicyConfig[];
  /**
   * Logging of requests and responses through `@azure/logger`. The header and query names given
   * here are added to the client's own allowed lists, not put in their place.
   * @default log to the `keyvault-secrets` logger, Key Vault headers allowed
   */
  loggingOptions?: LogPolicyOptions;
  /**
   * Keep-alive of the client's connections.
   * @default enabled
   */
  keepAliveOptions?: KeepAliveOptions;
}

/** Options for one request, applied beside the client's own. */
export interface OperationRequestOptions {
  /**
   * Extra headers sent with the request.
   * @default none
   */
  headers?: RawHttpHeadersInput;
  /**
   * Milliseconds a request may take before it is aborted; 0 for no limit.
   * @default 0
   */
  timeout?: number;
  /**
   * Allows this request over plain HTTP (loopback hosts only, see {@link SecretClientOptions}).
   * @default false
   */
  allowInsecureConnection?: boolean;
  /**
   * Called as the request body is uploaded.
   * @default none
   */
  onUploadProgress?: (progress: TransferProgressEvent) => void;
  /**
   * Called as the response body is downloaded.
   * @default none
   */
  onDownloadProgress?: (progress: TransferProgressEvent) => void;
}

/** The raw HTTP response of an operation, with its parsed body. */
export interface FullOperationResponse extends PipelineResponse {
  /** The response headers as a plain object. */
  rawHeaders?: RawHttpHeaders;
  /** The parsed JSON body, if any. */
  parsedBody?: unknown;
}

/** Options every {@link SecretClient} method accepts. */
export interface OperationOptions {
  /**
   * Aborts the operation: the request in flight and any wait between retries.
   * @default none
   */
  abortSignal?: AbortSignalLike;
  /**
   * Options for the HTTP request (headers, timeout).
   * @default none
   */
  requestOptions?: OperationRequestOptions;
  /**
   * Options for the tracing span of the operation.
   * @default none
   */
  tracingOptions?: OperationTracingOptions;
  /**
   * Called with the raw response of every request the operation makes.
   * @default none
   */
  onResponse?: (rawResponse: FullOperationResponse, error?: unknown) => void;
}

/**
 * The recovery level of a vault, as reported on each secret. Any string the service sends is kept;
 * {@link KnownDeletionRecoveryLevel} lists the known ones.
 */
export type DeletionRecoveryLevel = string;

/**
 * A content type a certificate-backed secret can be returned in (`outContentType`).
 * {@link KnownContentType} lists the known ones.
 */
export type ContentType = string;

/** The content types Key Vault can convert a certificate-backed secret to. */
export enum KnownContentType {
  /** PKCS#12 (PFX). */
  PFX = "application/x-pkcs12",
  /** PEM. */
  PEM = "application/x-pem-file",
}

/** The properties of a secret: everything but its value. */
export interface SecretProperties {
  /** The URL of the vault that holds the secret. */
  vaultUrl: string;
  /** The version of the secret, when the identifier names one. */
  version?: string;
  /** The name of the secret. */
  name: string;
  /** The full identifier of the secret. */
  id?: string;
  /** The content type of the value, as set by its writer. */
  contentType?: string;
  /** Whether the secret can be read. */
  enabled?: boolean;
  /** The secret is not meant to be used before this date (informational). */
  readonly notBefore?: Date;
  /** The secret is not meant to be used after this date (informational). */
  readonly expiresOn?: Date;
  /** Application-specific metadata. */
  tags?: { [propertyName: string]: string };
  /** Not used on secrets; present for compatibility. */
  readonly keyId?: never;
  /** For a certificate-backed secret: the identifier of the certificate's key. */
  readonly certificateKeyId?: string;
  /** True when the secret's lifetime is managed by Key Vault (certificate-backed secrets). */
  readonly managed?: boolean;
  /** When the secret was created. */
  readonly createdOn?: Date;
  /** When the secret was last updated. */
  readonly updatedOn?: Date;
  /** The recovery level of the vault when the secret was read. */
  readonly recoveryLevel?: DeletionRecoveryLevel;
  /** Days a deleted secret is kept before it is purged (soft-delete vaults). */
  recoverableDays?: number;
  /** The version this version replaced (api-version 2025-07-01 and later). */
  readonly previousVersion?: string;
}

/** A secret: its name, value and properties. */
export interface KeyVaultSecret {
  /** The properties of the secret. */
  properties: SecretProperties;
  /** The value of the secret. Absent where the operation does not return values. */
  value?: string;
  /** The name of the secret. */
  name: string;
}

/** A deleted secret, kept until its scheduled purge date. */
export interface DeletedSecret {
  /** The properties of the secret, with the deletion details. */
  properties: SecretProperties & {
    /** The identifier to recover or purge the deleted secret with. */
    recoveryId?: string;
    /** When the deleted secret will be purged. */
    scheduledPurgeDate?: Date;
    /** When the secret was deleted. */
    deletedOn?: Date;
  };
  /** The value of the secret, when the service returns it. */
  value?: string;
  /** The name of the secret. */
  name: string;
  /** The identifier to recover or purge the deleted secret with. */
  recoveryId?: string;
  /** When the deleted secret will be purged. */
  scheduledPurgeDate?: Date;
  /** When the secret was deleted. */
  deletedOn?: Date;
}

/** Options of the pollers returned by `beginDeleteSecret` and `beginRecoverDeletedSecret`. */
export interface SecretPollerOptions extends OperationOptions {
  /**
   * Milliseconds between two polls.
   * @default 2000
   */
  intervalInMs?: number;
  /**
   * The `toString()` of another poller of the same operation: the new poller takes up where it
   * stopped, without sending the initial request again.
   * @default none
   */
  resumeFrom?: string;
}

/** Options of {@link SecretClient.beginDeleteSecret}. */
export interface BeginDeleteSecretOptions extends SecretPollerOptions {}

/** Options of {@link SecretClient.beginRecoverDeletedSecret}. */
export interface BeginRecoverDeletedSecretOptions extends SecretPollerOptions {}

/** Options of {@link SecretClient.setSecret}. */
export interface SetSecretOptions extends OperationOptions {
  /**
   * Application-specific metadata (at most 15 tags).
   * @default none
   */
  tags?: { [propertyName: string]: string };
  /**
   * The content type of the value.
   * @default none
   */
  contentType?: string;
  /**
   * Whether the secret can be read.
   * @default true (set by the service)
   */
  enabled?: boolean;
  /**
   * The secret is not meant to be used before this date.
   * @default none
   */
  readonly notBefore?: Date;
  /**
   * The secret is not meant to be used after this date.
   * @default none
   */
  readonly expiresOn?: Date;
}

/** Options of {@link SecretClient.updateSecretProperties}. Omitted fields keep their value. */
export interface UpdateSecretPropertiesOptions extends OperationOptions {
  /**
   * The new content type.
   * @default unchanged
   */
  contentType?: string;
  /**
   * Enables or disables the version.
   * @default unchanged
   */
  enabled?: boolean;
  /**
   * The new not-before date.
   * @default unchanged
   */
  readonly notBefore?: Date;
  /**
   * The new expiry date.
   * @default unchanged
   */
  readonly expiresOn?: Date;
  /**
   * The new tags; they replace the old ones.
   * @default unchanged
   */
  tags?: { [propertyName: string]: string };
}

/** Options of {@link SecretClient.getSecret}. */
export interface GetSecretOptions extends OperationOptions {
  /**
   * The version to read.
   * @default the latest version
   */
  version?: string;
  /**
   * For a certificate-backed secret: the format to return the value in (api-version 2025-07-01 and later).
   * @default the stored format
   */
  outContentType?: ContentType;
}

/** Options of {@link SecretClient.getDeletedSecret}. */
export interface GetDeletedSecretOptions extends OperationOptions {}
/** Options of {@link SecretClient.purgeDeletedSecret}. */
export interface PurgeDeletedSecretOptions extends OperationOptions {}
/** Options of {@link SecretClient.backupSecret}. */
export interface BackupSecretOptions extends OperationOptions {}
/** Options of {@link SecretClient.restoreSecretBackup}. */
export interface RestoreSecretBackupOptions extends OperationOptions {}
/** Options of the recover request. */
export interface RecoverDeletedSecretOptions extends OperationOptions {}
/** Options of the delete request. */
export interface DeleteSecretOptions extends OperationOptions {}
/** Options of {@link SecretClient.listPropertiesOfSecretVersions}. */
export interface ListPropertiesOfSecretVersionsOptions extends OperationOptions {}
/** Options of {@link SecretClient.listPropertiesOfSecrets}. */
export interface ListPropertiesOfSecretsOptions extends OperationOptions {}
/** Options of {@link SecretClient.listDeletedSecrets}. */
export interface ListDeletedSecretsOptions extends OperationOptions {}

/** Options of {@link SecretClient.sendRequest}. */
export interface SendRequestOptions {
  /**
   * Aborts the request.
   * @default none
   */
  abortSignal?: AbortSignalLike;
}
