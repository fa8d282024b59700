/**
 * The local vault in its own process, seeded, for every benchmark that needs one: the client
 * scenarios' vault (the get secret and the secrets to list) and the SecretCache loaders' vault. Its
 * CPU never runs on a client's event loop, as a real vault is on the network. Sets its faults
 * (latency, throttle) when told to. Protocol: framework/protocol.ts.
 */
import { startLocalVault, type LocalVaultSeedSecret } from "../../src/emulator/index.js";
import { childConfig, serveChild } from "../framework/childSide.js";
import { getSecretName, getSecretValue, secretName, secretValue } from "../framework/fixtures.js";
import type { ServerConfig } from "../framework/protocol.js";

/** The secrets the vault starts with, loaded through its `seed` option. */
function seedOf(config: ServerConfig): LocalVaultSeedSecret[] {
  const secrets = Array.from({ length: config.secrets }, (_, index) => {
    const name = secretName(index);
    return { name, value: secretValue(name) };
  });
  if (config.getSecret) secrets.unshift({ name: getSecretName, value: getSecretValue });
  return secrets;
}

serveChild(async () => {
  const config = childConfig<ServerConfig>();
  const secrets = seedOf(config);
  const vault = await startLocalVault({
    https: config.https,
    seed: secrets.length > 0 ? { secrets } : undefined,
  });
  return {
    ready: { url: vault.vaultUrl, caCertificate: vault.caCertificate },
    close: () => vault.close(),
    handlers: {
      faults: ({ faults }) => {
        vault.setFaults(faults);
        return null;
      },
    },
  };
});
