/**
 * The vault's request listener and its one router: parses a request, refuses it unless its `Host`
 * names the vault and no other origin sent it, then routes it. The vault's own routes (health, the
 * page and its new links, test controls, events, identity; one table by path, routes/route.ts
 * their shape) get their method checked, their authentication and their body type; Key Vault's API
 * gets faults, authentication, its api-version and body type checked, then the route module for
 * its collection (routes/).
 * Every error, whatever the route, is a VaultError answered in the one error shape.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { serviceVersions } from "../../api/wireTypes.js";
import { challengeResource } from "./auth.js";
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
import { healthRoutes } from "../routes/health.js";
import type { AcceptedHost } from "./hosts.js";
import type { RenderContext } from "../wire/render.js";
import { controlRoutes } from "../routes/controls.js";
import { eventRoutes } from "../routes/events.js";
import { handleDeletedSecrets } from "../routes/deletedSecrets.js";
import { identityRoutes } from "../routes/identity.js";
import { pageLinkRoutes } from "../routes/pageLink.js";
import { safeDecode } from "../routes/names.js";
import { localSegment, type LocalRoute, type RouteHandler } from "../routes/route.js";
import { handleSecrets } from "../routes/secrets.js";

/** The newest api-version, named in the "not recognized" message. */
const latestApiVersion = serviceVersions[serviceVersions.length - 1];
const acceptedApiVersions = new Set<string>([...serviceVersions, "2016-10-01"]);
/** Preview versions the service also accepts (`7.6-preview.2`, `2026-03-01-preview`). */
const previewApiVersion = /^(7\.\d+-preview(\.\d+)?|20\d\d-\d\d-\d\d-preview)$/;

/** The Key Vault API, by first path segment (lower case). */
const serviceRoutes: Record<string, RouteHandler> = {
  secrets: handleSecrets,
  deletedsecrets: handleDeletedSecrets,
};

/**
 * Creates the `request` listener of the vault's HTTP(S) server.
 * @param vault - the vault
 * @returns the listener
 */
export function createRequestListener(
  vault: VaultServerContext,
): (req: IncomingMessage, res: ServerResponse) => void {
  const localRoutes: Readonly<Record<string, LocalRoute>> = {
    ...healthRoutes,
    ...controlRoutes,
    ...eventRoutes,
    ...identityRoutes,
    ...pageLinkRoutes,
    ...vault.page?.routes,
  };
  return (req, res) => {
    const exchange = parseRequest(req, res, vault);
    let answered: Promise<void> | void;
    try {
      answered = route(exchange, localRoutes);
    } catch (error) {
      exchange.fail(error);
      return;
    }
    if (answered !== undefined) answered.catch((error: unknown) => exchange.fail(error));
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

function route(
  exchange: Exchange,
  localRoutes: Readonly<Record<string, LocalRoute>>,
): Promise<void> | void {
  const { vault, req } = exchange;
  // Before anything is read or changed: the request must name this vault and come from no web
  // page of another origin (DNS rebinding, cross-site "simple" requests).
  const host = vault.hosts.accept(req.headers.host);
  if (host === undefined) throw hostNotAllowed(vault.hosts.allowed);
  exchange.host = host;
  const origin = req.headers.origin;
  if (origin !== undefined && !vault.hosts.isOwnOrigin(origin, host)) throw originNotAllowed();
  const site = req.headers["sec-fetch-site"];
  if (site === "cross-site" || site === "same-site") throw originNotAllowed();

  const routePath = `/${exchange.segments.join("/")}`;
  const local = Object.hasOwn(localRoutes, routePath) ? localRoutes[routePath] : undefined;
  if (local !== undefined) return answerLocal(exchange, local);
  if (exchange.segments[0] === localSegment) throw resourceNotFound(exchange.path);
  return answerService(exchange);
}

/** A route of the vault's own: no faults, no api-version; its own headers, if it has them. */
function answerLocal(exchange: Exchange, local: LocalRoute): Promise<void> | void {
  // Set first, so that the route's errors (its 405 too) carry its headers.
  exchange.localHeaders = local.headers;
  if (!local.methods.includes(exchange.method)) {
    throw methodNotAllowed(exchange.method, exchange.path, local.methods.join(", "));
  }
  exchange.render = renderContext(exchange, "");
  if (local.auth !== "none") authenticate(exchange, local.auth);
  checkBodyType(exchange);
  return local.handle(exchange);
}

/** Key Vault's API: faults, authentication, api-version, body type, then the collection's route. */
function answerService(exchange: Exchange): Promise<void> | void {
  const { faults } = exchange.vault;
  if (faults.active) {
    const decision = faults.decide(Date.now());
    if (decision.kind === "drop") {
      exchange.req.socket.destroy();
      return;
    }
    if (decision.kind === "throttle") throw throttled(decision.retryAfterSeconds);
    if (decision.kind === "error") throw injectedFault(decision.status);
  }

  authenticate(exchange);

  const apiVersion = exchange.query["api-version"];
  if (apiVersion === undefined || apiVersion === "") throw apiVersionMissing(latestApiVersion);
  if (!acceptedApiVersions.has(apiVersion) && !previewApiVersion.test(apiVersion)) {
    throw apiVersionUnknown(apiVersion, latestApiVersion);
  }
  exchange.apiVersion = apiVersion;
  exchange.render = renderContext(exchange, apiVersion);
  checkBodyType(exchange);

  const collection = exchange.segments[0].toLowerCase();
  const handler = Object.hasOwn(serviceRoutes, collection) ? serviceRoutes[collection] : undefined;
  if (handler === undefined) throw resourceNotFound(exchange.path);
  return handler(exchange);
}

/** Checks the request's token: as the vault's mode says, or one the vault issued (`"issued"`). */
function authenticate(exchange: Exchange, tokens: "vault" | "issued" = "vault"): void {
  const { auth, scheme } = exchange.vault;
  const { authorization } = exchange.req.headers;
  const resource = challengeResource(exchange.host as AcceptedHost, scheme);
  if (tokens === "issued") auth.checkIssued(authorization, resource);
  else auth.check(authorization, resource);
  exchange.authorized = true;
}

/** Methods that never change state; every other method may carry only a JSON body. */
const safeMethods = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Refuses a state-changing request whose body is not JSON: a browser's "simple" request
 * (`text/plain`, form data, or a typeless body) never reaches a route.
 */
function checkBodyType(exchange: Exchange): void {
  if (safeMethods.has(exchange.method)) return;
  const type = exchange.req.headers["content-type"];
  if (type === undefined) {
    const length = exchange.req.headers["content-length"];
    const hasBody =
      exchange.req.headers["transfer-encoding"] !== undefined ||
      (length !== undefined && length !== "0");
    if (hasBody) throw unsupportedMediaType();
    return;
  }
  const mediaType = type.split(";")[0].trim().toLowerCase();
  if (mediaType !== "application/json") throw unsupportedMediaType();
}

function renderContext(exchange: Exchange, apiVersion: string): RenderContext {
  return {
    baseUrl: `${exchange.vault.scheme}://${(exchange.host as AcceptedHost).authority}`,
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
