/**
 * The connection every sample uses: a real vault when KEYVAULT_URI is set, else a local vault
 * started in-process (and stopped again by `close()`).
 *
 *   KEYVAULT_URI=https://myvault.vault.azure.net npm run sample -- helloWorld   # real vault
 *   npm run sample -- helloWorld                                                # local vault
 */
import { DefaultAzureCredential } from "@azure/identity";
import { SecretClient } from "keyvault-secrets";
import { startLocalVault } from "keyvault-secrets/emulator";

/** A client and what to call when the sample is done with it. */
export interface SampleVault {
  /** A client for the vault. */
  client: SecretClient;
  /** Milliseconds between two polls of a delete or recover poller. */
  pollIntervalInMs: number;
  /** Where the client talks to, for the sample's first line. */
  description: string;
  /** Releases the client's connections and, for the local vault, stops it. */
  close(): Promise<void>;
}

/**
 * Connects to the vault named by KEYVAULT_URI, or to a new local vault when it is not set.
 * @returns the client, the poll interval to use, and a `close()` to call at the end
 */
export async function connect(): Promise<SampleVault> {
  const vaultUri = process.env["KEYVAULT_URI"];
  if (vaultUri) {
    const client = new SecretClient(vaultUri, new DefaultAzureCredential());
    return {
      client,
      // A real vault takes seconds to finish a delete or recover: poll at the default pace.
      pollIntervalInMs: 2000,
      description: `the vault at ${vaultUri}`,
      close: async () => client.close(),
    };
  }

  // Like the service (about 5 s), the local vault answers 409 to a restore right after a purge;
  // a shorter window keeps the samples quick while their retry still runs.
  const vault = await startLocalVault({ port: 0, restoreConflictAfterPurgeInMs: 1000 });
  // The local vault is plain HTTP on 127.0.0.1, and its challenge names https://vault.azure.net.
  const client = new SecretClient(vault.vaultUrl, vault.credential, {
    allowInsecureConnection: true,
    disableChallengeResourceVerification: true,
  });
  return {
    client,
    // The local vault finishes a delete or recover after 100 ms: poll often so samples run fast.
    pollIntervalInMs: 100,
    description: `a local vault at ${vault.vaultUrl} (set KEYVAULT_URI to use a real one)`,
    close: async () => {
      client.close();
      await vault.close();
    },
  };
}

/**
 * A secret name no earlier run used, so a sample can run against a real vault again and again.
 * @param base - what the secret is for, e.g. `"hello"`
 * @returns e.g. `sample-hello-1760000000000`
 */
export function uniqueName(base: string): string {
  return `sample-${base}-${Date.now()}`;
}

/**
 * Deletes a secret and purges it where the vault allows (soft delete without purge protection),
 * so that a sample leaves nothing behind. A vault with purge protection keeps the deleted secret
 * until its scheduled purge date.
 * @param client - the client
 * @param name - the secret to remove
 * @param pollIntervalInMs - the poll interval of the delete poller
 */
export async function deleteAndPurge(
  client: SecretClient,
  name: string,
  pollIntervalInMs: number,
): Promise<void> {
  const poller = await client.beginDeleteSecret(name, { intervalInMs: pollIntervalInMs });
  const deleted = await poller.pollUntilDone();
  if (canPurge(deleted.properties.recoveryLevel) && deleted.recoveryId) {
    await client.purgeDeletedSecret(name);
  }
}

/**
 * Whether deleted secrets of a vault with this recovery level can be purged.
 * @param recoveryLevel - the `recoveryLevel` reported on a secret
 * @returns true for the `...+Purgeable` levels; plain `Purgeable` vaults delete at once
 */
export function canPurge(recoveryLevel: string | undefined): boolean {
  return recoveryLevel?.endsWith("+Purgeable") === true;
}

/**
 * A form of a secret value that is safe to print: its length only, never a character of it.
 * @param value - the secret value
 * @returns e.g. `"******** (9 characters)"`
 */
export function mask(value: string | undefined): string {
  if (value === undefined) return "(no value)";
  return `******** (${value.length} characters)`;
}
