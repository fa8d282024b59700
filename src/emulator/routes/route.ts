/**
 * The shape of a route: what the router needs to know to check a request's method and
 * authenticate it before it hands it over, and which headers its answers carry.
 */
import type { Exchange } from "../http/exchange.js";

/** Handles one accepted request; a rejection (or a throw) is answered as an error. */
export type RouteHandler = (exchange: Exchange) => Promise<void> | void;

/** A route of the vault's own, by its whole path: test controls, events, identity,
 * health, the page. */
export interface LocalRoute {
  /** The methods the route takes (the `Allow` of its 405). */
  methods: readonly string[];
  /**
   * `"vault"`: the data routes' authentication (a bearer token; under strict auth, one the vault
   * issued). `"issued"`: a bearer token the vault issued, whatever `strictAuth` says (routes that
   * make the vault send requests elsewhere). `"none"`: the route checks what it needs itself (the
   * identity endpoint's header, the page's session).
   */
  auth: "vault" | "issued" | "none";
  /**
   * The headers every answer of the route carries (errors too) in place of the service's: the
   * page's security headers, health's. Omitted: the service's headers.
   */
  headers?: Readonly<Record<string, string>>;
  /** Answers the request. */
  handle: RouteHandler;
}

/** First path segment of the vault's own routes that are not Key Vault's API (`/__local/...`). */
export const localSegment = "__local";
