/**
 * Test controls and tools under `/__local/`: reset, clock, faults, and a version's value as it is.
 */
import { badParameter } from "../wire/errors.js";
import type { Exchange } from "../http/exchange.js";
import type { LocalVaultFaultOptions } from "../options.js";
import { clockShiftProblem } from "../state/vaultClock.js";
import type { LocalRoute } from "./route.js";

/** The test-control routes, by path under `/__local/`. */
export const controlRoutes: Record<string, LocalRoute> = {
  reset: {
    method: "POST",
    auth: "vault",
    handle: async (x: Exchange) => {
      await x.vault.reset();
      x.send(204, undefined);
    },
  },
  clock: {
    method: "POST",
    auth: "vault",
    handle: async (x: Exchange) => {
      const { advanceMs } = await x.readJson();
      const problem = clockShiftProblem(advanceMs, x.vault.store.clock.offsetMs);
      if (problem !== undefined) throw badParameter(problem);
      await x.vault.advanceClock(advanceMs as number);
      x.send(200, { now: Math.floor(x.vault.store.clock.nowMs() / 1000) });
    },
  },
  // A disabled version's value without enabling it: the API refuses to read it, and enabling it
  // for a moment (all a client of the service can do) leaves it enabled if the reader is stopped.
  // `keyvault-emulator export` reads disabled versions here; any client with a token could enable
  // them, so this shows nothing a token does not already reach.
  value: {
    method: "GET",
    auth: "vault",
    handle: (x: Exchange) => {
      const { name, version } = x.query;
      if (name === undefined || name === "" || version === undefined || version === "") {
        throw badParameter(
          "Name the version to read: GET /__local/value?name=NAME&version=VERSION.",
        );
      }
      x.send(200, { value: x.vault.store.reveal(name, version) }, { "cache-control": "no-store" });
    },
  },
  faults: {
    method: "PUT",
    auth: "vault",
    handle: async (x: Exchange) => {
      const body = await x.readJson();
      try {
        x.vault.setFaults(body as LocalVaultFaultOptions);
      } catch (error) {
        throw badParameter((error as Error).message);
      }
      x.send(200, body);
    },
  },
};
