/**
 * The managed identity endpoint (App Service protocol) under `/__local/identity/token`: issues
 * tokens to callers that present the vault's identity header.
 */
import { createHash, randomUUID, timingSafeEqual } from "node:crypto";
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
  const header = exchange.req.headers["x-identity-header"];
  if (header === undefined) {
    identityError(
      exchange,
      400,
      "invalid_request",
      "The x-identity-header request header is missing: send the IDENTITY_HEADER that keyvault-emulator printed (vault.identityHeader). ManagedIdentityCredential and DefaultAzureCredential send it when IDENTITY_ENDPOINT and IDENTITY_HEADER are set.",
    );
    return;
  }
  if (!isIdentityHeader(header, exchange)) {
    identityError(
      exchange,
      401,
      "unauthorized_client",
      "The x-identity-header value is not valid for this vault: set IDENTITY_HEADER to the value keyvault-emulator printed (vault.identityHeader). A vault started without --location or KEYVAULT_EMULATOR_IDENTITY_HEADER gets a new one at every start.",
    );
    return;
  }
  if (exchange.query["api-version"] !== "2019-08-01") {
    identityError(
      exchange,
      400,
      "invalid_request",
      "The api-version must be 2019-08-01 (the App Service managed identity protocol).",
    );
    return;
  }
  const resource = exchange.query.resource;
  if (resource === undefined || resource === "") {
    identityError(
      exchange,
      400,
      "invalid_request",
      "The resource query parameter is missing: ask for resource=https://vault.azure.net.",
    );
    return;
  }
  const token = exchange.vault.auth.issueForIdentityEndpoint(resourceOfScope(resource));
  exchange.send(200, {
    access_token: token.token,
    expires_on: String(Math.floor(token.expiresOnTimestamp / 1000)),
    resource,
    token_type: "Bearer",
    client_id: localClientId,
  });
}

/**
 * An error of the identity endpoint, in both shapes clients read: OAuth's (`error`,
 * `error_description`) and App Service's (`statusCode`, `message`, `correlationId`), which other
 * languages' identity libraries report. Never the presented header.
 */
function identityError(exchange: Exchange, status: number, error: string, message: string): void {
  exchange.send(status, {
    error,
    error_description: message,
    statusCode: status,
    message,
    correlationId: randomUUID(),
  });
}

/**
 * Whether a presented `x-identity-header` is the vault's, compared in constant time (hashes of
 * equal length).
 * @param presented - the header as received
 * @param exchange - the request
 * @returns true for the vault's header
 */
export function isIdentityHeader(
  presented: string | string[] | undefined,
  exchange: Exchange,
): boolean {
  if (typeof presented !== "string") return false;
  const digest = (text: string): Buffer => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(presented), digest(exchange.vault.identityHeader));
}
