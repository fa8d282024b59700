/**
 * Backup and restore: backs up a secret with all its versions, deletes and purges it, restores it
 * from the backup, and checks that every version is back.
 *
 * Run it with `npm run sample -- backupAndRestore` (a local vault), or against your own vault with
 * `KEYVAULT_URI=https://<name>.vault.azure.net npm run sample -- backupAndRestore`. A backup can be
 * restored into a vault of the same subscription and geography only.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { isRestError, type SecretClient, type SecretProperties } from "keyvault-secrets";
import { canPurge, connect, deleteAndPurge, uniqueName } from "./vault.js";

async function main(): Promise<void> {
  const { client, pollIntervalInMs, description, close } = await connect();
  console.log(`Backing up and restoring a secret in ${description}.`);
  const secretName = uniqueName("backup");
  let exists = false;

  try {
    console.log(`\nStoring "${secretName}" with three versions...`);
    for (const value of ["version one", "version two", "version three"]) {
      await client.setSecret(secretName, value);
      exists = true;
    }
    const versionsBefore = await listVersions(client, secretName);
    console.log(`   Versions: ${versionsBefore.join(", ")}`);

    console.log(`\nBacking it up...`);
    const backup = await client.backupSecret(secretName);
    if (!backup) throw new Error("The vault returned no backup.");
    // The blob is encrypted by Key Vault: store it as a file, in a database, ...
    console.log(`   Got a backup blob of ${backup.length} bytes.`);

    console.log(`\nDeleting and purging it: the vault no longer knows the name...`);
    const poller = await client.beginDeleteSecret(secretName, { intervalInMs: pollIntervalInMs });
    const deleted = await poller.pollUntilDone();
    exists = false;
    if (deleted.recoveryId) {
      if (!canPurge(deleted.properties.recoveryLevel)) {
        // Restoring needs the name to be free; a purge-protected vault keeps it until the purge date.
        console.log(`   This vault does not allow purging, so the backup cannot be restored now.`);
        return;
      }
      await client.purgeDeletedSecret(secretName);
    }
    console.log(`   Deleted and purged.`);

    console.log(`\nRestoring it from the backup...`);
    const restored = await restoreWhenPurged(client, backup, pollIntervalInMs);
    exists = true;
    console.log(`   Restored "${restored.name}", latest version ${restored.version}.`);

    const versionsAfter = await listVersions(client, secretName);
    console.log(`   Versions: ${versionsAfter.join(", ")}`);
    const missing = versionsBefore.filter((version) => !versionsAfter.includes(version));
    if (missing.length > 0 || versionsAfter.length !== versionsBefore.length) {
      throw new Error(
        `The restored secret does not have the same versions (missing: ${missing.join(", ")}).`,
      );
    }
    console.log(`   All ${versionsAfter.length} versions are back.`);
  } finally {
    if (exists) {
      console.log(`\nCleaning up: deleting and purging "${secretName}"...`);
      await deleteAndPurge(client, secretName, pollIntervalInMs);
    }
    await close();
  }
  console.log(`Done.`);
}

/** The version ids of a secret, sorted so that two lists compare. */
async function listVersions(client: SecretClient, name: string): Promise<string[]> {
  const versions: string[] = [];
  for await (const properties of client.listPropertiesOfSecretVersions(name)) {
    versions.push(properties.version!);
  }
  return versions.sort();
}

/**
 * Restores a backup. A real vault purges in the background and answers 409 Conflict while the
 * purge of the same name is still running, so retry that for a while.
 */
async function restoreWhenPurged(
  client: SecretClient,
  backup: Uint8Array,
  pollIntervalInMs: number,
): Promise<SecretProperties> {
  const deadline = Date.now() + 60_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.restoreSecretBackup(backup);
    } catch (error) {
      if (!isRestError(error) || error.statusCode !== 409 || Date.now() > deadline) throw error;
      if (attempt === 1) console.log(`   409 Conflict: the purge is still settling; retrying...`);
      await sleep(pollIntervalInMs);
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
