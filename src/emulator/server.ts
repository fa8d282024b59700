/**
 * HTTP front of the local vault: routing, the service's headers, faults, authentication,
 * api-version rules, and the durable acknowledgement of every change.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { serviceVersions } from "../api/wireTypes.js";
import type { LocalVaultFaultOptions } from "./options.js";
import { localClientId, resourceOfScope, type VaultAuth } from "./auth.js";
import { openBackup, sealBackup } from "./backup.js";
import { VaultError, badParameter, invalidName } from "./errors.js";
import type { FaultInjector } from "./faults.js";
import { buildNextLink, decodeSkipToken, parseMaxResults } from "./paging.js";
import {
  isValidName,
  parseJsonObject,
  readRestoreBody,
  readSetBody,
  readUpdateBody,
} from "./requests.js";
import type { DurableStore } from "./durableStore.js";
import type { RenderContext, StoreRecord } from "./store.js";

/** The version string reported in `x-ms-keyvault-service-version`. */
export const localServiceVersion = "1.9.0.0";

/** The newest api-version, named in the "not recognized" message. */
const latestApiVersion = serviceVersions[serviceVersions.length - 1];
const acceptedApiVersions = new Set<string>([...serviceVersions, "2016-10-01"]);
/** Largest request body read; secrets are at most 25,600 characters. */
const maxBodyBytes = 1024 * 1024;
/** Prefix of the local-only routes (test controls, managed identity). */
const localPrefix = "/__local/";

/** Everything the request handler needs from the vault. */
export interface VaultServerContext {
  /** Changes are made at once; reads see only what is durable. */
  store: DurableStore;
  auth: VaultAuth;
  faults: FaultInjector;
  scheme: "http" | "https";
  /** `host:port` used when a request carries no `Host` header. */
  defaultHost: string;
  backupKey: Buffer;
  emptyPages: boolean;
  identityHeader: string;
  /** Makes a record durable; undefined when the vault keeps no journal. */
  persist: ((record: StoreRecord) => Promise<void>) | undefined;
  /** Test control: forget every secret; resolves once durable. */
  reset(): Promise<void>;
  /** Test control: shift the vault clock; resolves once durable. */
  advanceClock(ms: number): Promise<void>;
  /** Test control: replace fault settings. */
  setFaults(faults: LocalVaultFaultOptions): void;
}

type Query = Record<string, string>;

interface Call {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  query: Query;
  apiVersion: string;
  render: RenderContext;
}

/**
 * Creates the `request` listener of the vault's HTTP(S) server.
 * @param ctx - the vault
 * @returns the listener
 */
export function createRequestHandler(
  ctx: VaultServerContext,
): (req: IncomingMessage, res: ServerResponse) => void {
  const send = (
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    body: unknown,
    extra?: Record<string, string>,
  ): void => {
    const headers: Record<string, string | number> = {
      "x-ms-request-id": randomUUID(),
      "x-ms-keyvault-service-version": localServiceVersion,
      "x-ms-keyvault-region": "local",
      "cache-control": "no-cache",
    };
    const clientRequestId = req.headers["x-ms-client-request-id"];
    if (typeof clientRequestId === "string") headers["x-ms-client-request-id"] = clientRequestId;
    if (ctx.scheme === "https")
      headers["strict-transport-security"] = "max-age=31536000;includeSubDomains";
    if (extra !== undefined) Object.assign(headers, extra);
    let payload: string | undefined;
    if (body !== undefined) {
      payload = JSON.stringify(body);
      headers["content-type"] = "application/json; charset=utf-8";
      headers["content-length"] = Buffer.byteLength(payload);
    } else if (status !== 204) {
      headers["content-length"] = 0;
    }
    const write = (): void => {
      if (res.destroyed) return;
      res.writeHead(status, headers);
      res.end(payload);
    };
    const latency = ctx.faults.active ? ctx.faults.latencyMs : 0;
    if (latency > 0) setTimeout(write, latency);
    else write();
  };

  const sendError = (req: IncomingMessage, res: ServerResponse, error: unknown): void => {
    if (error instanceof VaultError) {
      send(req, res, error.status, error.toWire(), error.headers);
      return;
    }
    // Never echo internals (they could hold request data); the status tells the client enough.
    send(req, res, 500, {
      error: {
        code: "InternalServerError",
        message: "The local vault failed to process the request.",
      },
    });
  };

  /** Sends the answer once the record is durable (at once without a journal). */
  const commit = (call: Call, record: StoreRecord, status: number, body: unknown): void => {
    if (ctx.persist === undefined) {
      send(call.req, call.res, status, body);
      return;
    }
    ctx.persist(record).then(
      () => send(call.req, call.res, status, body),
      (error: unknown) => sendError(call.req, call.res, error),
    );
  };

  const withBody = (call: Call, handle: (body: Record<string, unknown>) => void): void => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    call.req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) tooLarge = true;
      else chunks.push(chunk);
    });
    call.req.on("end", () => {
      try {
        if (tooLarge) throw badParameter(`The request body is larger than ${maxBodyBytes} bytes.`);
        handle(parseJsonObject(Buffer.concat(chunks).toString("utf8")));
      } catch (error) {
        sendError(call.req, call.res, error);
      }
    });
    call.req.on("error", () => call.res.destroy());
  };

  const list = (
    call: Call,
    path: string,
    page: (afterKey: string, max: number) => { items: unknown[]; lastKey: string; more: boolean },
  ): void => {
    const max = parseMaxResults(call.query.maxresults);
    const position = decodeSkipToken(call.query.$skiptoken, ctx.emptyPages);
    const base = call.render.baseUrl;
    if (position.emptyPage) {
      send(call.req, call.res, 200, {
        value: [],
        nextLink: buildNextLink(base, path, call.apiVersion, max, position.afterKey, false),
      });
      return;
    }
    const result = page(position.afterKey, max);
    send(call.req, call.res, 200, {
      value: result.items,
      nextLink: result.more
        ? buildNextLink(base, path, call.apiVersion, max, result.lastKey, ctx.emptyPages)
        : null,
    });
  };

  const routeSecrets = (call: Call, segments: string[], path: string): void => {
    const { method, render } = call;
    const store = ctx.store;
    if (segments.length === 1) {
      if (method !== "GET") throw methodNotAllowed(method, path, "GET");
      list(call, "/secrets", (after, max) => store.list(after, max, render));
      return;
    }
    const name = decodeName(segments[1]);
    if (segments.length === 2 && name === "restore" && method === "POST") {
      withBody(call, (body) => {
        const secret = openBackup(readRestoreBody(body), ctx.backupKey);
        const m = store.restore(secret, render);
        commit(call, m.record, 200, m.result);
      });
      return;
    }
    if (!isValidName(name)) throw invalidName(name);
    if (segments.length > 3) throw notFound(path);
    const third = segments.length === 3 ? segments[2] : "";
    if (third === "versions") {
      if (method !== "GET") throw methodNotAllowed(method, path, "GET");
      list(call, `/secrets/${name}/versions`, (after, max) =>
        store.listVersions(name, after, max, render),
      );
      return;
    }
    if (third === "backup") {
      if (method !== "POST") throw methodNotAllowed(method, path, "POST");
      const value = sealBackup(store.exportSecret(name), ctx.backupKey);
      send(call.req, call.res, 200, { value });
      return;
    }
    const version = third;
    switch (method) {
      case "GET":
        send(call.req, call.res, 200, store.get(name, version, render));
        return;
      case "PATCH":
        withBody(call, (body) => {
          const m = store.update(name, version, readUpdateBody(body), render);
          commit(call, m.record, 200, m.result);
        });
        return;
      case "PUT":
        if (version !== "") throw methodNotAllowed(method, path, "GET, PATCH");
        withBody(call, (body) => {
          const m = store.set(name, readSetBody(body), render);
          commit(call, m.record, 200, m.result);
        });
        return;
      case "DELETE": {
        if (version !== "") throw methodNotAllowed(method, path, "GET, PATCH");
        const m = store.delete(name, render);
        commit(call, m.record, 200, m.result);
        return;
      }
      default:
        throw methodNotAllowed(
          method,
          path,
          version === "" ? "GET, PUT, PATCH, DELETE" : "GET, PATCH",
        );
    }
  };

  const routeDeleted = (call: Call, segments: string[], path: string): void => {
    const { method, render } = call;
    const store = ctx.store;
    if (segments.length === 1) {
      if (method !== "GET") throw methodNotAllowed(method, path, "GET");
      list(call, "/deletedsecrets", (after, max) => store.listDeleted(after, max, render));
      return;
    }
    const name = decodeName(segments[1]);
    if (!isValidName(name)) throw invalidName(name);
    if (segments.length === 2) {
      if (method === "GET") {
        send(call.req, call.res, 200, store.getDeleted(name, render));
        return;
      }
      if (method === "DELETE") {
        const m = store.purge(name);
        commit(call, m.record, 204, undefined);
        return;
      }
      throw methodNotAllowed(method, path, "GET, DELETE");
    }
    if (segments.length === 3 && segments[2] === "recover") {
      if (method !== "POST") throw methodNotAllowed(method, path, "POST");
      const m = store.recover(name, render);
      commit(call, m.record, 200, m.result);
      return;
    }
    throw notFound(path);
  };

  const routeLocal = (req: IncomingMessage, res: ServerResponse, path: string, query: Query) => {
    const method = req.method ?? "GET";
    const route = path.slice(localPrefix.length);
    const control = (handle: (body: Record<string, unknown>) => void): void => {
      withBody({ req, res, method, query, apiVersion: "", render: renderContext(req, "") }, handle);
    };
    switch (route) {
      case "identity/token":
        if (method !== "GET") throw methodNotAllowed(method, path, "GET");
        identityToken(req, res, query);
        return;
      case "reset":
        if (method !== "POST") throw methodNotAllowed(method, path, "POST");
        ctx.reset().then(
          () => send(req, res, 204, undefined),
          (error: unknown) => sendError(req, res, error),
        );
        return;
      case "clock":
        if (method !== "POST") throw methodNotAllowed(method, path, "POST");
        control((body) => {
          const { advanceMs } = body;
          if (typeof advanceMs !== "number" || !Number.isFinite(advanceMs) || advanceMs < 0) {
            throw badParameter("advanceMs must be a non-negative number of milliseconds.");
          }
          ctx.advanceClock(advanceMs).then(
            () => send(req, res, 200, { now: Math.floor(ctx.store.clock.nowMs() / 1000) }),
            (error: unknown) => sendError(req, res, error),
          );
        });
        return;
      case "faults":
        if (method !== "PUT") throw methodNotAllowed(method, path, "PUT");
        control((body) => {
          try {
            ctx.setFaults(body as LocalVaultFaultOptions);
          } catch (error) {
            throw badParameter((error as Error).message);
          }
          send(req, res, 200, body);
        });
        return;
      default:
        throw notFound(path);
    }
  };

  const identityToken = (req: IncomingMessage, res: ServerResponse, query: Query): void => {
    const oauthError = (status: number, error: string, description: string): void =>
      send(req, res, status, { error, error_description: description });
    const header = req.headers["x-identity-header"];
    if (header === undefined) {
      oauthError(400, "invalid_request", "The x-identity-header request header is missing.");
      return;
    }
    if (header !== ctx.identityHeader) {
      oauthError(401, "unauthorized_client", "The x-identity-header value is not valid.");
      return;
    }
    if (query["api-version"] !== "2019-08-01") {
      oauthError(400, "invalid_request", "The api-version must be 2019-08-01.");
      return;
    }
    const resource = query.resource;
    if (resource === undefined || resource === "") {
      oauthError(400, "invalid_request", "The resource query parameter is missing.");
      return;
    }
    const token = ctx.auth.issue(resourceOfScope(resource));
    send(req, res, 200, {
      access_token: token.token,
      expires_on: String(Math.floor(token.expiresOnTimestamp / 1000)),
      resource,
      token_type: "Bearer",
      client_id: localClientId,
    });
  };

  const renderContext = (req: IncomingMessage, apiVersion: string): RenderContext => ({
    baseUrl: `${ctx.scheme}://${req.headers.host ?? ctx.defaultHost}`,
    previousVersion: apiVersion.startsWith("20") && apiVersion >= "2025-07-01",
    recoverableDays: apiVersion !== "7.0" && apiVersion !== "2016-10-01",
  });

  return (req, res) => {
    try {
      const url = req.url ?? "/";
      const queryStart = url.indexOf("?");
      let path = queryStart === -1 ? url : url.slice(0, queryStart);
      // Clients in the wild send `//secrets/...`.
      while (path.startsWith("//")) path = path.slice(1);
      const query = queryStart === -1 ? {} : parseQuery(url.slice(queryStart + 1));

      if (path.startsWith(localPrefix)) {
        routeLocal(req, res, path, query);
        return;
      }

      if (ctx.faults.active) {
        const decision = ctx.faults.decide(Date.now());
        if (decision.kind === "drop") {
          req.socket.destroy();
          return;
        }
        if (decision.kind === "throttle") {
          throw new VaultError(
            429,
            "Throttled",
            "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached",
            undefined,
            decision.retryAfterSeconds === undefined
              ? undefined
              : { "retry-after": String(decision.retryAfterSeconds) },
          );
        }
        if (decision.kind === "error") {
          throw decision.status === 500
            ? new VaultError(
                500,
                "InternalServerError",
                "An internal server error occurred (injected fault).",
              )
            : new VaultError(
                503,
                "ServiceUnavailable",
                "The service is temporarily unavailable (injected fault).",
              );
        }
      }

      ctx.auth.check(req.headers.authorization);

      const apiVersion = query["api-version"];
      if (apiVersion === undefined || apiVersion === "") {
        throw badParameter(
          `The api-version query parameter is missing. Consider using the latest supported version (${latestApiVersion}).`,
        );
      }
      if (!acceptedApiVersions.has(apiVersion)) {
        throw badParameter(
          `The specified version (${apiVersion}) is not recognized. Consider using the latest supported version (${latestApiVersion}).`,
        );
      }

      const segments = path.slice(1).split("/");
      // A trailing slash names the same resource (`/secrets/{name}/` = latest version).
      if (segments.length > 1 && segments[segments.length - 1] === "") segments.pop();
      const call: Call = {
        req,
        res,
        method: req.method ?? "GET",
        query,
        apiVersion,
        render: renderContext(req, apiVersion),
      };
      const collection = segments[0].toLowerCase();
      if (collection === "secrets") routeSecrets(call, segments, path);
      else if (collection === "deletedsecrets") routeDeleted(call, segments, path);
      else throw notFound(path);
    } catch (error) {
      sendError(req, res, error);
    }
  };
}

function parseQuery(text: string): Query {
  const query: Query = {};
  for (const pair of text.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const key = safeDecode(eq === -1 ? pair : pair.slice(0, eq));
    const value = eq === -1 ? "" : safeDecode(pair.slice(eq + 1));
    query[key.toLowerCase() === "$skiptoken" ? "$skiptoken" : key] = value;
  }
  return query;
}

function safeDecode(text: string): string {
  if (!text.includes("%") && !text.includes("+")) return text;
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return text;
  }
}

function decodeName(segment: string): string {
  return segment.includes("%") ? safeDecode(segment) : segment;
}

function notFound(path: string): VaultError {
  return new VaultError(404, "NotFound", `The requested resource ${path} was not found.`);
}

function methodNotAllowed(method: string, path: string, allow: string): VaultError {
  return new VaultError(
    405,
    "MethodNotAllowed",
    `The requested method ${method} is not allowed on ${path}; allowed: ${allow}.`,
    undefined,
    { allow },
  );
}
