/**
 * The servers the contenders and loaders talk to, each in its own process: the fixed-response
 * stand-in (`children/fixedServer.ts`: measures clients, not a server) and the local vault
 * (`children/vaultChild.ts`, seeded, its faults set on command).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { LocalVaultFaultOptions } from "../../src/emulator/index.js";
import type { CompiledBench } from "./compile.js";
import { ask, plainEnv, startChild, stopChild } from "./processes.js";
import type { ServerConfig } from "./protocol.js";

/** The fixed-response stand-in or the local vault. */
export type ServerKind = "fixed" | "vault";

/** A server, listening. */
export interface RunningServer {
  kind: ServerKind;
  url: string;
  /** Environment for client processes: trusts the server's CA when it speaks TLS. */
  clientEnv: NodeJS.ProcessEnv;
  /**
   * Sets the local vault's faults (which also starts a fresh throttle window).
   * @param faults - the new faults
   */
  setFaults(faults: LocalVaultFaultOptions): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts a server in its own process and waits until it listens (the vault: seeded).
 * @param compiled - the compiled programs
 * @param kind - which server
 * @param config - secrets, the get secret, TLS
 * @returns the server
 */
export async function startServer(
  compiled: CompiledBench,
  kind: ServerKind,
  config: ServerConfig,
): Promise<RunningServer> {
  const child = await startChild(
    compiled,
    kind === "fixed" ? "fixedServer" : "vaultChild",
    config,
    // Seeding 10,000 secrets into the local vault on a busy machine.
    { label: `the ${kind} server`, readyTimeoutMs: 120_000 },
  );
  const { url, caCertificate } = child.ready;
  if (url === undefined) throw new Error(`The ${kind} server gave no URL.`);
  let caDir: string | undefined;
  const clientEnv = plainEnv();
  if (caCertificate !== undefined) {
    caDir = mkdtempSync(path.join(tmpdir(), "keyvault-secrets-bench-ca-"));
    const caFile = path.join(caDir, "ca.pem");
    writeFileSync(caFile, caCertificate);
    clientEnv.NODE_EXTRA_CA_CERTS = caFile;
  }
  return {
    kind,
    url,
    clientEnv,
    setFaults: async (faults) => {
      await ask(child, { type: "faults", faults }, 30_000);
    },
    stop: async () => {
      try {
        await stopChild(child);
      } finally {
        if (caDir !== undefined) rmSync(caDir, { recursive: true, force: true });
      }
    },
  };
}
