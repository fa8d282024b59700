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

/** The page-link route, by path under `/__local/`. */
export const pageLinkRoutes: Record<string, LocalRoute> = {
  "page-link": {
    method: "POST",
    auth: "none",
    handle: (x: Exchange) => mintPageLink(x),
  },
};

function mintPageLink(x: Exchange): void {
  if (!isIdentityHeader(x.req.headers["x-identity-header"], x)) {
    throw new VaultError(
      401,
      "Unauthorized",
      "A new page link needs the vault's identity header in x-identity-header: run keyvault-emulator page-link with IDENTITY_HEADER set as keyvault-emulator printed it.",
    );
  }
  const page = x.vault.page;
  if (page === undefined) {
    throw new VaultError(404, "NotFound", "This vault serves no page.");
  }
  const origin = `${x.vault.scheme}://${(x.host as AcceptedHost).authority}`;
  x.send(
    200,
    { url: `${origin}${pagePath}?token=${page.mintAccessToken()}` },
    { "cache-control": "no-store" },
  );
}
