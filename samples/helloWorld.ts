/**
 * Hello, Key Vault: the quick start. Stores a secret, reads it back, changes its properties,
 * lists the vault's secrets, deletes the secret (waiting for the deletion with a poller) and
 * purges it.
 *
 * Run it with `npm start` or `npm run sample -- helloWorld`: against a local vault started for the
 * run, or against your own vault with `KEYVAULT_URI=https://<name>.vault.azure.net` (signed in
 * through `DefaultAzureCredential`, e.g. `az login`).
 */
import { canPurge, connect, deleteAndPurge, mask, uniqueName } from "./vault.js";

async function main(): Promise<void> {
  const { client, pollIntervalInMs, description, close } = await connect();
  console.log(`Hello, Key Vault! Using ${description}.`);
  const secretName = uniqueName("hello");
  let removed = false;

  try {
    console.log(`\n1. Storing the secret "${secretName}"...`);
    const created = await client.setSecret(secretName, "my-database-password", {
      contentType: "text/plain",
      tags: { app: "hello-world" },
    });
    console.log(`   Stored version ${created.properties.version}.`);

    console.log(`\n2. Reading it back...`);
    const secret = await client.getSecret(secretName);
    console.log(
      `   Its value is ${mask(secret.value)}, content type "${secret.properties.contentType}".`,
    );

    console.log(`\n3. Tagging it and giving it an expiry date (the value does not change)...`);
    const expiresOn = new Date(Date.now() + 90 * 24 * 60 * 60 * 1000);
    const updated = await client.updateSecretProperties(secretName, secret.properties.version!, {
      tags: { app: "hello-world", owner: "samples" },
      expiresOn,
    });
    console.log(
      `   Tags are now ${JSON.stringify(updated.tags)}; it expires on ${updated.expiresOn?.toISOString()}.`,
    );

    console.log(
      `\n4. Listing the secrets of the vault (names and properties only, never values)...`,
    );
    let count = 0;
    for await (const properties of client.listPropertiesOfSecrets()) {
      count++;
      if (properties.name === secretName) {
        console.log(`   Found "${properties.name}", enabled: ${properties.enabled}.`);
      }
    }
    console.log(`   The vault holds ${count} secret(s).`);

    console.log(`\n5. Deleting it; a poller waits until the deletion has finished...`);
    const poller = await client.beginDeleteSecret(secretName, { intervalInMs: pollIntervalInMs });
    const deleted = await poller.pollUntilDone();
    console.log(
      `   Deleted on ${deleted.deletedOn?.toISOString()}; it could be recovered until ${deleted.scheduledPurgeDate?.toISOString()}.`,
    );

    console.log(`\n6. Purging it, so that the name is free again...`);
    const recoveryLevel = deleted.properties.recoveryLevel;
    if (!deleted.recoveryId) {
      console.log(
        `   Nothing to purge: this vault has no soft delete, the secret is already gone.`,
      );
    } else if (canPurge(recoveryLevel)) {
      await client.purgeDeletedSecret(secretName);
      console.log(`   Purged.`);
    } else {
      console.log(
        `   This vault does not allow purging (${recoveryLevel}); it is kept until its scheduled purge date.`,
      );
    }
    removed = true;

    console.log(`\nDone: the secret was stored, read, updated, listed, deleted and purged.`);
  } finally {
    // If a step failed, do not leave the secret behind in a real vault.
    if (!removed) await deleteAndPurge(client, secretName, pollIntervalInMs).catch(() => {});
    await close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
