/**
 * Paging of the three list operations: opaque `$skiptoken`, absolute `nextLink` built from the
 * request's host, and the optional empty page before each real page.
 */
import { maxResultsLimit } from "../../api/wireTypes.js";
import { invalidMaxResults, invalidSkipToken } from "./errors.js";
import type { Exchange } from "../http/exchange.js";

/** Where a list request resumes, decoded from its `$skiptoken`. */
export interface PagePosition {
  /** Key (lower-case name or version) of the last item already returned; "" = from the start. */
  afterKey: string;
  /** Whether this request is answered with the empty page inserted before a real page. */
  emptyPage: boolean;
}

// The token is opaque to clients; a phase letter keeps the empty-page dance stateless.
const realPhase = "P";
const emptyPhase = "E";

/**
 * Decodes the `$skiptoken` of a list request.
 * @param token - the query value, or undefined on the first page
 * @param emptyPages - whether the vault inserts empty pages
 * @returns the position to resume from
 */
export function decodeSkipToken(token: string | undefined, emptyPages: boolean): PagePosition {
  if (token === undefined) return { afterKey: "", emptyPage: emptyPages };
  const decoded = Buffer.from(token, "base64url").toString("utf8");
  const phase = decoded.slice(0, 2);
  if (phase !== `${realPhase}:` && phase !== `${emptyPhase}:`) {
    throw invalidSkipToken(token);
  }
  return { afterKey: decoded.slice(2), emptyPage: phase === `${emptyPhase}:` };
}

/**
 * Parses `maxresults`.
 * @param raw - the query value, or undefined
 * @returns the page size (default 25)
 */
export function parseMaxResults(raw: string | undefined): number {
  if (raw === undefined) return maxResultsLimit;
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > maxResultsLimit) {
    throw invalidMaxResults(raw, maxResultsLimit);
  }
  return n;
}

/** What a `nextLink` names. */
export interface NextLinkParts {
  /** `{scheme}://{host}:{port}` of the request. */
  baseUrl: string;
  /** The list path (`/secrets`, `/deletedsecrets`, `/secrets/{name}/versions`). */
  path: string;
  /** api-version of the request. */
  apiVersion: string;
  /** Page size to keep. */
  maxResults: number;
  /** Where the next page starts, as its `$skiptoken` carries it. */
  position: PagePosition;
}

/**
 * Builds the absolute link to the next page.
 * @param parts - the request's base URL, path, api-version and page size, and the next position
 * @returns the `nextLink`
 */
export function buildNextLink(parts: NextLinkParts): string {
  const { afterKey, emptyPage } = parts.position;
  const token = Buffer.from(`${emptyPage ? emptyPhase : realPhase}:${afterKey}`, "utf8").toString(
    "base64url",
  );
  return `${parts.baseUrl}${parts.path}?api-version=${encodeURIComponent(parts.apiVersion)}&$skiptoken=${token}&maxresults=${parts.maxResults}`;
}

/**
 * Answers a list request with one page: the inserted empty page, or the items after the position
 * the `$skiptoken` names, with the `nextLink` to the rest.
 * @param exchange - the list request
 * @param path - the list path
 * @param page - reads the items after a key, at most `max` of them
 */
export function sendPage(
  exchange: Exchange,
  path: string,
  page: (afterKey: string, max: number) => { items: unknown[]; lastKey: string; more: boolean },
): void {
  const emptyPages = exchange.vault.emptyPages;
  const maxResults = parseMaxResults(exchange.query.maxresults);
  const position = decodeSkipToken(exchange.query.$skiptoken, emptyPages);
  // The service names the port in nextLinks (`https://{vault}.vault.azure.net:443/...`).
  const host = exchange.host;
  const baseUrl =
    host === undefined
      ? exchange.render.baseUrl
      : `${exchange.vault.scheme}://${host.hostname}:${host.port}`;
  const linkTo = (next: PagePosition): string =>
    buildNextLink({ baseUrl, path, apiVersion: exchange.apiVersion, maxResults, position: next });
  if (position.emptyPage) {
    exchange.send(200, {
      value: [],
      nextLink: linkTo({ afterKey: position.afterKey, emptyPage: false }),
    });
    return;
  }
  const result = page(position.afterKey, maxResults);
  exchange.send(200, {
    value: result.items,
    nextLink: result.more ? linkTo({ afterKey: result.lastKey, emptyPage: emptyPages }) : null,
  });
}
