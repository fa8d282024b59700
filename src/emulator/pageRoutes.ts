/**
 * The page that shows what is inside the local vault: its access (one-time link, then an HttpOnly
 * SameSite=Strict cookie), the JSON it polls, and its two actions (reveal a value, delete a secret).
 * Nothing here answers another origin: no CORS headers, actions need a same-origin `Origin` and a
 * JSON body, and every answer forbids framing and caching.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { VaultError } from "./errors.js";
import { pageCss, pageHtml, pageJs, refusedHtml } from "./pageAssets.js";
import type { RequestLog } from "./requestLog.js";

/** Path of the page; its assets and API live below it. */
export const pagePath = "/__local/page";
/** Name of the session cookie. */
export const pageCookieName = "kv-page";
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
}

/** The page's routes and its access tokens. */
export interface PageRoutes {
  /**
   * Answers a request to the page if the path is one of its own.
   * @param req - the request (Host and Origin already accepted by the listener)
   * @param res - the response
   * @param path - the request path without the query
   * @param query - the decoded query parameters
   * @returns whether the path was the page's
   */
  handle(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    query: Readonly<Record<string, string>>,
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
  const sessions = new BoundedSet();

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

  const hasSession = (req: IncomingMessage): boolean => {
    const session = readCookie(req.headers.cookie, pageCookieName);
    return session !== undefined && sessions.has(session);
  };

  const ownOrigin = (req: IncomingMessage): string => `${ctx.scheme}://${req.headers.host ?? ""}`;

  const openPage = (
    req: IncomingMessage,
    res: ServerResponse,
    query: Readonly<Record<string, string>>,
  ): void => {
    const token = query.token;
    if (token !== undefined) {
      if (!tokens.take(token)) {
        send(res, 403, "text/html; charset=utf-8", refusedHtml("used"));
        return;
      }
      const session = randomBytes(32).toString("base64url");
      sessions.add(session);
      const secure = ctx.scheme === "https" ? "; Secure" : "";
      // Back to the page without the token, so it stays out of history and bookmarks.
      send(res, 303, "text/plain; charset=utf-8", "", {
        location: pagePath,
        "set-cookie": `${pageCookieName}=${session}; Path=${pagePath}; HttpOnly; SameSite=Strict${secure}`,
      });
      return;
    }
    if (!hasSession(req)) {
      send(res, 401, "text/html; charset=utf-8", refusedHtml("missing"));
      return;
    }
    send(res, 200, "text/html; charset=utf-8", pageHtml);
  };

  const state = (
    req: IncomingMessage,
    res: ServerResponse,
    query: Readonly<Record<string, string>>,
  ): void => {
    const after = Number(query.after ?? "0");
    sendJson(res, 200, {
      vaultUrl: ownOrigin(req),
      secrets: ctx.view.secrets(),
      deleted: ctx.view.deleted(),
      log: ctx.log.after(Number.isSafeInteger(after) && after > 0 ? after : 0),
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
      const token = randomBytes(32).toString("base64url");
      tokens.add(token);
      return token;
    },
    handle: (req, res, path, query) => {
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
          if (allow("GET")) openPage(req, res, query);
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
      if (!hasSession(req)) {
        jsonError(
          res,
          401,
          "Unauthorized",
          "Open the page with the link keyvault-emulator printed.",
        );
        return true;
      }
      switch (route) {
        case "/api/state":
          if (allow("GET")) state(req, res, query);
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

/** Random tokens, compared in constant time, at most {@link maxTokens} kept. */
class BoundedSet {
  private readonly items: Buffer[] = [];

  add(token: string): void {
    this.items.push(Buffer.from(token));
    if (this.items.length > maxTokens) this.items.shift();
  }

  has(token: string): boolean {
    return this.indexOf(token) !== -1;
  }

  /** Removes the token; returns whether it was there. */
  take(token: string): boolean {
    const index = this.indexOf(token);
    if (index === -1) return false;
    this.items.splice(index, 1);
    return true;
  }

  private indexOf(token: string): number {
    const candidate = Buffer.from(token);
    return this.items.findIndex(
      (item) => item.length === candidate.length && timingSafeEqual(item, candidate),
    );
  }
}
