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

/**
 * Builds the absolute link to the next page.
 * @param baseUrl - `{scheme}://{host}` of the request
 * @param path - the list path (`/secrets`, `/deletedsecrets`, `/secrets/{name}/versions`)
 * @param apiVersion - api-version of the request
 * @param maxResults - page size to keep
 * @param afterKey - key of the last item returned so far
 * @param emptyPage - whether the next page is an inserted empty one
 * @returns the `nextLink`
 */
export function buildNextLink(
  baseUrl: string,
  path: string,
  apiVersion: string,
  maxResults: number,
  afterKey: string,
  emptyPage: boolean,
): string {
  const token = Buffer.from(`${emptyPage ? emptyPhase : realPhase}:${afterKey}`, "utf8").toString(
    "base64url",
  );
  return `${baseUrl}${path}?api-version=${encodeURIComponent(apiVersion)}&$skiptoken=${token}&maxresults=${maxResults}`;
}

/**
 * Answers a list request with one page: the inserted empty page, or the items after the position
 * the `$skiptoken` names, with the `nextLink` to the rest.
 * @param x - the list request
 * @param path - the list path
 * @param page - reads the items after a key, at most `max` of them
 */
export function sendPage(
  x: Exchange,
  path: string,
  page: (afterKey: string, max: number) => { items: unknown[]; lastKey: string; more: boolean },
): void {
  const emptyPages = x.vault.emptyPages;
  const max = parseMaxResults(x.query.maxresults);
  const position = decodeSkipToken(x.query.$skiptoken, emptyPages);
  // The service names the port in nextLinks (`https://{vault}.vault.azure.net:443/...`).
  const host = x.host;
  const base =
    host === undefined ? x.render.baseUrl : `${x.vault.scheme}://${host.hostname}:${host.port}`;
  if (position.emptyPage) {
    x.send(200, {
      value: [],
      nextLink: buildNextLink(base, path, x.apiVersion, max, position.afterKey, false),
    });
    return;
  }
  const result = page(position.afterKey, max);
  x.send(200, {
    value: result.items,
    nextLink: result.more
      ? buildNextLink(base, path, x.apiVersion, max, result.lastKey, emptyPages)
      : null,
  });
}
