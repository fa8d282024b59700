/**
 * The events' control routes under `/__local/events`: add a subscription (only with a token the
 * vault issued: a subscription makes the vault send requests, so no other caller may add one),
 * and read the subscriptions and the dead letters.
 */
import { badParameter } from "../wire/errors.js";
import type { Exchange } from "../http/exchange.js";
import type { LocalRoute } from "./route.js";

/** The events' routes, by path. */
export const eventRoutes: Record<string, LocalRoute> = {
  "/__local/events": {
    methods: ["GET"],
    auth: "vault",
    handle: (exchange: Exchange) => exchange.send(200, exchange.vault.events.status()),
  },
  "/__local/events/subscriptions": {
    methods: ["POST"],
    auth: "issued",
    handle: async (exchange: Exchange) => {
      const body = await exchange.readJson();
      let added;
      try {
        added = exchange.vault.events.subscribe(body);
      } catch (error) {
        throw badParameter((error as Error).message);
      }
      exchange.send(201, added);
    },
  },
  "/__local/events/deadletters": {
    methods: ["GET"],
    auth: "vault",
    handle: (exchange: Exchange) =>
      exchange.send(
        200,
        { value: exchange.vault.events.deadLetters() },
        { "cache-control": "no-store" },
      ),
  },
};
