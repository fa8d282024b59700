/**
 * `POST /__local/page-link`: a new one-time link to the page, for whoever holds the vault's
 * identity header (`keyvault-emulator page-link`). That header already gets tokens from the
 * identity endpoint, which read every secret; the link shows no more. A browser cannot send the
 * header to another origin without a preflight that the vault never answers.
 */
import { pagePath } from "../page/pageRoutes.js";
import type { Exchange } from "../http/exchange.js";
import type { AcceptedHost } from "../http/hosts.js";
import { VaultError } from "../wire/errors.js";
import { isIdentityHeader } from "./identity.js";
import type { LocalRoute } from "./route.js";

/** The page-link route, by path. */
export const pageLinkRoutes: Record<string, LocalRoute> = {
  "/__local/page-link": {
    methods: ["POST"],
    auth: "none",
    handle: (exchange: Exchange) => mintPageLink(exchange),
  },
};

function mintPageLink(exchange: Exchange): void {
  if (!isIdentityHeader(exchange.req.headers["x-identity-header"], exchange)) {
    throw new VaultError({
      status: 401,
      code: "Unauthorized",
      message:
        "A new page link needs the vault's identity header in x-identity-header: run keyvault-emulator page-link with IDENTITY_HEADER set as keyvault-emulator printed it.",
    });
  }
  const page = exchange.vault.page;
  if (page === undefined) {
    throw new VaultError({ status: 404, code: "NotFound", message: "This vault serves no page." });
  }
  const origin = `${exchange.vault.scheme}://${(exchange.host as AcceptedHost).authority}`;
  exchange.send(
    200,
    { url: `${origin}${pagePath}?token=${page.mintAccessToken()}` },
    { "cache-control": "no-store" },
  );
}
