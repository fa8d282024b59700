/**
 * Health of the local vault: the `GET /healthz` route (no token, nothing about the vault's state in
 * the answer) and the probe that `keyvault-emulator healthcheck` runs, e.g. as a container's
 * HEALTHCHECK or in a wait-for script.
 */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { Exchange } from "../http/exchange.js";
import type { LocalRoute } from "./route.js";

/** Path of the health route. */
export const healthPath = "/healthz";

/**
 * The health route, by path: 200 `ok` to GET and HEAD once the vault answers at all (the seed is
 * loaded before the vault listens), without a token and nothing about the vault's state.
 */
export const healthRoutes: Record<string, LocalRoute> = {
  [healthPath]: {
    methods: ["GET", "HEAD"],
    auth: "none",
    headers: { "cache-control": "no-store", "x-content-type-options": "nosniff" },
    handle: (exchange: Exchange) => exchange.sendText(200, "text/plain; charset=utf-8", "ok\n"),
  },
};

/** Where the health probe looks. */
export interface HealthProbeOptions {
  /** The vault's `--host`; a wildcard address is probed on loopback. */
  host: string;
  port: number;
  https: boolean;
  /**
   * Milliseconds before the probe gives up.
   * @default 3000
   */
  timeoutMs?: number;
}

/**
 * Asks a vault's health route once.
 * @param options - where the vault listens
 * @returns `ok` true on 200; otherwise the status or the error's message
 */
export function probeHealth(
  options: HealthProbeOptions,
): Promise<{ ok: boolean; status?: number; error?: string }> {
  let host = options.host;
  if (host === "0.0.0.0") host = "127.0.0.1";
  else if (host === "::") host = "::1";
  const request = options.https ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = request(
      {
        host,
        port: options.port,
        path: healthPath,
        method: "GET",
        timeout: options.timeoutMs ?? 3000,
        agent: false,
        // The probe sends nothing and reads no state, so it need not trust the vault's certificate
        // (which may come from --cert or a CA the probing process does not have).
        rejectUnauthorized: false,
        headers: { "user-agent": "keyvault-emulator-healthcheck" },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ ok: res.statusCode === 200, status: res.statusCode }));
      },
    );
    req.on("timeout", () =>
      req.destroy(new Error(`no answer within ${options.timeoutMs ?? 3000} ms`)),
    );
    req.on("error", (error) => resolve({ ok: false, error: error.message }));
    req.end();
  });
}
