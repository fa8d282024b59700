/**
 * The page that shows what is inside the local vault: its access (a one-time link, then a session),
 * the JSON it polls, and its two actions (reveal a value, delete a secret). Nothing here answers
 * another origin: no CORS headers, actions need a same-origin `Origin` and a JSON body, and every
 * answer forbids framing and caching.
 *
 * Why a session is two things: cookies are not isolated by port, so any server on another port of
 * the same host that the developer's browser visits (a dev server, a test app) receives the page's
 * cookie, and a script could replay it. The cookie alone therefore authorizes nothing but loading
 * the (data-free) page; an API call needs the session's key too, which reaches the browser once, in
 * the fragment of the redirect that redeems the link (a fragment is never sent to a server), and is
 * then kept by the page's script in the tab's `sessionStorage`, which only the page's own origin
 * (scheme, host and port) can read. Every API call sends it in {@link pageSessionHeader}. The
 * cookie stays as a second factor (a key copied out of the tab alone opens nothing), named after
 * the port so that two vaults' pages in one browser do not overwrite each other's; a second link in
 * the same browser keeps the cookie and gets its own key. A session ends after
 * {@link pageSessionIdleMs} without an API call from its tab (the page polls once a second while
 * open), measured on the wall clock, not the vault clock that `advanceClock` moves.
 */
import type { Exchange } from "../http/exchange.js";
import type { RequestLog, RequestLogEntry } from "../http/requestLog.js";
import type { LocalRoute, RouteHandler } from "../routes/route.js";
import { VaultError, badParameter } from "../wire/errors.js";
import { pageCss, pageHtml, pageJs, pageSessionHeader, refusedHtml } from "./pageAssets.js";
import { OneTimeTokens, PageSessions, pageSessionIdleMs } from "./pageSessions.js";
import type { DeadLetter } from "../events/deadLetters.js";

/** Path of the page; its assets and API live below it. */
export const pagePath = "/__local/page";
/** The session cookie's name: this prefix and the port the browser reached the vault on. */
const pageCookiePrefix = "kv-page-";
/** Largest body of a page action. */
const maxActionBodyBytes = 16 * 1024;

/**
 * The headers of every answer of the page (errors too): nothing from elsewhere, no framing, no
 * caching, no CORS.
 */
const pageHeaders: Readonly<Record<string, string>> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

/** One version of a secret as the page shows it (never its value). */
export interface PageVersion {
  version: string;
  enabled: boolean;
  /** Unix seconds, as on the wire. */
  created: number;
  updated: number;
  notBefore?: number;
  expiresOn?: number;
  contentType?: string;
  tags?: Record<string, string>;
}

/** A secret as the page shows it: its latest version's properties and every version. */
export interface PageSecret extends Omit<PageVersion, "version"> {
  name: string;
  /** Oldest first. */
  versions: PageVersion[];
}

/** A deleted secret as the page shows it. */
export interface PageDeletedSecret extends Omit<PageVersion, "version"> {
  name: string;
  deletedDate?: number;
  scheduledPurgeDate?: number;
}

/** What the page's script polls (`GET /__local/page/api/state`). */
export interface PageState {
  /** The vault's URL as the browser reached it. */
  vaultUrl: string;
  secrets: PageSecret[];
  deleted: PageDeletedSecret[];
  /** The requests answered after the `after` sequence number the script sent. */
  log: RequestLogEntry[];
  /** The newest events the vault gave up delivering (at most 100), oldest first. */
  deadLetters: PageDeadLetter[];
}

/** What the page reads and changes in the vault. */
export interface PageVaultView {
  /** Active secrets, by name. */
  secrets(): PageSecret[];
  /** Deleted secrets, by name. */
  deleted(): PageDeletedSecret[];
  /** The value of one version (disabled ones too: the page is the owner's view). */
  reveal(name: string, version: string): string;
  /** Deletes a secret as `DELETE /secrets/{name}` does; resolves once durable. */
  delete(name: string): Promise<void>;
}

/** What the page routes need from the vault. */
export interface PageRoutesContext {
  view: PageVaultView;
  log: RequestLog;
  scheme: "http" | "https";
  /** Wall-clock milliseconds, for the sessions' idle time (tests pass their own). */
  nowMs: () => number;
  /** The events the vault gave up delivering, oldest first, when it sends events. */
  deadLetters?: () => readonly DeadLetter[];
}

/** A dead letter as the page shows it (the newest {@link pageDeadLetters}). */
export interface PageDeadLetter {
  /** ISO 8601 of the last attempt (or of the event, when none was made). */
  time: string;
  subscription: string;
  /** The webhook, without its query. */
  endpoint: string;
  eventType: string;
  /** The secret's name. */
  subject: string;
  reason: string;
  attempts: number;
  outcome: string;
}

/** Most dead letters the page shows. */
const pageDeadLetters = 100;

function pageDeadLetter(letter: DeadLetter): PageDeadLetter {
  const event = letter.event;
  return {
    time: letter.lastDeliveryAttemptTime ?? letter.publishTime,
    subscription: letter.subscription,
    endpoint: letter.endpoint,
    eventType: "eventType" in event ? event.eventType : event.type,
    subject: event.subject ?? "",
    reason: letter.deadLetterReason,
    attempts: letter.deliveryAttempts,
    outcome: letter.lastDeliveryOutcome ?? "",
  };
}

/** The page's routes and its access tokens. */
export interface PageRoutes {
  /** The page's routes by path, for the vault's router. */
  routes: Readonly<Record<string, LocalRoute>>;
  /**
   * Mints a one-time access token for the page's URL (`{vaultUrl}/__local/page?token=...`).
   * @returns the token
   */
  mintAccessToken(): string;
}

/**
 * Creates the page's routes.
 * @param context - the vault as the page sees it
 * @returns the routes
 */
export function createPageRoutes(context: PageRoutesContext): PageRoutes {
  const tokens = new OneTimeTokens();
  const sessions = new PageSessions(context.nowMs);

  const sessionCookie = (exchange: Exchange): string | undefined =>
    readCookie(exchange.req.headers.cookie, cookieName(exchange));

  const openPage = (exchange: Exchange): void => {
    const token = exchange.query.token;
    if (token !== undefined) {
      if (!tokens.take(token)) {
        exchange.sendText(403, htmlType, refusedHtml("used"));
        return;
      }
      const session = sessions.open(sessionCookie(exchange));
      const secure = context.scheme === "https" ? "; Secure" : "";
      // Back to the page without the token, so it stays out of history and bookmarks; the key
      // rides in the fragment, which the browser keeps and never sends, for the script to take.
      exchange.sendText(303, "text/plain; charset=utf-8", "", {
        location: `${pagePath}#${session.key}`,
        "set-cookie": `${cookieName(exchange)}=${session.cookie}; Path=${pagePath}; HttpOnly; SameSite=Strict${secure}`,
      });
      return;
    }
    // The page itself holds no data: its cookie is enough to load it.
    if (!sessions.isOpen(sessionCookie(exchange))) {
      exchange.sendText(401, htmlType, refusedHtml("missing"));
      return;
    }
    exchange.sendText(200, htmlType, pageHtml);
  };

  /** An API route: it answers only within a session (the cookie and the tab's key together). */
  const withSession =
    (handler: RouteHandler): RouteHandler =>
    (exchange) => {
      const key = exchange.req.headers[pageSessionHeader];
      if (!sessions.use(sessionCookie(exchange), typeof key === "string" ? key : undefined)) {
        throw new VaultError({
          status: 401,
          code: "Unauthorized",
          message: `No page session: open the page with a new link (keyvault-emulator page-link, or vault.pageUrl()); a session ends after ${pageSessionIdleMs / 60_000} minutes without use.`,
        });
      }
      return handler(exchange);
    };

  const state = (exchange: Exchange): void => {
    const after = Number(exchange.query.after ?? "0");
    const answer: PageState = {
      vaultUrl: `${context.scheme}://${exchange.host?.authority}`,
      secrets: context.view.secrets(),
      deleted: context.view.deleted(),
      log: context.log.after(Number.isSafeInteger(after) && after > 0 ? after : 0),
      deadLetters: (context.deadLetters?.() ?? []).slice(-pageDeadLetters).map(pageDeadLetter),
    };
    exchange.send(200, answer);
  };

  /** A page action: a JSON object from the page's own origin, answered with JSON. */
  const action =
    (run: (body: Record<string, unknown>) => Promise<unknown> | unknown): RouteHandler =>
    async (exchange) => {
      // A cross-site form or fetch cannot pass these: SameSite=Strict keeps the cookie home, a
      // foreign Origin was refused by the router (hosts.isOwnOrigin), a missing one is refused
      // here, and a JSON body (the router refuses any other) needs a preflight no one answers.
      const fetchSite = exchange.req.headers["sec-fetch-site"];
      if (
        exchange.req.headers.origin === undefined ||
        (fetchSite !== undefined && fetchSite !== "same-origin")
      ) {
        throw new VaultError({
          status: 403,
          code: "Forbidden",
          message: "Page actions are accepted from the page's own origin only.",
        });
      }
      const body = await exchange.readJson(maxActionBodyBytes);
      exchange.send(200, await run(body));
    };

  const reveal = (body: Record<string, unknown>): { value: string } => {
    const { name, version } = body;
    if (typeof name !== "string" || typeof version !== "string") {
      throw badParameter("Give the name and version to reveal.");
    }
    return { value: context.view.reveal(name, version) };
  };

  const remove = async (body: Record<string, unknown>): Promise<{ name: string }> => {
    const { name } = body;
    if (typeof name !== "string") throw badParameter("Give the name of the secret to delete.");
    await context.view.delete(name);
    return { name };
  };

  const page = (methods: readonly string[], handle: RouteHandler): LocalRoute => ({
    methods,
    auth: "none",
    headers: pageHeaders,
    handle,
  });
  const asset = (contentType: string, text: string): LocalRoute =>
    page(["GET"], (exchange) => exchange.sendText(200, contentType, text));

  return {
    routes: {
      [pagePath]: page(["GET"], openPage),
      [`${pagePath}/app.js`]: asset("text/javascript; charset=utf-8", pageJs),
      [`${pagePath}/app.css`]: asset("text/css; charset=utf-8", pageCss),
      [`${pagePath}/api/state`]: page(["GET"], withSession(state)),
      [`${pagePath}/api/reveal`]: page(["POST"], withSession(action(reveal))),
      [`${pagePath}/api/delete`]: page(["POST"], withSession(action(remove))),
    },
    mintAccessToken: () => tokens.mint(),
  };
}

const htmlType = "text/html; charset=utf-8";

/** The cookie of the vault as the browser reached it: named after the port (see above). */
function cookieName(exchange: Exchange): string {
  return `${pageCookiePrefix}${exchange.host?.port}`;
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
