/**
 * The events' control routes under `/__local/events`: add a subscription (only with a token the
 * vault issued: a subscription makes the vault send requests, so no other caller may add one),
 * and read the subscriptions and the dead letters.
 */
import { badParameter } from "../wire/errors.js";
import type { Exchange } from "../http/exchange.js";
import type { LocalRoute } from "./route.js";

/** The events' routes, by path under `/__local/`. */
export const eventRoutes: Record<string, LocalRoute> = {
  events: {
    method: "GET",
    auth: "vault",
    handle: (x: Exchange) => x.send(200, x.vault.events.status()),
  },
  "events/subscriptions": {
    method: "POST",
    auth: "issued",
    handle: async (x: Exchange) => {
      const body = await x.readJson();
      let added;
      try {
        added = x.vault.events.subscribe(body);
      } catch (error) {
        throw badParameter((error as Error).message);
      }
      x.send(201, added);
    },
  },
  "events/deadletters": {
    method: "GET",
    auth: "vault",
    handle: (x: Exchange) =>
      x.send(200, { value: x.vault.events.deadLetters() }, { "cache-control": "no-store" }),
  },
};
