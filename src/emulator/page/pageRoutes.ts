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
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { VaultError } from "../wire/errors.js";
import { pageCss, pageHtml, pageJs, pageSessionHeader, refusedHtml } from "./pageAssets.js";
import type { AcceptedHost } from "../http/hosts.js";
import type { RequestLog } from "../http/requestLog.js";
import type { DeadLetter } from "../events/deadLetters.js";

/** Path of the page; its assets and API live below it. */
export const pagePath = "/__local/page";
/** The session cookie's name: this prefix and the port the browser reached the vault on. */
const pageCookiePrefix = "kv-page-";
/** A session ends after this long without an API call from its page: 30 minutes. */
export const pageSessionIdleMs = 30 * 60_000;
/** Largest body of a page action. */
const maxActionBodyBytes = 16 * 1024;
/** Outstanding one-time tokens and open sessions kept; the oldest go first. */
const maxTokens = 32;

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
  /**
   * Answers a request to the page if the path is one of its own.
   * @param req - the request (Host and Origin already accepted by the listener)
   * @param res - the response
   * @param path - the request path without the query
   * @param query - the decoded query parameters
   * @param host - the request's accepted `Host`
   * @returns whether the path was the page's
   */
  handle(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    query: Readonly<Record<string, string>>,
    host: AcceptedHost,
  ): boolean;
  /**
   * Mints a one-time access token for the page's URL (`{vaultUrl}/__local/page?token=...`).
   * @returns the token
   */
  mintAccessToken(): string;
}

/**
 * Creates the page's routes.
 * @param ctx - the vault
 * @returns the routes
 */
export function createPageRoutes(ctx: PageRoutesContext): PageRoutes {
  const tokens = new BoundedSet();
  const sessions = new PageSessions(ctx.nowMs);

  const securityHeaders = (): Record<string, string> => ({
    "content-security-policy":
      "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
  });

  const send = (
    res: ServerResponse,
    status: number,
    contentType: string,
    body: string,
    extra: Record<string, string> = {},
  ): void => {
    res.writeHead(status, {
      ...securityHeaders(),
      "content-type": contentType,
      "content-length": Buffer.byteLength(body),
      ...extra,
    });
    res.end(body);
  };
  const sendJson = (res: ServerResponse, status: number, body: unknown): void =>
    send(res, status, "application/json; charset=utf-8", JSON.stringify(body));
  const jsonError = (res: ServerResponse, status: number, code: string, message: string): void =>
    sendJson(res, status, { error: { code, message } });

  const sessionCookie = (req: IncomingMessage, host: AcceptedHost): string | undefined =>
    readCookie(req.headers.cookie, `${pageCookiePrefix}${host.port}`);

  const openPage = (
    req: IncomingMessage,
    res: ServerResponse,
    query: Readonly<Record<string, string>>,
    host: AcceptedHost,
  ): void => {
    const token = query.token;
    if (token !== undefined) {
      if (!tokens.take(token)) {
        send(res, 403, "text/html; charset=utf-8", refusedHtml("used"));
        return;
      }
      const session = sessions.open(sessionCookie(req, host));
      const secure = ctx.scheme === "https" ? "; Secure" : "";
      // Back to the page without the token, so it stays out of history and bookmarks; the key
      // rides in the fragment, which the browser keeps and never sends, for the script to take.
      send(res, 303, "text/plain; charset=utf-8", "", {
        location: `${pagePath}#${session.key}`,
        "set-cookie": `${pageCookiePrefix}${host.port}=${session.cookie}; Path=${pagePath}; HttpOnly; SameSite=Strict${secure}`,
      });
      return;
    }
    // The page itself holds no data: its cookie is enough to load it.
    if (!sessions.isOpen(sessionCookie(req, host))) {
      send(res, 401, "text/html; charset=utf-8", refusedHtml("missing"));
      return;
    }
    send(res, 200, "text/html; charset=utf-8", pageHtml);
  };

  const state = (
    res: ServerResponse,
    query: Readonly<Record<string, string>>,
    host: AcceptedHost,
  ): void => {
    const after = Number(query.after ?? "0");
    sendJson(res, 200, {
      vaultUrl: `${ctx.scheme}://${host.authority}`,
      secrets: ctx.view.secrets(),
      deleted: ctx.view.deleted(),
      log: ctx.log.after(Number.isSafeInteger(after) && after > 0 ? after : 0),
      deadLetters: (ctx.deadLetters?.() ?? []).slice(-pageDeadLetters).map(pageDeadLetter),
    });
  };

  const action = (
    req: IncomingMessage,
    res: ServerResponse,
    run: (body: Record<string, unknown>) => Promise<unknown> | unknown,
  ): void => {
    // A cross-site form or fetch cannot pass these: SameSite=Strict keeps the cookie home, a
    // foreign Origin was refused by the listener (hosts.isOwnOrigin), a missing one is refused
    // here, and a JSON body needs a preflight no one answers.
    const fetchSite = req.headers["sec-fetch-site"];
    if (
      req.headers.origin === undefined ||
      (fetchSite !== undefined && fetchSite !== "same-origin")
    ) {
      jsonError(
        res,
        403,
        "Forbidden",
        "Page actions are accepted from the page's own origin only.",
      );
      return;
    }
    if (!/^application\/json\s*(;|$)/i.test(req.headers["content-type"] ?? "")) {
      jsonError(res, 415, "UnsupportedMediaType", "Page actions take a JSON body.");
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxActionBodyBytes) chunks.push(chunk);
    });
    req.on("error", () => res.destroy());
    req.on("end", () => {
      if (size > maxActionBodyBytes) {
        jsonError(res, 413, "BadParameter", "The request body is too large.");
        return;
      }
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        body = undefined;
      }
      if (typeof body !== "object" || body === null || Array.isArray(body)) {
        jsonError(res, 400, "BadParameter", "The request body must be a JSON object.");
        return;
      }
      Promise.resolve()
        .then(() => run(body as Record<string, unknown>))
        .then(
          (answer) => sendJson(res, 200, answer),
          (error: unknown) => {
            if (error instanceof VaultError) {
              jsonError(res, error.status, error.code, error.message);
            } else {
              jsonError(res, 500, "InternalServerError", "The local vault failed the action.");
            }
          },
        );
    });
  };

  const reveal = (body: Record<string, unknown>): { value: string } => {
    const { name, version } = body;
    if (typeof name !== "string" || typeof version !== "string") {
      throw new VaultError(400, "BadParameter", "Give the name and version to reveal.");
    }
    return { value: ctx.view.reveal(name, version) };
  };

  const remove = async (body: Record<string, unknown>): Promise<{ name: string }> => {
    const { name } = body;
    if (typeof name !== "string") {
      throw new VaultError(400, "BadParameter", "Give the name of the secret to delete.");
    }
    await ctx.view.delete(name);
    return { name };
  };

  return {
    mintAccessToken: () => {
      const token = newToken();
      tokens.add(token);
      return token;
    },
    handle: (req, res, path, query, host) => {
      if (path !== pagePath && !path.startsWith(`${pagePath}/`)) return false;
      const method = req.method ?? "GET";
      const route = path.slice(pagePath.length);
      const allow = (expected: string): boolean => {
        if (method === expected) return true;
        jsonError(res, 405, "MethodNotAllowed", `${method} is not allowed on ${path}.`);
        return false;
      };
      switch (route) {
        case "":
          if (allow("GET")) openPage(req, res, query, host);
          return true;
        case "/app.js":
          if (allow("GET")) send(res, 200, "text/javascript; charset=utf-8", pageJs);
          return true;
        case "/app.css":
          if (allow("GET")) send(res, 200, "text/css; charset=utf-8", pageCss);
          return true;
        default:
          break;
      }
      const key = req.headers[pageSessionHeader];
      if (!sessions.use(sessionCookie(req, host), typeof key === "string" ? key : undefined)) {
        jsonError(
          res,
          401,
          "Unauthorized",
          `No page session: open the page with a new link from keyvault-emulator (or vault.pageUrl()); a session ends after ${pageSessionIdleMs / 60_000} minutes without use.`,
        );
        return true;
      }
      switch (route) {
        case "/api/state":
          if (allow("GET")) state(res, query, host);
          return true;
        case "/api/reveal":
          if (allow("POST")) action(req, res, reveal);
          return true;
        case "/api/delete":
          if (allow("POST")) action(req, res, remove);
          return true;
        default:
          jsonError(res, 404, "NotFound", `The requested resource ${path} was not found.`);
          return true;
      }
    },
  };
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Whether a random token equals the one held, compared in constant time. */
function sameToken(held: Buffer, given: string): boolean {
  const candidate = Buffer.from(given);
  return held.length === candidate.length && timingSafeEqual(held, candidate);
}

function newToken(): string {
  return randomBytes(32).toString("base64url");
}

/** Random tokens, at most {@link maxTokens} kept. */
class BoundedSet {
  private readonly items: Buffer[] = [];

  add(token: string): void {
    this.items.push(Buffer.from(token));
    if (this.items.length > maxTokens) this.items.shift();
  }

  /** Removes the token; returns whether it was there. */
  take(token: string): boolean {
    const index = this.items.findIndex((item) => sameToken(item, token));
    if (index === -1) return false;
    this.items.splice(index, 1);
    return true;
  }
}

/** One page session (one tab): the browser's cookie, the tab's key, its last use. */
interface PageSession {
  cookie: Buffer;
  key: Buffer;
  lastUsedMs: number;
}

/** Open page sessions, at most {@link maxTokens}; the oldest go first, idle ones expire. */
class PageSessions {
  private sessions: PageSession[] = [];

  constructor(private readonly nowMs: () => number) {}

  /**
   * Opens a session. A browser that already holds an open session's cookie keeps it (the new tab
   * gets its own key), so a second link does not end the first tab's session.
   * @param cookie - the cookie the request carried, if any
   * @returns the session's cookie and key
   */
  open(cookie: string | undefined): { cookie: string; key: string } {
    const opened = {
      cookie: this.isOpen(cookie) ? (cookie as string) : newToken(),
      key: newToken(),
    };
    this.sessions.push({
      cookie: Buffer.from(opened.cookie),
      key: Buffer.from(opened.key),
      lastUsedMs: this.nowMs(),
    });
    if (this.sessions.length > maxTokens) this.sessions.shift();
    return opened;
  }

  /** Whether the cookie belongs to an open session (without using it). */
  isOpen(cookie: string | undefined): boolean {
    return cookie !== undefined && this.live().some((s) => sameToken(s.cookie, cookie));
  }

  /** Whether cookie and key belong to the same open session; if so, it is used now. */
  use(cookie: string | undefined, key: string | undefined): boolean {
    if (cookie === undefined || key === undefined) return false;
    const session = this.live().find((s) => sameToken(s.cookie, cookie) && sameToken(s.key, key));
    if (session === undefined) return false;
    session.lastUsedMs = this.nowMs();
    return true;
  }

  /** The sessions used within the idle time; the others are dropped. */
  private live(): PageSession[] {
    const now = this.nowMs();
    this.sessions = this.sessions.filter((s) => now - s.lastUsedMs < pageSessionIdleMs);
    return this.sessions;
  }
}
