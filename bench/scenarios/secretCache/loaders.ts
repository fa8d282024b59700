/**
 * The two children of the SecretCache scenarios (cache, refresh): the local vault
 * (children/vaultChild.ts), seeded, in one process, and the loaders (children/loaderChild.ts) in
 * another, so that the vault's CPU never runs on the loaders' event loop.
 */
import { listPageSize } from "../../framework/fixtures.js";
import { ask, startChild, withChildren, type BenchChild } from "../../framework/processes.js";
import type { Answer, Command, CommandName } from "../../framework/protocol.js";
import { startServer, type RunningServer } from "../../framework/servers.js";
import type { RunContext } from "../scenario.js";

/** The count flag of both scenarios: how many secrets the vault holds. */
export const secretsCount = { about: "secrets in the vault", full: 1000 };

/** The vault and the loaders. */
export interface CacheRig {
  vault: RunningServer;
  loaders: BenchChild;
}

/**
 * Starts the vault (seeded with `secrets` secrets) and the loaders, runs `body` with them, and
 * stops both, whatever `body` does.
 * @param context - the run
 * @param secrets - how many secrets the vault holds
 * @param body - what to do with them
 * @returns what `body` returned
 */
export async function withVaultAndLoaders<T>(
  context: RunContext,
  secrets: number,
  body: (rig: CacheRig) => Promise<T>,
): Promise<T> {
  const compiled = context.compiled();
  const vault = await startServer(compiled, "vault", { secrets, getSecret: false, https: false });
  const startLoaders = (): Promise<BenchChild> =>
    startChild(
      compiled,
      "loaderChild",
      { url: vault.url, secrets, pageSize: listPageSize },
      { label: "the loaders", readyTimeoutMs: 60_000 },
    );
  try {
    return await withChildren([startLoaders], ([loaders]) => body({ vault, loaders: loaders! }));
  } finally {
    await vault.stop();
  }
}

/**
 * Sends a command to the loaders and waits for their answer.
 * @param rig - the children
 * @param command - the command
 * @returns the answer
 */
export function askLoaders<N extends CommandName>(
  rig: CacheRig,
  command: Command<N>,
): Promise<Answer<N>> {
  // A throttled fleet of naive loaders takes up to a minute on a busy machine.
  return ask(rig.loaders, command, 300_000);
}
