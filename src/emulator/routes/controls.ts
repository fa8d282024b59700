/**
 * Test controls and tools under `/__local/`: reset, clock, faults, and a version's value as it is.
 */
import { badParameter } from "../wire/errors.js";
import type { Exchange } from "../http/exchange.js";
import type { LocalVaultFaultOptions } from "../options.js";
import { clockShiftProblem } from "../state/vaultClock.js";
import type { LocalRoute } from "./route.js";

/** The test-control routes, by path. */
export const controlRoutes: Record<string, LocalRoute> = {
  "/__local/reset": {
    methods: ["POST"],
    auth: "vault",
    handle: async (exchange: Exchange) => {
      await exchange.vault.reset();
      exchange.send(204, undefined);
    },
  },
  "/__local/clock": {
    methods: ["POST"],
    auth: "vault",
    handle: async (exchange: Exchange) => {
      const { advanceMs } = await exchange.readJson();
      const problem = clockShiftProblem(advanceMs, exchange.vault.store.clock.offsetMs);
      if (problem !== undefined) throw badParameter(problem);
      await exchange.vault.advanceClock(advanceMs as number);
      exchange.send(200, { now: Math.floor(exchange.vault.store.clock.nowMs() / 1000) });
    },
  },
  // A disabled version's value without enabling it: the API refuses to read it, and enabling it
  // for a moment (all a client of the service can do) leaves it enabled if the reader is stopped.
  // `keyvault-emulator export` reads disabled versions here; any client with a token could enable
  // them, so this shows nothing a token does not already reach.
  "/__local/value": {
    methods: ["GET"],
    auth: "vault",
    handle: (exchange: Exchange) => {
      const { name, version } = exchange.query;
      if (name === undefined || name === "" || version === undefined || version === "") {
        throw badParameter(
          "Name the version to read: GET /__local/value?name=NAME&version=VERSION.",
        );
      }
      exchange.send(
        200,
        { value: exchange.vault.store.reveal(name, version) },
        { "cache-control": "no-store" },
      );
    },
  },
  "/__local/faults": {
    methods: ["PUT"],
    auth: "vault",
    handle: async (exchange: Exchange) => {
      const body = await exchange.readJson();
      try {
        exchange.vault.setFaults(body as LocalVaultFaultOptions);
      } catch (error) {
        throw badParameter((error as Error).message);
      }
      exchange.send(200, body);
    },
  },
};
