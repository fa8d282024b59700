/**
 * The managed identity endpoint (App Service protocol) under `/__local/identity/token`: issues
 * tokens to callers that present the vault's identity header.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { localClientId, resourceOfScope } from "../http/auth.js";
import type { Exchange } from "../http/exchange.js";
import type { LocalRoute } from "./route.js";

/** The identity route, by path. */
export const identityRoutes: Record<string, LocalRoute> = {
  "/__local/identity/token": {
    methods: ["GET"],
    auth: "none",
    handle: (exchange: Exchange) => issueToken(exchange),
  },
};

function issueToken(exchange: Exchange): void {
  // OAuth-shaped errors, as the managed identity endpoint answers.
  const oauthError = (status: number, error: string, description: string): void =>
    exchange.send(status, { error, error_description: description });
  const header = exchange.req.headers["x-identity-header"];
  if (header === undefined) {
    oauthError(400, "invalid_request", "The x-identity-header request header is missing.");
    return;
  }
  if (!sameSecret(header, exchange.vault.identityHeader)) {
    oauthError(401, "unauthorized_client", "The x-identity-header value is not valid.");
    return;
  }
  if (exchange.query["api-version"] !== "2019-08-01") {
    oauthError(400, "invalid_request", "The api-version must be 2019-08-01.");
    return;
  }
  const resource = exchange.query.resource;
  if (resource === undefined || resource === "") {
    oauthError(400, "invalid_request", "The resource query parameter is missing.");
    return;
  }
  const token = exchange.vault.auth.issue(resourceOfScope(resource));
  exchange.send(200, {
    access_token: token.token,
    expires_on: String(Math.floor(token.expiresOnTimestamp / 1000)),
    resource,
    token_type: "Bearer",
    client_id: localClientId,
  });
}

/** Compares a presented secret with the expected one in constant time (hashes of equal length). */
function sameSecret(presented: string | string[], expected: string): boolean {
  if (typeof presented !== "string") return false;
  const digest = (text: string): Buffer => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}
