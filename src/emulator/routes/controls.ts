/**
 * Test controls under `/__local/`: reset, clock and faults.
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
