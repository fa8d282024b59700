/**
 * The vault's request listener: parses a request, applies faults, authenticates it, checks its
 * api-version, and hands it to the route module for its path. Route modules live in `routes/`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { serviceVersions } from "../api/wireTypes.js";
import type { VaultServerContext } from "./context.js";
import {
  apiVersionMissing,
  apiVersionUnknown,
  injectedFault,
  methodNotAllowed,
  resourceNotFound,
  throttled,
} from "./errors.js";
import { Exchange, type Query } from "./exchange.js";
import type { RenderContext } from "./render.js";
import { controlRoutes } from "./routes/controls.js";
import { handleDeletedSecrets } from "./routes/deletedSecrets.js";
import { identityRoutes } from "./routes/identity.js";
import { safeDecode } from "./routes/names.js";
import type { LocalRoute, RouteHandler } from "./routes/route.js";
import { handleSecrets } from "./routes/secrets.js";

/** The newest api-version, named in the "not recognized" message. */
const latestApiVersion = serviceVersions[serviceVersions.length - 1];
const acceptedApiVersions = new Set<string>([...serviceVersions, "2016-10-01"]);

/** First path segment of the local-only routes (test controls, managed identity). */
const localSegment = "__local";

/** The Key Vault API, by first path segment (lower case). */
const serviceRoutes: Record<string, RouteHandler> = {
  secrets: handleSecrets,
  deletedsecrets: handleDeletedSecrets,
};

/** The local-only routes, by path under `/__local/`. */
const localRoutes: Record<string, LocalRoute> = { ...controlRoutes, ...identityRoutes };

/**
 * Creates the `request` listener of the vault's HTTP(S) server.
 * @param vault - the vault
 * @returns the listener
 */
export function createRequestListener(
  vault: VaultServerContext,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const x = parseRequest(req, res, vault);
    let answered: Promise<void> | void;
    try {
      answered = dispatch(x);
    } catch (error) {
      x.fail(error);
      return;
    }
    if (answered !== undefined) answered.catch((error: unknown) => x.fail(error));
  };
}

function parseRequest(
  req: IncomingMessage,
  res: ServerResponse,
  vault: VaultServerContext,
): Exchange {
  const url = req.url ?? "/";
  const queryStart = url.indexOf("?");
  let path = queryStart === -1 ? url : url.slice(0, queryStart);
  // Clients in the wild send `//secrets/...`.
  while (path.startsWith("//")) path = path.slice(1);
  const query = parseQuery(queryStart === -1 ? "" : url.slice(queryStart + 1));
  const segments = path.slice(1).split("/");
  // A trailing slash names the same resource (`/secrets/{name}/` = latest version).
  if (segments.length > 1 && segments[segments.length - 1] === "") segments.pop();
  return new Exchange(req, res, vault, path, segments, query);
}

function dispatch(x: Exchange): Promise<void> | void {
  const { vault } = x;
  if (x.segments[0] === localSegment) {
    const name = x.segments.slice(1).join("/");
    const route = Object.hasOwn(localRoutes, name) ? localRoutes[name] : undefined;
    if (route === undefined) throw resourceNotFound(x.path);
    if (x.method !== route.method) throw methodNotAllowed(x.method, x.path, route.method);
    x.render = renderContext(x, "");
    if (route.auth === "vault") vault.auth.check(x.req.headers.authorization);
    return route.handle(x);
  }

  if (vault.faults.active) {
    const decision = vault.faults.decide(Date.now());
    if (decision.kind === "drop") {
      x.req.socket.destroy();
      return;
    }
    if (decision.kind === "throttle") throw throttled(decision.retryAfterSeconds);
    if (decision.kind === "error") throw injectedFault(decision.status);
  }

  vault.auth.check(x.req.headers.authorization);

  const apiVersion = x.query["api-version"];
  if (apiVersion === undefined || apiVersion === "") throw apiVersionMissing(latestApiVersion);
  if (!acceptedApiVersions.has(apiVersion)) {
    throw apiVersionUnknown(apiVersion, latestApiVersion);
  }
  x.apiVersion = apiVersion;
  x.render = renderContext(x, apiVersion);

  const collection = x.segments[0].toLowerCase();
  const route = Object.hasOwn(serviceRoutes, collection) ? serviceRoutes[collection] : undefined;
  if (route === undefined) throw resourceNotFound(x.path);
  return route(x);
}

function renderContext(x: Exchange, apiVersion: string): RenderContext {
  return {
    baseUrl: `${x.vault.scheme}://${x.req.headers.host ?? x.vault.defaultHost}`,
    previousVersion: apiVersion.startsWith("20") && apiVersion >= "2025-07-01",
    recoverableDays: apiVersion !== "7.0" && apiVersion !== "2016-10-01",
  };
}

function parseQuery(text: string): Query {
  // No prototype: a `__proto__` parameter is a parameter like any other.
  const query: Query = Object.create(null) as Query;
  for (const pair of text.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const key = safeDecode(eq === -1 ? pair : pair.slice(0, eq));
    const value = eq === -1 ? "" : safeDecode(pair.slice(eq + 1));
    query[key.toLowerCase() === "$skiptoken" ? "$skiptoken" : key] = value;
  }
  return query;
}
