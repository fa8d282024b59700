/**
 * The wire: the one place that knows paths, query, bodies, status codes and wire JSON.
 * Each method builds one request, sends it through the client's pipeline, checks the status and
 * maps the body to a public model.
 */
import {
  createHttpHeaders,
  createPipelineRequest,
  type PipelineRequest,
  type PipelineResponse,
} from "@azure/core-rest-pipeline";
import { logger } from "../log.js";
import { passOnThrottlingHandOff } from "../util/throttlingHandOff.js";
import type {
  DeletedSecret,
  KeyVaultSecret,
  OperationOptions,
  SecretProperties,
  SetSecretOptions,
  UpdateSecretPropertiesOptions,
} from "../models.js";
import { createParseError, createServiceError, ResponseShapeError } from "./errors.js";
import {
  asObject,
  toDeletedSecret,
  toKeyVaultSecret,
  toSecretItemProperties,
  toSetBody,
  toUpdateBody,
} from "./mapping.js";
import { apiVersionQueryParameter, type BackupBlobWire } from "./wireTypes.js";

/** One page of a list operation, as the paging helper consumes it. */
export interface WirePage<T> {
  items: T[];
  /** The absolute link of the next page, rewritten to the vault's origin; absent on the last page. */
  nextLink?: string;
}

/** Which list a page belongs to. */
export type ListKind = "secrets" | "versions" | "deleted";

/** The items of each list. */
export interface ListItems {
  secrets: SecretProperties;
  versions: SecretProperties;
  deleted: DeletedSecret;
}

/** The item type of a list. */
export type ListItem<K extends ListKind> = ListItems[K];

/** Which list to read. */
export type ListRequest = { kind: "secrets" | "deleted" } | { kind: "versions"; name: string };

/** Which page of a list to read. */
export interface PageRequest {
  /** A continuation link; without one the first page is fetched. */
  link?: string;
  maxPageSize?: number;
}

const listItemMappers: { [K in ListKind]: (item: unknown) => ListItems[K] } = {
  secrets: toSecretItemProperties,
  versions: toSecretItemProperties,
  deleted: toDeletedSecret,
};

function listPath(list: ListRequest): string {
  switch (list.kind) {
    case "secrets":
      return "/secrets";
    case "deleted":
      return "/deletedsecrets";
    case "versions":
      return `/secrets/${encodeURIComponent(list.name)}/versions`;
  }
}

/** One request of an operation, before the client's options are applied. */
interface WireRequest {
  method: "GET" | "PUT" | "PATCH" | "POST" | "DELETE";
  body?: unknown;
  /** @default 200 */
  expectedStatus?: number;
}

/** Everything the operations need from the client, fixed at construction. */
export interface SecretsOperationsContext {
  /** Sends a request through the client's pipeline and HTTP client. */
  send(request: PipelineRequest): Promise<PipelineResponse>;
  /** The vault URL without a trailing slash. */
  vaultUrl: string;
  apiVersion: string;
  allowInsecureConnection: boolean;
  disableKeepAlive: boolean;
}

const jsonContentType = "application/json";

/** Sends the Key Vault secrets operations of one client. */
export class SecretsOperations {
  private readonly context: SecretsOperationsContext;
  private readonly vaultOrigin: URL;
  private readonly apiVersionQuery: string;

  constructor(context: SecretsOperationsContext) {
    this.context = context;
    this.vaultOrigin = new URL(context.vaultUrl);
    this.apiVersionQuery = `?${apiVersionQueryParameter}=${encodeURIComponent(context.apiVersion)}`;
  }

  /** PUT /secrets/{name} */
  setSecret(name: string, value: string, options: SetSecretOptions): Promise<KeyVaultSecret> {
    return this.send(
      options,
      {
        method: "PUT",
        path: `/secrets/${encodeURIComponent(name)}`,
        body: toSetBody(value, options),
      },
      toKeyVaultSecret,
    );
  }

  /** GET /secrets/{name}/{version} (latest when version is empty). */
  getSecret(
    name: string,
    version: string,
    options: OperationOptions & { outContentType?: string },
  ): Promise<KeyVaultSecret> {
    const query =
      options.outContentType !== undefined
        ? `&outContentType=${encodeURIComponent(options.outContentType)}`
        : "";
    return this.send(
      options,
      {
        method: "GET",
        path: `/secrets/${encodeURIComponent(name)}/${encodeURIComponent(version)}`,
        query,
      },
      toKeyVaultSecret,
    );
  }

  /** PATCH /secrets/{name}/{version} */
  updateSecretProperties(
    name: string,
    version: string,
    options: UpdateSecretPropertiesOptions,
  ): Promise<SecretProperties> {
    return this.send(
      options,
      {
        method: "PATCH",
        path: `/secrets/${encodeURIComponent(name)}/${encodeURIComponent(version)}`,
        body: toUpdateBody(options),
      },
      (parsed) => toKeyVaultSecret(parsed).properties,
    );
  }

  /** DELETE /secrets/{name} */
  deleteSecret(name: string, options: OperationOptions): Promise<DeletedSecret> {
    return this.send(
      options,
      {
        method: "DELETE",
        path: `/secrets/${encodeURIComponent(name)}`,
      },
      toDeletedSecret,
    );
  }

  /** GET /deletedsecrets/{name} */
  getDeletedSecret(name: string, options: OperationOptions): Promise<DeletedSecret> {
    return this.send(
      options,
      {
        method: "GET",
        path: `/deletedsecrets/${encodeURIComponent(name)}`,
      },
      toDeletedSecret,
    );
  }

  /** DELETE /deletedsecrets/{name} (204) */
  purgeDeletedSecret(name: string, options: OperationOptions): Promise<void> {
    const request = {
      method: "DELETE" as const,
      path: `/deletedsecrets/${encodeURIComponent(name)}`,
      expectedStatus: 204,
    };
    return this.send(options, request, () => undefined);
  }

  /** POST /deletedsecrets/{name}/recover */
  recoverDeletedSecret(name: string, options: OperationOptions): Promise<SecretProperties> {
    return this.send(
      options,
      {
        method: "POST",
        path: `/deletedsecrets/${encodeURIComponent(name)}/recover`,
      },
      (parsed) => toKeyVaultSecret(parsed).properties,
    );
  }

  /** POST /secrets/{name}/backup */
  backupSecret(name: string, options: OperationOptions): Promise<Uint8Array | undefined> {
    return this.send(
      options,
      {
        method: "POST",
        path: `/secrets/${encodeURIComponent(name)}/backup`,
      },
      (parsed) => {
        const value = asObject(parsed, "backup").value;
        if (value === undefined || value === null) return undefined;
        if (typeof value !== "string") throw new ResponseShapeError(`"value" is not a string.`);
        // A Buffer, as 4.x gives (its users call backup.toString("base64")), and one of its own:
        // a small decode may be a slice of Node's shared pool.
        const decoded = Buffer.from(value, "base64url");
        const backup = Buffer.allocUnsafeSlow(decoded.length);
        decoded.copy(backup);
        return backup;
      },
    );
  }

  /** POST /secrets/restore */
  restoreSecretBackup(backup: Uint8Array, options: OperationOptions): Promise<SecretProperties> {
    const body: BackupBlobWire = { value: Buffer.from(backup).toString("base64url") };
    return this.send(
      options,
      { method: "POST", path: "/secrets/restore", body },
      (parsed) => toKeyVaultSecret(parsed).properties,
    );
  }

  /**
   * One page of a list. `link` is a continuation link (from a previous page, or given by the
   * caller); without one the first page is fetched.
   */
  async getPage<K extends ListKind>(
    list: ListRequest & { kind: K },
    page: PageRequest,
    options: OperationOptions,
  ): Promise<WirePage<ListItem<K>>> {
    const { link, maxPageSize } = page;
    let url: string;
    if (link === undefined) {
      url = this.context.vaultUrl + listPath(list) + this.apiVersionQuery;
      if (maxPageSize !== undefined) url += `&maxresults=${maxPageSize}`;
    } else {
      url = this.continuationUrl(link, maxPageSize);
    }
    const mapItem = listItemMappers[list.kind];
    return this.exchange(options, { method: "GET", url }, (parsed) => {
      const body = asObject(parsed, "list page");
      const value = body.value ?? [];
      if (!Array.isArray(value)) throw new ResponseShapeError(`"value" is not an array.`);
      const nextLink = body.nextLink;
      if (nextLink !== undefined && nextLink !== null && typeof nextLink !== "string") {
        throw new ResponseShapeError(`"nextLink" is not a string.`);
      }
      const items = value.map((item) => mapItem(item));
      return nextLink ? { items, nextLink: this.toVaultOrigin(nextLink) } : { items };
    });
  }

  /**
   * The vault names its own host in nextLink (with `:443`), and behind a proxy that host is not
   * the one the client talks to: the path and query are kept, the origin is always the vault's,
   * so a page link can never send the token elsewhere.
   */
  private toVaultOrigin(link: string): string {
    let url: URL;
    try {
      url = new URL(link, this.vaultOrigin);
    } catch {
      throw new ResponseShapeError(`"nextLink" is not a URL.`);
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new ResponseShapeError(`"nextLink" is not an http(s) URL.`);
    }
    if (url.origin === this.vaultOrigin.origin) return url.toString();
    logger.verbose(`nextLink names host ${url.host}; following it on the vault's origin.`);
    // Rebuilt on the vault's origin rather than edited in place: only path and query are kept.
    return new URL(url.pathname + url.search, this.vaultOrigin).toString();
  }

  private continuationUrl(link: string, maxPageSize: number | undefined): string {
    let url: URL;
    try {
      url = new URL(this.toVaultOrigin(link));
    } catch {
      throw new TypeError(
        `continuationToken is not a token returned by a page of this client (an http(s) URL of the vault).`,
      );
    }
    url.searchParams.set(apiVersionQueryParameter, this.context.apiVersion);
    if (maxPageSize !== undefined) url.searchParams.set("maxresults", String(maxPageSize));
    return url.toString();
  }

  // Not async, and no object copies: this is the path of every operation.
  private send<T>(
    options: OperationOptions,
    request: WireRequest & { path: string; query?: string },
    mapper: (parsed: unknown) => T,
  ): Promise<T> {
    const url = this.context.vaultUrl + request.path + this.apiVersionQuery + (request.query ?? "");
    return this.exchange(
      options,
      { method: request.method, body: request.body, expectedStatus: request.expectedStatus, url },
      mapper,
    );
  }

  /** Sends one request, checks its status, tells `onResponse`, and maps the body. */
  private async exchange<T>(
    options: OperationOptions,
    request: WireRequest & { url: string },
    mapper: (parsed: unknown) => T,
  ): Promise<T> {
    const { expectedStatus = 200 } = request;
    const response = await this.context.send(this.createRequest(options, request));
    if (response.status !== expectedStatus) {
      const error = createServiceError(response);
      options.onResponse?.({ ...response, parsedBody: error.details }, error);
      throw error;
    }
    if (options.onResponse) {
      options.onResponse({ ...response, parsedBody: parseQuietly(response.bodyAsText) });
    }
    return this.map(response, mapper);
  }

  private createRequest(
    options: OperationOptions,
    { method, url, body }: WireRequest & { url: string },
  ): PipelineRequest {
    const requestOptions = options.requestOptions;
    const headers = createHttpHeaders(requestOptions?.headers);
    headers.set("accept", jsonContentType);
    if (body !== undefined) headers.set("content-type", jsonContentType);
    const request = createPipelineRequest({
      url,
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      abortSignal: options.abortSignal,
      timeout: requestOptions?.timeout,
      onUploadProgress: requestOptions?.onUploadProgress,
      onDownloadProgress: requestOptions?.onDownloadProgress,
      allowInsecureConnection:
        this.context.allowInsecureConnection || requestOptions?.allowInsecureConnection,
      disableKeepAlive: this.context.disableKeepAlive,
    });
    // createPipelineRequest (core-rest-pipeline 1.25) drops tracingOptions: without them the HTTP
    // span has no parent and no az.namespace.
    if (options.tracingOptions !== undefined) request.tracingOptions = options.tracingOptions;
    passOnThrottlingHandOff(options, request);
    return request;
  }

  private map<T>(response: PipelineResponse, mapper: (parsed: unknown) => T): T {
    const text = response.bodyAsText;
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      throw createParseError(response, "its body is not valid JSON.");
    }
    try {
      return mapper(parsed);
    } catch (error) {
      if (error instanceof ResponseShapeError) {
        throw createParseError(response, error.message);
      }
      throw error;
    }
  }
}

function parseQuietly(text: string | null | undefined): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
