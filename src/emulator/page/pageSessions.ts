/**
 * The page's access: one-time link tokens and the sessions they open. Each session is a cookie (the
 * browser's) and a key (the tab's); see pageRoutes.ts for why it takes both. Tokens and keys are
 * random and compared in constant time; at most {@link maxPageTokens} of each are kept.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";

/** A session ends after this long without an API call from its page: 30 minutes. */
export const pageSessionIdleMs = 30 * 60_000;
/** Outstanding one-time tokens and open sessions kept; the oldest go first. */
export const maxPageTokens = 32;

/**
 * A new random token (32 bytes, base64url: 43 characters).
 * @returns the token
 */
export function newPageToken(): string {
  return randomBytes(32).toString("base64url");
}

/** Whether a random token equals the one held, compared in constant time. */
function sameToken(held: Buffer, given: string): boolean {
  const candidate = Buffer.from(given);
  return held.length === candidate.length && timingSafeEqual(held, candidate);
}

/** One-time tokens of page links, at most {@link maxPageTokens} kept. */
export class OneTimeTokens {
  private readonly items: Buffer[] = [];

  /**
   * Mints a token and keeps it until it is taken (or pushed out by newer ones).
   * @returns the token
   */
  mint(): string {
    const token = newPageToken();
    this.items.push(Buffer.from(token));
    if (this.items.length > maxPageTokens) this.items.shift();
    return token;
  }

  /**
   * Removes the token.
   * @param token - the token a link carried
   * @returns whether it was there
   */
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

/** Open page sessions, at most {@link maxPageTokens}; the oldest go first, idle ones expire. */
export class PageSessions {
  private sessions: PageSession[] = [];

  /**
   * Creates an empty set of sessions.
   * @param nowMs - wall-clock milliseconds, for the idle time (tests pass their own)
   */
  constructor(private readonly nowMs: () => number) {}

  /**
   * Opens a session. A browser that already holds an open session's cookie keeps it (the new tab
   * gets its own key), so a second link does not end the first tab's session.
   * @param cookie - the cookie the request carried, if any
   * @returns the session's cookie and key
   */
  open(cookie: string | undefined): { cookie: string; key: string } {
    const opened = {
      cookie: this.isOpen(cookie) ? (cookie as string) : newPageToken(),
      key: newPageToken(),
    };
    this.sessions.push({
      cookie: Buffer.from(opened.cookie),
      key: Buffer.from(opened.key),
      lastUsedMs: this.nowMs(),
    });
    if (this.sessions.length > maxPageTokens) this.sessions.shift();
    return opened;
  }

  /**
   * Whether the cookie belongs to an open session (without using it).
   * @param cookie - the cookie the request carried, if any
   * @returns true for an open session's cookie
   */
  isOpen(cookie: string | undefined): boolean {
    return cookie !== undefined && this.live().some((s) => sameToken(s.cookie, cookie));
  }

  /**
   * Whether cookie and key belong to the same open session; if so, it is used now.
   * @param cookie - the cookie the request carried, if any
   * @param key - the key the request carried, if any
   * @returns true when both belong to one open session
   */
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
