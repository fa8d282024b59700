/**
 * Listing: secrets page by page with `maxPageSize`, stopping after one page and resuming later
 * from its continuation token, the versions of one secret, and the deleted secrets.
 *
 * Run it with `npm run sample -- listOperations` (a local vault), or against your own vault with
 * `KEYVAULT_URI=https://<name>.vault.azure.net npm run sample -- listOperations`.
 */
import type { SecretClient } from "keyvault-secrets";
import { canPurge, connect, deleteAndPurge, uniqueName } from "./vault.js";

async function main(): Promise<void> {
  const { client, pollIntervalInMs, description, close } = await connect();
  console.log(`Listing secrets in ${description}.`);
  // Every secret of this run starts with this prefix, so we can tell ours apart in a shared vault.
  const prefix = uniqueName("list");
  const names = [1, 2, 3, 4, 5].map((n) => `${prefix}-${n}`);
  const created: string[] = [];
  const deleted: string[] = [];

  try {
    console.log(`\nCreating ${names.length} secrets named ${prefix}-1 to -${names.length}...`);
    for (const name of names) {
      await client.setSecret(name, `value of ${name}`);
      created.push(name);
    }

    console.log(`\nThe first page, at most 2 secrets per page:`);
    const firstPage = await client.listPropertiesOfSecrets().byPage({ maxPageSize: 2 }).next();
    // A page is an array of secret properties with the token of the next page.
    const page = firstPage.done ? [] : firstPage.value;
    for (const properties of page) {
      console.log(`   ${properties.name}`);
    }
    const token = page.continuationToken;
    console.log(
      `   ... and we stop here. Token of the next page: ${token ? "yes" : "none (last page)"}`,
    );

    // The token is a string: store it, and resume later, even in another process.
    const seen = new Set(page.map((properties) => properties.name));
    if (token) {
      console.log(`\nResuming from the token, page by page:`);
      let pageNumber = 2;
      for await (const nextPage of client
        .listPropertiesOfSecrets()
        .byPage({ continuationToken: token, maxPageSize: 2 })) {
        console.log(
          `   page ${pageNumber++}: ${nextPage.map((p) => p.name).join(", ") || "(empty)"}`,
        );
        nextPage.forEach((properties) => seen.add(properties.name));
      }
    }
    const missing = names.filter((name) => !seen.has(name));
    if (missing.length > 0) {
      throw new Error(`The listing missed ${missing.join(", ")}.`);
    }
    console.log(`Across the pages we saw all ${names.length} secrets of this run.`);

    const versioned = names[0]!;
    console.log(`\nAdding two more versions to ${versioned}, then listing its versions:`);
    await client.setSecret(versioned, "second value");
    await client.setSecret(versioned, "third value", { enabled: false });
    for await (const version of client.listPropertiesOfSecretVersions(versioned)) {
      console.log(
        `   version ${version.version}: created ${version.createdOn?.toISOString()}, enabled: ${version.enabled}`,
      );
    }

    console.log(`\nDeleting two secrets, then listing the deleted secrets of this run:`);
    for (const name of names.slice(3)) {
      const poller = await client.beginDeleteSecret(name, { intervalInMs: pollIntervalInMs });
      await poller.pollUntilDone();
      deleted.push(name);
    }
    for await (const deletedSecret of client.listDeletedSecrets()) {
      if (deletedSecret.name.startsWith(prefix)) {
        console.log(
          `   ${deletedSecret.name}: deleted ${deletedSecret.deletedOn?.toISOString()}, scheduled purge ${deletedSecret.scheduledPurgeDate?.toISOString()}`,
        );
      }
    }
  } finally {
    console.log(`\nCleaning up the secrets of this run...`);
    await cleanUp(client, created, deleted, pollIntervalInMs);
    await close();
  }
  console.log(`Done.`);
}

/** Deletes and purges the secrets this run created; those already deleted are only purged. */
async function cleanUp(
  client: SecretClient,
  created: string[],
  deleted: string[],
  pollIntervalInMs: number,
): Promise<void> {
  for (const name of created) {
    try {
      if (deleted.includes(name)) {
        const deletedSecret = await client.getDeletedSecret(name);
        if (canPurge(deletedSecret.properties.recoveryLevel)) await client.purgeDeletedSecret(name);
      } else {
        await deleteAndPurge(client, name, pollIntervalInMs);
      }
    } catch (error) {
      // Keep cleaning up the others, but do not report success.
      console.error(`   Could not clean up ${name}:`, error);
      process.exitCode = 1;
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
