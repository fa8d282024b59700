import type { TokenCredential } from "@azure/core-auth";
import type { PagedAsyncIterableIterator, PageSettings } from "@azure/core-paging";
import type { PollerLike, PollOperationState } from "@azure/core-lro";
import {
  createHttpHeaders,
  createPipelineRequest,
  type PipelineRequest,
  type PipelineResponse,
} from "@azure/core-rest-pipeline";
import {
  SecretsOperations,
  type ListItem,
  type ListKind,
  type ListRequest,
} from "./api/secretsOperations.js";
import { latestServiceVersion, serviceVersions } from "./api/wireTypes.js";
import { createClientPipeline, type ClientPipeline } from "./pipeline/clientPipeline.js";
import { checkSecretName, checkSecretVersion } from "./util/names.js";
import { isLoopbackHost } from "./loopbackHost.js";
import type {
  BackupSecretOptions,
  BeginDeleteSecretOptions,
  BeginRecoverDeletedSecretOptions,
  DeletedSecret,
  GetDeletedSecretOptions,
  GetSecretOptions,
  KeyVaultSecret,
  ListDeletedSecretsOptions,
  ListPropertiesOfSecretsOptions,
  ListPropertiesOfSecretVersionsOptions,
  OperationOptions,
  PurgeDeletedSecretOptions,
  RestoreSecretBackupOptions,
  SecretClientOptions,
  SecretProperties,
  SendRequestOptions,
  SetSecretOptions,
  UpdateSecretPropertiesOptions,
} from "./models.js";
import { createPager, type ContinuablePage } from "./paging.js";
import { tracingClient } from "./pipeline/tracingClient.js";

/**
 * Runs `start` and gives back its promise; what it throws (a bad argument) becomes a rejection, as
 * from an async method. For the hot methods (get and set), which are not async: an async method
 * returning a promise costs one more promise and a wait on every call.
 */
function rejectingOnThrow<T>(start: () => Promise<T>): Promise<T> {
  try {
    return start();
  } catch (error) {
    return Promise.reject(error);
  }
}

function checkVersion(value: unknown, parameter: string): string {
  if (value === undefined) return "";
  if (typeof value !== "string") {
    throw new TypeError(`${parameter} must be a string, got ${typeof value}.`);
  }
  return value === "" ? "" : checkSecretVersion(value, parameter);
}

function checkVaultUrl(vaultUrl: unknown, allowInsecureConnection: boolean): URL {
  if (typeof vaultUrl !== "string" || vaultUrl.length === 0) {
    throw new TypeError(
      `vaultUrl must be the URL of a vault, such as "https://myvault.vault.azure.net", got ${typeof vaultUrl === "string" ? "an empty string" : typeof vaultUrl}.`,
    );
  }
  let url: URL;
  try {
    url = new URL(vaultUrl);
  } catch {
    throw new TypeError(
      `vaultUrl "${vaultUrl}" is not an absolute URL; expected something like "https://myvault.vault.azure.net".`,
    );
  }
  if (url.search !== "" || url.hash !== "" || (url.pathname !== "/" && url.pathname !== "")) {
    throw new TypeError(
      `vaultUrl "${vaultUrl}" must name only the vault (scheme and host), without a path, query or fragment.`,
    );
  }
  if (url.username !== "" || url.password !== "") {
    throw new TypeError(`vaultUrl must not carry user information.`);
  }
  if (url.protocol === "https:") return url;
  if (url.protocol === "http:") {
    if (!allowInsecureConnection) {
      throw new TypeError(
        `vaultUrl "${vaultUrl}" uses http: set allowInsecureConnection: true in SecretClientOptions to talk to a local vault over plain HTTP.`,
      );
    }
    if (!isLoopbackHost(url.hostname)) {
      throw new TypeError(
        `vaultUrl "${vaultUrl}" uses http to a host that is not loopback; tokens are only sent over plain HTTP to localhost, 127.0.0.0/8 or [::1]. Use https.`,
      );
    }
    return url;
  }
  throw new TypeError(`vaultUrl "${vaultUrl}" must use https (or http to a loopback host).`);
}

/**
 * The client for the secrets of one Azure Key Vault: set, get, update, delete, recover, purge,
 * back up, restore and list secrets.
 *
 * @example
 * ```ts
 * import { DefaultAzureCredential } from "@azure/identity";
 * import { SecretClient } from "keyvault-secrets";
 *
 * const client = new SecretClient("https://myvault.vault.azure.net", new DefaultAzureCredential());
 * await client.setSecret("db-password", "s3cr3t");
 * const secret = await client.getSecret("db-password");
 * console.log(secret.properties.version);
 * ```
 */
export class SecretClient {
  /** The URL of the vault, as given to the constructor. */
  readonly vaultUrl: string;
  private readonly clientPipeline: ClientPipeline;
  private readonly operations: SecretsOperations;
  private readonly normalizedVaultUrl: string;

  /**
   * Creates a client for one vault.
   *
   * @param vaultUrl - The vault URL, e.g. `https://myvault.vault.azure.net` (http only to a loopback
   *   host with `allowInsecureConnection`).
   * @param credential - Gets tokens for the vault, e.g. `DefaultAzureCredential` from `@azure/identity`.
   * @param options - Pipeline options (retry, logging, proxy, user agent, ...) and Key Vault options.
   * @throws TypeError when the URL or credential cannot be used; RangeError for an unknown serviceVersion.
   * Methods that return a promise reject with TypeError/RangeError for bad arguments (before any
   * request), so `.catch()` sees them as it does service errors; list methods never throw: the
   * first `next()` of the pager (or of its `byPage()`) rejects with them, as in 4.x.
   */
  constructor(vaultUrl: string, credential: TokenCredential, options: SecretClientOptions = {}) {
    const allowInsecureConnection = options.allowInsecureConnection === true;
    const url = checkVaultUrl(vaultUrl, allowInsecureConnection);
    if (
      typeof credential !== "object" ||
      credential === null ||
      typeof credential.getToken !== "function"
    ) {
      throw new TypeError(
        "credential must be a TokenCredential (an object with getToken), e.g. DefaultAzureCredential from @azure/identity.",
      );
    }
    const apiVersion = options.serviceVersion ?? latestServiceVersion;
    if (!serviceVersions.includes(apiVersion)) {
      throw new RangeError(
        `serviceVersion "${String(apiVersion)}" is not supported; use one of ${serviceVersions.join(", ")}.`,
      );
    }
    this.vaultUrl = vaultUrl;
    this.normalizedVaultUrl = url.origin;
    this.clientPipeline = createClientPipeline({
      vaultUrl: this.normalizedVaultUrl,
      credential,
      apiVersion,
      options,
    });
    this.operations = new SecretsOperations({
      send: this.clientPipeline.send,
      vaultUrl: this.normalizedVaultUrl,
      apiVersion,
      allowInsecureConnection,
      disableKeepAlive: options.keepAliveOptions?.enable === false,
    });
  }

  /**
   * Stores a secret: a new version of it when the name exists.
   *
   * @param secretName - The name of the secret (1-127 letters, digits and dashes).
   * @param value - The value (at most 25 KB).
   * @param options - Content type, tags, enabled, notBefore, expiresOn, and operation options.
   * @returns The new version, with its value.
   *
   * @example
   * ```ts
   * const secret = await client.setSecret("db-password", "s3cr3t", { contentType: "text/plain" });
   * console.log(secret.properties.version);
   * ```
   */
  setSecret(
    secretName: string,
    value: string,
    options: SetSecretOptions = {},
  ): Promise<KeyVaultSecret> {
    return rejectingOnThrow(() => {
      checkSecretName(secretName, "secretName");
      if (typeof value !== "string") {
        throw new TypeError(`value must be a string, got ${typeof value}.`);
      }
      return tracingClient.withSpan("SecretClient.setSecret", options, (updatedOptions) =>
        this.operations.setSecret(secretName, value, updatedOptions),
      );
    });
  }

  /**
   * Reads a secret with its value: the latest version, or the one named in `options.version`.
   *
   * @param secretName - The name of the secret.
   * @param options - `version`, `outContentType`, and operation options.
   * @returns The secret.
   *
   * @example
   * ```ts
   * const { value } = await client.getSecret("db-password");
   * ```
   */
  getSecret(secretName: string, options: GetSecretOptions = {}): Promise<KeyVaultSecret> {
    return rejectingOnThrow(() => {
      checkSecretName(secretName, "secretName");
      const version = checkVersion(options.version, "options.version");
      return tracingClient.withSpan("SecretClient.getSecret", options, (updatedOptions) =>
        this.operations.getSecret(secretName, version, updatedOptions),
      );
    });
  }

  /**
   * Changes the properties of one version of a secret (not its value). Omitted options keep their
   * current value.
   *
   * @param secretName - The name of the secret.
   * @param secretVersion - The version to change; an empty string changes the latest.
   * @param options - The new content type, enabled, dates and tags, and operation options.
   * @returns The updated properties.
   *
   * @example
   * ```ts
   * const { version } = (await client.getSecret("db-password")).properties;
   * await client.updateSecretProperties("db-password", version!, { enabled: false });
   * ```
   */
  async updateSecretProperties(
    secretName: string,
    secretVersion: string,
    options: UpdateSecretPropertiesOptions = {},
  ): Promise<SecretProperties> {
    checkSecretName(secretName, "secretName");
    if (typeof secretVersion !== "string") {
      throw new TypeError(
        `secretVersion must be a string (an empty string updates the latest version), got ${typeof secretVersion}.`,
      );
    }
    const version = checkVersion(secretVersion, "secretVersion");
    return tracingClient.withSpan(
      "SecretClient.updateSecretProperties",
      options,
      (updatedOptions) =>
        this.operations.updateSecretProperties(secretName, version, updatedOptions),
    );
  }

  /**
   * Deletes every version of a secret. Returns a poller that completes when the deletion has
   * finished (on a soft-delete vault, when the deleted secret can be read).
   *
   * @param name - The name of the secret.
   * @param options - `intervalInMs`, `resumeFrom`, and operation options.
   * @returns A poller of the deleted secret.
   *
   * @example
   * ```ts
   * const poller = await client.beginDeleteSecret("db-password");
   * const deleted = await poller.pollUntilDone();
   * console.log(deleted.scheduledPurgeDate);
   * ```
   */
  async beginDeleteSecret(
    name: string,
    options: BeginDeleteSecretOptions = {},
  ): Promise<PollerLike<PollOperationState<DeletedSecret>, DeletedSecret>> {
    checkSecretName(name, "name");
    // Loaded on first use: most processes never poll, and core-lro adds to every cold start.
    const { beginDeleteSecretPoller } = await import("./lro/deleteSecretOperation.js");
    return beginDeleteSecretPoller(
      {
        deleteSecret: (secretName, operationOptions) =>
          tracingClient.withSpan("DeleteSecretPoller.deleteSecret", operationOptions, (updated) =>
            this.operations.deleteSecret(secretName, updated),
          ),
        getDeletedSecret: (secretName, operationOptions) =>
          tracingClient.withSpan(
            "DeleteSecretPoller.getDeletedSecret",
            operationOptions,
            (updated) => this.operations.getDeletedSecret(secretName, updated),
          ),
      },
      name,
      options,
    );
  }

  /**
   * Reads a deleted secret (soft-delete vaults).
   *
   * @param secretName - The name of the deleted secret.
   * @param options - Operation options.
   * @returns The deleted secret, with its deletion and scheduled purge dates.
   *
   * @example
   * ```ts
   * const deleted = await client.getDeletedSecret("db-password");
   * console.log(deleted.recoveryId);
   * ```
   */
  async getDeletedSecret(
    secretName: string,
    options: GetDeletedSecretOptions = {},
  ): Promise<DeletedSecret> {
    checkSecretName(secretName, "secretName");
    return tracingClient.withSpan("SecretClient.getDeletedSecret", options, (updatedOptions) =>
      this.operations.getDeletedSecret(secretName, updatedOptions),
    );
  }

  /**
   * Removes a deleted secret for good (when the vault's recovery level allows purging).
   *
   * @param secretName - The name of the deleted secret.
   * @param options - Operation options.
   * @returns Nothing, once the service accepted the purge.
   *
   * @example
   * ```ts
   * await (await client.beginDeleteSecret("db-password")).pollUntilDone();
   * await client.purgeDeletedSecret("db-password");
   * ```
   */
  async purgeDeletedSecret(
    secretName: string,
    options: PurgeDeletedSecretOptions = {},
  ): Promise<void> {
    checkSecretName(secretName, "secretName");
    return tracingClient.withSpan("SecretClient.purgeDeletedSecret", options, (updatedOptions) =>
      this.operations.purgeDeletedSecret(secretName, updatedOptions),
    );
  }

  /**
   * Recovers a deleted secret with all its versions. Returns a poller that completes when the
   * secret can be read again.
   *
   * @param name - The name of the deleted secret.
   * @param options - `intervalInMs`, `resumeFrom`, and operation options.
   * @returns A poller of the recovered secret's properties.
   *
   * @example
   * ```ts
   * const poller = await client.beginRecoverDeletedSecret("db-password");
   * const properties = await poller.pollUntilDone();
   * console.log(properties.enabled);
   * ```
   */
  async beginRecoverDeletedSecret(
    name: string,
    options: BeginRecoverDeletedSecretOptions = {},
  ): Promise<PollerLike<PollOperationState<SecretProperties>, SecretProperties>> {
    checkSecretName(name, "name");
    const { beginRecoverDeletedSecretPoller } =
      await import("./lro/recoverDeletedSecretOperation.js");
    return beginRecoverDeletedSecretPoller(
      {
        recoverDeletedSecret: (secretName, operationOptions) =>
          tracingClient.withSpan(
            "RecoverDeletedSecretPoller.recoverDeletedSecret",
            operationOptions,
            (updated) => this.operations.recoverDeletedSecret(secretName, updated),
          ),
        getSecret: (secretName, operationOptions) =>
          tracingClient.withSpan(
            "RecoverDeletedSecretPoller.getSecret",
            operationOptions,
            async (updated) => {
              const secret = await this.operations.getSecret(secretName, "", updated);
              return secret.properties;
            },
          ),
      },
      name,
      options,
    );
  }

  /**
   * Backs up every version of a secret into an opaque, encrypted blob that only Key Vault can
   * restore (into a vault of the same subscription and geography).
   *
   * @param secretName - The name of the secret.
   * @param options - Operation options.
   * @returns The backup blob, a Node `Buffer` (as in 4.x: `backup.toString("base64")` works).
   *
   * @example
   * ```ts
   * const backup = await client.backupSecret("db-password");
   * ```
   */
  async backupSecret(
    secretName: string,
    options: BackupSecretOptions = {},
  ): Promise<Uint8Array | undefined> {
    // Resolves to a Node Buffer (a Uint8Array), as 4.x does.
    checkSecretName(secretName, "secretName");
    return tracingClient.withSpan("SecretClient.backupSecret", options, (updatedOptions) =>
      this.operations.backupSecret(secretName, updatedOptions),
    );
  }

  /**
   * Restores a secret, with all its versions, from a backup blob. The name must not exist (nor be
   * deleted) in the vault.
   *
   * @param secretBundleBackup - A blob returned by {@link SecretClient.backupSecret}.
   * @param options - Operation options.
   * @returns The properties of the restored secret's latest version.
   *
   * @example
   * ```ts
   * const backup = await client.backupSecret("db-password");
   * // ... delete and purge it, then:
   * await client.restoreSecretBackup(backup!);
   * ```
   */
  async restoreSecretBackup(
    secretBundleBackup: Uint8Array,
    options: RestoreSecretBackupOptions = {},
  ): Promise<SecretProperties> {
    if (!(secretBundleBackup instanceof Uint8Array) || secretBundleBackup.length === 0) {
      throw new TypeError(
        "secretBundleBackup must be a non-empty Uint8Array returned by backupSecret.",
      );
    }
    return tracingClient.withSpan("SecretClient.restoreSecretBackup", options, (updatedOptions) =>
      this.operations.restoreSecretBackup(secretBundleBackup, updatedOptions),
    );
  }

  /**
   * Lists the versions of a secret (properties only, no values), fetched page by page as you
   * iterate.
   *
   * @param secretName - The name of the secret.
   * @param options - Operation options.
   * @returns An async iterable of the versions; `byPage()` gives pages with continuation tokens.
   *
   * @example
   * ```ts
   * for await (const version of client.listPropertiesOfSecretVersions("db-password")) {
   *   console.log(version.version, version.enabled);
   * }
   * ```
   */
  listPropertiesOfSecretVersions(
    secretName: string,
    options: ListPropertiesOfSecretVersionsOptions = {},
  ): PagedAsyncIterableIterator<SecretProperties, ContinuablePage<SecretProperties>, PageSettings> {
    // Checked lazily, as every list argument is: the first next() rejects (4.x behaviour).
    return this.list(
      { kind: "versions", name: secretName },
      "SecretClient.listPropertiesOfSecretVersions",
      options,
      () => checkSecretName(secretName, "secretName"),
    );
  }

  /**
   * Lists the secrets of the vault (the latest version's properties, no values), fetched page by
   * page as you iterate.
   *
   * @param options - Operation options.
   * @returns An async iterable of the secrets; `byPage()` gives pages with continuation tokens.
   *
   * @example
   * ```ts
   * for await (const properties of client.listPropertiesOfSecrets()) {
   *   console.log(properties.name);
   * }
   * ```
   */
  listPropertiesOfSecrets(
    options: ListPropertiesOfSecretsOptions = {},
  ): PagedAsyncIterableIterator<SecretProperties, ContinuablePage<SecretProperties>, PageSettings> {
    return this.list({ kind: "secrets" }, "SecretClient.listPropertiesOfSecrets", options);
  }

  /**
   * Lists the deleted secrets of the vault, fetched page by page as you iterate.
   *
   * @param options - Operation options.
   * @returns An async iterable of deleted secrets; `byPage()` gives pages with continuation tokens.
   *
   * @example
   * ```ts
   * for await (const deleted of client.listDeletedSecrets()) {
   *   console.log(deleted.name, deleted.scheduledPurgeDate);
   * }
   * ```
   */
  listDeletedSecrets(
    options: ListDeletedSecretsOptions = {},
  ): PagedAsyncIterableIterator<DeletedSecret, ContinuablePage<DeletedSecret>, PageSettings> {
    return this.list({ kind: "deleted" }, "SecretClient.listDeletedSecrets", options);
  }

  /**
   * Sends a raw request through the client's pipeline (authentication, retry, api-version,
   * logging). A relative URL is resolved against the vault URL. Error statuses are returned, not
   * thrown.
   *
   * @param request - The request, e.g. from `createPipelineRequest` of `@azure/core-rest-pipeline`.
   * @param options - An abort signal.
   * @returns The response.
   *
   * @example
   * ```ts
   * import { createPipelineRequest } from "@azure/core-rest-pipeline";
   *
   * const response = await client.sendRequest(
   *   createPipelineRequest({ url: "/secrets?maxresults=1", method: "GET" }),
   * );
   * console.log(response.status, response.bodyAsText);
   * ```
   */
  async sendRequest(
    request: PipelineRequest,
    options: SendRequestOptions = {},
  ): Promise<PipelineResponse> {
    if (typeof request !== "object" || request === null || typeof request.url !== "string") {
      throw new TypeError("request must be a PipelineRequest (see createPipelineRequest).");
    }
    const url = new URL(request.url, this.normalizedVaultUrl + "/");
    if (url.origin !== this.normalizedVaultUrl) {
      throw new TypeError(
        `sendRequest only sends to the client's vault (${this.normalizedVaultUrl}), not to ${url.origin}.`,
      );
    }
    // A copy, headers included: the policies set headers and the URL on the request they send.
    const toSend = createPipelineRequest({
      ...request,
      url: url.toString(),
      headers: createHttpHeaders(request.headers.toJSON({ preserveCase: true })),
      abortSignal: options.abortSignal ?? request.abortSignal,
    });
    // createPipelineRequest drops tracingOptions; keep the caller's.
    toSend.tracingOptions = request.tracingOptions;
    if (this.normalizedVaultUrl.startsWith("http:")) toSend.allowInsecureConnection = true;
    return this.clientPipeline.send(toSend);
  }

  /**
   * Releases the client's connections: afterwards none of the sockets it opened is open, with or
   * without a proxy (a proxy's connections are not kept between requests). The client can still be
   * used; it then opens new connections. Connections of a caller-supplied agent or HTTP client are
   * the caller's to close.
   *
   * @example
   * ```ts
   * client.close();
   * ```
   */
  close(): void {
    this.clientPipeline.close();
  }

  private list<K extends ListKind>(
    list: ListRequest & { kind: K },
    spanName: string,
    options: OperationOptions,
    checkArguments?: () => void,
  ): PagedAsyncIterableIterator<ListItem<K>, ContinuablePage<ListItem<K>>, PageSettings> {
    return createPager(
      (link, maxPageSize) =>
        tracingClient.withSpan(spanName, options, (updatedOptions) =>
          this.operations.getPage<K>(list, { link, maxPageSize }, updatedOptions),
        ),
      checkArguments,
    );
  }
}
