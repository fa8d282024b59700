/**
 * The vault's request listener: parses a request, refuses it unless its `Host` names the vault and
 * no other origin sent it, applies faults, authenticates it, checks its api-version and body type,
 * and hands it to the route module for its path. Route modules live in `routes/`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { serviceVersions } from "../../api/wireTypes.js";
import type { VaultServerContext } from "../context.js";
import {
  apiVersionMissing,
  apiVersionUnknown,
  hostNotAllowed,
  injectedFault,
  methodNotAllowed,
  originNotAllowed,
  resourceNotFound,
  throttled,
  unsupportedMediaType,
} from "../wire/errors.js";
import { Exchange, type Query } from "./exchange.js";
import { answerHealth, healthPath } from "../routes/health.js";
import type { AcceptedHost } from "./hosts.js";
import type { RenderContext } from "../wire/render.js";
import { controlRoutes } from "../routes/controls.js";
import { eventRoutes } from "../routes/events.js";
import { handleDeletedSecrets } from "../routes/deletedSecrets.js";
import { identityRoutes } from "../routes/identity.js";
import { safeDecode } from "../routes/names.js";
import type { LocalRoute, RouteHandler } from "../routes/route.js";
import { handleSecrets } from "../routes/secrets.js";

/** The newest api-version, named in the "not recognized" message. */
const latestApiVersion = serviceVersions[serviceVersions.length - 1];
const acceptedApiVersions = new Set<string>([...serviceVersions, "2016-10-01"]);
/** Preview versions the service also accepts (`7.6-preview.2`, `2026-03-01-preview`). */
const previewApiVersion = /^(7\.\d+-preview(\.\d+)?|20\d\d-\d\d-\d\d-preview)$/;

/** First path segment of the local-only routes (test controls, managed identity). */
const localSegment = "__local";

/** The Key Vault API, by first path segment (lower case). */
const serviceRoutes: Record<string, RouteHandler> = {
  secrets: handleSecrets,
  deletedsecrets: handleDeletedSecrets,
};

/** The local-only routes, by path under `/__local/`. */
const localRoutes: Record<string, LocalRoute> = {
  ...controlRoutes,
  ...eventRoutes,
  ...identityRoutes,
};

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
  // Before anything is read or changed: the request must name this vault and come from no web
  // page of another origin (DNS rebinding, cross-site "simple" requests).
  const host = vault.hosts.accept(x.req.headers.host);
  if (host === undefined) throw hostNotAllowed(vault.hosts.allowed);
  x.host = host;
  const origin = x.req.headers.origin;
  if (origin !== undefined && !vault.hosts.isOwnOrigin(origin, host)) throw originNotAllowed();
  const site = x.req.headers["sec-fetch-site"];
  if (site === "cross-site" || site === "same-site") throw originNotAllowed();

  // Tools of the local vault that are not Key Vault's API: the health route (no token, no state)
  // and the page, which has its own access (a one-time link, then its session).
  if (x.path === healthPath) return answerHealth(x.req, x.res);
  if (vault.page?.handle(x.req, x.res, x.path, x.query, host)) return;
  if (x.segments[0] === localSegment) {
    const name = x.segments.slice(1).join("/");
    const route = Object.hasOwn(localRoutes, name) ? localRoutes[name] : undefined;
    if (route === undefined) throw resourceNotFound(x.path);
    if (x.method !== route.method) throw methodNotAllowed(x.method, x.path, route.method);
    x.render = renderContext(x, "");
    if (route.auth !== "none") authenticate(x, route.auth);
    checkBodyType(x);
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

  authenticate(x);

  const apiVersion = x.query["api-version"];
  if (apiVersion === undefined || apiVersion === "") throw apiVersionMissing(latestApiVersion);
  if (!acceptedApiVersions.has(apiVersion) && !previewApiVersion.test(apiVersion)) {
    throw apiVersionUnknown(apiVersion, latestApiVersion);
  }
  x.apiVersion = apiVersion;
  x.render = renderContext(x, apiVersion);
  checkBodyType(x);

  const collection = x.segments[0].toLowerCase();
  const route = Object.hasOwn(serviceRoutes, collection) ? serviceRoutes[collection] : undefined;
  if (route === undefined) throw resourceNotFound(x.path);
  return route(x);
}

function authenticate(x: Exchange, tokens: "vault" | "issued" = "vault"): void {
  if (tokens === "issued") x.vault.auth.checkIssued(x.req.headers.authorization);
  else x.vault.auth.check(x.req.headers.authorization);
  x.authorized = true;
}

/** Methods that never change state; every other method may carry only a JSON body. */
const safeMethods = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Refuses a state-changing request whose body is not JSON: a browser's "simple" request
 * (`text/plain`, form data, or a typeless body) never reaches a route.
 */
function checkBodyType(x: Exchange): void {
  if (safeMethods.has(x.method)) return;
  const type = x.req.headers["content-type"];
  if (type === undefined) {
    const length = x.req.headers["content-length"];
    const hasBody =
      x.req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
    if (hasBody) throw unsupportedMediaType();
    return;
  }
  const mediaType = type.split(";")[0].trim().toLowerCase();
  if (mediaType !== "application/json") throw unsupportedMediaType();
}

function renderContext(x: Exchange, apiVersion: string): RenderContext {
  return {
    baseUrl: `${x.vault.scheme}://${(x.host as AcceptedHost).authority}`,
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
