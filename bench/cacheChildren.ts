/**
 * The two children of the SecretCache benchmarks (`bench/secretCache.ts`, `bench/cacheRefresh.ts`)
 * and how the orchestrator talks to them: the local vault (`cacheVault.ts`), seeded, in one
 * process; the loaders (`cacheLoader.ts`) in another. Messages: `cacheProtocol.ts`.
 */
import type { ChildProcess } from "node:child_process";
import type { LocalVaultFaultOptions } from "../src/emulator/index.js";
import type { CompiledBench } from "./compile.js";
import { exited, forkTracked, nextMessage } from "./processes.js";
import type {
  CacheLoaderCommand,
  CacheLoaderConfig,
  CacheLoaderMessage,
  CacheVaultCommand,
  CacheVaultMessage,
} from "./cacheProtocol.js";

/** The two children and how to talk to them. */
export interface CacheChildren {
  vault: ChildProcess;
  loader: ChildProcess;
}

function vaultReply(message: unknown): CacheVaultMessage | undefined {
  const typed = message as CacheVaultMessage;
  if (typed.type === "failed") throw new Error(`cacheVault: ${typed.message}`);
  return typed;
}

function loaderReply(message: unknown): CacheLoaderMessage | undefined {
  const typed = message as CacheLoaderMessage;
  if (typed.type === "failed") throw new Error(`cacheLoader: ${typed.message}`);
  return typed;
}

/**
 * Sets the vault's faults (which also starts a fresh throttle window) and waits for the answer.
 * @param children - the children
 * @param faults - the new faults
 */
export async function setFaults(
  children: CacheChildren,
  faults: LocalVaultFaultOptions,
): Promise<void> {
  const answered = nextMessage(
    children.vault,
    (m) => (vaultReply(m)?.type === "faultsSet" ? true : undefined),
    30_000,
    "the vault to set its faults",
  );
  children.vault.send({ type: "faults", faults } satisfies CacheVaultCommand);
  await answered;
}

/**
 * Sends a command to the loaders and waits for the answer of the given type.
 * @param children - the children
 * @param command - the command
 * @param answer - the type of the answer
 * @returns the answer
 */
export async function askLoader<T extends CacheLoaderMessage["type"]>(
  children: CacheChildren,
  command: CacheLoaderCommand,
  answer: T,
): Promise<Extract<CacheLoaderMessage, { type: T }>> {
  const answered = nextMessage(
    children.loader,
    (m) => {
      const typed = loaderReply(m);
      return typed?.type === answer
        ? (typed as Extract<CacheLoaderMessage, { type: T }>)
        : undefined;
    },
    // A throttled fleet of naive loaders takes up to a minute on a busy machine.
    300_000,
    `the loaders to answer ${command.type}`,
  );
  children.loader.send(command);
  return answered;
}

/**
 * Starts the vault (seeded with `secrets` secrets) and the loaders, as plain compiled JavaScript.
 * @param compiled - the compiled programs (cacheVault and cacheLoader among them)
 * @param secrets - how many secrets the vault is seeded with
 * @param pageSize - items of a list page
 * @returns the children, ready
 */
export async function startCacheChildren(
  compiled: CompiledBench,
  secrets: number,
  pageSize: number,
): Promise<CacheChildren> {
  // Plain node for both: no TypeScript loader inherited from this program's execArgv.
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const vault = forkTracked(compiled.benchModule("cacheVault"), [String(secrets)], {
    env,
    execArgv: [],
  });
  const ready = await nextMessage(
    vault,
    (m) => {
      const typed = vaultReply(m);
      return typed?.type === "listening" ? typed : undefined;
    },
    120_000,
    "the vault to listen",
  );
  const config: CacheLoaderConfig = { url: ready.url, secrets, pageSize };
  const loader = forkTracked(compiled.benchModule("cacheLoader"), [JSON.stringify(config)], {
    env,
    execArgv: [],
  });
  await nextMessage(
    loader,
    (m) => (loaderReply(m)?.type === "ready" ? true : undefined),
    60_000,
    "the loaders to start",
  );
  return { vault, loader };
}

/**
 * Stops both children: the loaders by closing their channel, the vault with SIGTERM.
 * @param children - the children
 */
export async function stopCacheChildren(children: CacheChildren): Promise<void> {
  children.loader.disconnect();
  children.vault.kill("SIGTERM");
  await Promise.all([exited(children.loader, 5_000), exited(children.vault, 5_000)]);
}
