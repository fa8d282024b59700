/**
 * The shape of a route module: what the listener needs to know to authenticate a request before it
 * hands it over.
 */
import type { Exchange } from "../http/exchange.js";

/** Handles one accepted request; a rejection (or a throw) is answered as an error. */
export type RouteHandler = (x: Exchange) => Promise<void> | void;

/** A route under `/__local/` (test controls, managed identity, tools). */
export interface LocalRoute {
  /** The one method the route takes. */
  method: string;
  /**
   * `"vault"`: the data routes' authentication (a bearer token; under strict auth, one the vault
   * issued). `"issued"`: a bearer token the vault issued, whatever `strictAuth` says (routes that
   * make the vault send requests elsewhere). `"none"`: the route checks what it needs itself (the
   * identity endpoint's header).
   */
  auth: "vault" | "issued" | "none";
  /** Answers the request. */
  handle: RouteHandler;
}
