/**
 * The local vault of the SecretCache benchmark in its own process, so that the vault's CPU never
 * competes with the loaders' event loop (a real vault is on the network). Started by
 * `bench/secretCache.ts` with `fork` (argv[2] = secrets to seed); seeds them through the vault's
 * `seed` option, reports its URL over IPC, then sets its faults (latency, throttle) when told to.
 * Exits when the parent goes away.
 */
import { startLocalVault, type LocalVaultSeedSecret } from "../src/emulator/index.js";
import { closeWithParent } from "./processes.js";
import {
  cacheSecretName,
  cacheSecretValue,
  type CacheVaultCommand,
  type CacheVaultMessage,
} from "./cacheProtocol.js";

function reply(message: CacheVaultMessage): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? "1000");
  const secrets: LocalVaultSeedSecret[] = Array.from({ length: count }, (_, i) => ({
    name: cacheSecretName(i),
    value: cacheSecretValue(cacheSecretName(i)),
  }));
  const vault = await startLocalVault({ seed: { secrets } });
  closeWithParent(vault);
  process.on("message", (message: CacheVaultCommand) => {
    if (message.type !== "faults") return;
    try {
      // Also starts a fresh throttle window.
      vault.setFaults(message.faults);
      reply({ type: "faultsSet" });
    } catch (error) {
      reply({ type: "failed", message: (error as Error).message });
    }
  });
  reply({ type: "listening", url: vault.vaultUrl });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
