/**
 * Test controls under `/__local/`: reset, clock and faults.
 */
import { badParameter } from "../errors.js";
import type { Exchange } from "../exchange.js";
import type { LocalVaultFaultOptions } from "../options.js";
import type { LocalRoute } from "./route.js";

/** The test-control routes, by path under `/__local/`. */
export const controlRoutes: Record<string, LocalRoute> = {
  reset: {
    method: "POST",
    auth: "none",
    handle: async (x: Exchange) => {
      await x.vault.reset();
      x.send(204, undefined);
    },
  },
  clock: {
    method: "POST",
    auth: "none",
    handle: async (x: Exchange) => {
      const { advanceMs } = await x.readJson();
      if (typeof advanceMs !== "number" || !Number.isFinite(advanceMs) || advanceMs < 0) {
        throw badParameter("advanceMs must be a non-negative number of milliseconds.");
      }
      await x.vault.advanceClock(advanceMs);
      x.send(200, { now: Math.floor(x.vault.store.clock.nowMs() / 1000) });
    },
  },
  faults: {
    method: "PUT",
    auth: "none",
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
