/**
 * Bulk clean-up: deletes and purges every secret whose name starts with a prefix, including the
 * ones already deleted, then checks that none is left. To have something to clean up, it first
 * creates a few secrets under a prefix of its own (one of them already deleted).
 *
 * It never touches a secret outside the prefix. Against a real vault it changes nothing without
 * `--yes`:
 *
 *   npm run sample -- purgeAllSecrets                       # local vault
 *   KEYVAULT_URI=https://<name>.vault.azure.net npm run sample -- purgeAllSecrets --yes
 *
 * `--prefix sample-` cleans up instead what interrupted runs of the other samples left behind
 * (they all name their secrets `sample-...`); it then creates nothing.
 */
import { parseArgs } from "node:util";
import type { SecretClient } from "keyvault-secrets";
import { canPurge, connect, uniqueName } from "./vault.js";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { yes: { type: "boolean", default: false }, prefix: { type: "string" } },
    allowPositionals: true,
  });
  if (values.prefix !== undefined && values.prefix.length < 3) {
    throw new RangeError(
      "--prefix must have at least 3 characters, so it cannot match everything.",
    );
  }
  if (process.env["KEYVAULT_URI"] && !values.yes) {
    console.error(
      `This deletes and purges secrets in ${process.env["KEYVAULT_URI"]}: run it again with --yes.`,
    );
    process.exitCode = 2;
    return;
  }

  const { client, pollIntervalInMs, description, close } = await connect();
  console.log(`Purging secrets by prefix in ${description}.`);
  try {
    let prefix = values.prefix;
    if (prefix === undefined) {
      prefix = `${uniqueName("purge")}-`;
      await createSecretsToPurge(client, prefix, pollIntervalInMs);
    }
    await purgeAllSecrets(client, prefix, pollIntervalInMs);
  } finally {
    await close();
  }
}

/** Creates three secrets under `prefix`, and deletes one of them (without purging it). */
async function createSecretsToPurge(
  client: SecretClient,
  prefix: string,
  pollIntervalInMs: number,
): Promise<void> {
  console.log(`\nCreating secrets ${prefix}a, ${prefix}b and ${prefix}c; deleting ${prefix}c...`);
  for (const suffix of ["a", "b", "c"]) {
    await client.setSecret(`${prefix}${suffix}`, `value ${suffix}`);
  }
  const poller = await client.beginDeleteSecret(`${prefix}c`, { intervalInMs: pollIntervalInMs });
  await poller.pollUntilDone();
}

/**
 * Deletes every secret whose name starts with `prefix`, then purges every deleted secret whose
 * name starts with it, where the vault allows.
 */
async function purgeAllSecrets(
  client: SecretClient,
  prefix: string,
  pollIntervalInMs: number,
): Promise<void> {
  console.log(`\nDeleting the secrets named ${prefix}...`);
  const toDelete: string[] = [];
  for await (const properties of client.listPropertiesOfSecrets()) {
    if (properties.name.startsWith(prefix)) toDelete.push(properties.name);
  }
  // Start every deletion first, then wait for them together.
  const pollers = await Promise.all(
    toDelete.map((name) => client.beginDeleteSecret(name, { intervalInMs: pollIntervalInMs })),
  );
  const justDeleted = await Promise.all(pollers.map((poller) => poller.pollUntilDone()));
  console.log(`   Deleted ${toDelete.length}: ${toDelete.join(", ") || "none"}`);

  console.log(`\nPurging the deleted secrets named ${prefix}...`);
  // The ones just deleted, and those deleted earlier. (A real vault may take a moment to list a
  // secret it has just deleted, so do not rely on the listing alone.)
  const deletedSecrets = new Map(justDeleted.map((deleted) => [deleted.name, deleted]));
  for await (const deleted of client.listDeletedSecrets()) {
    if (deleted.name.startsWith(prefix)) deletedSecrets.set(deleted.name, deleted);
  }
  const purged: string[] = [];
  for (const deleted of deletedSecrets.values()) {
    const recoveryLevel = deleted.properties.recoveryLevel;
    if (!deleted.recoveryId) continue; // no soft delete: already gone
    if (!canPurge(recoveryLevel)) {
      console.log(
        `   ${deleted.name} cannot be purged (${recoveryLevel}); it stays until its purge date.`,
      );
      continue;
    }
    await client.purgeDeletedSecret(deleted.name);
    purged.push(deleted.name);
  }
  console.log(`   Purged ${purged.length}: ${purged.join(", ") || "none"}`);

  let left = 0;
  for await (const properties of client.listPropertiesOfSecrets()) {
    if (properties.name.startsWith(prefix)) left++;
  }
  if (left > 0) throw new Error(`${left} secret(s) named ${prefix}... are still there.`);
  console.log(`\nDone: no secret named ${prefix}... is left.`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
