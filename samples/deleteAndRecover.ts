/**
 * Long-running operations: deleting a secret and recovering it with pollers. Shows progress
 * callbacks (`onProgress`), the operation state (`getOperationState`), saving a poller with
 * `toString()` and taking it up again in a new poller with `resumeFrom` (as a process that
 * restarted would), and `pollUntilDone`.
 *
 * Run it with `npm run sample -- deleteAndRecover` (a local vault), or against your own vault with
 * `KEYVAULT_URI=https://<name>.vault.azure.net npm run sample -- deleteAndRecover`.
 */
import { connect, deleteAndPurge, mask, uniqueName } from "./vault.js";

async function main(): Promise<void> {
  const { client, pollIntervalInMs, description, close } = await connect();
  console.log(`Deleting and recovering a secret in ${description}.`);
  const secretName = uniqueName("recover");
  let created = false;

  try {
    console.log(`\nStoring "${secretName}" with two versions...`);
    await client.setSecret(secretName, "first value");
    created = true;
    await client.setSecret(secretName, "second value");

    console.log(`\nStarting the deletion. The poller has sent the request and polled once:`);
    const deletePoller = await client.beginDeleteSecret(secretName, {
      intervalInMs: pollIntervalInMs,
    });
    const startState = deletePoller.getOperationState();
    console.log(
      `   started: ${startState.isStarted}, completed: ${startState.isCompleted === true}`,
    );

    // A poller can be saved as a string (it never holds a secret value) ...
    const saved = deletePoller.toString();
    console.log(`   Saved the poller as a ${saved.length}-character string.`);

    // ... and taken up again later, by a new poller that does not send the delete again.
    console.log(`\nResuming the deletion in a new poller, reporting each poll:`);
    const resumedPoller = await client.beginDeleteSecret(secretName, {
      resumeFrom: saved,
      intervalInMs: pollIntervalInMs,
    });
    resumedPoller.onProgress((state) => {
      console.log(`   progress: completed: ${state.isCompleted === true}`);
    });
    const deleted = await resumedPoller.pollUntilDone();
    console.log(
      `   Deleted. Recovery id ${deleted.recoveryId}, scheduled purge ${deleted.scheduledPurgeDate?.toISOString()}.`,
    );
    const finalState = resumedPoller.getOperationState();
    console.log(
      `   Final state: completed: ${finalState.isCompleted}, error: ${finalState.error ?? "none"}`,
    );

    if (!deleted.recoveryId) {
      console.log(`\nThis vault has no soft delete: there is nothing to recover.`);
      created = false;
      return;
    }

    console.log(`\nThe deleted secret can be read while it waits for its purge date:`);
    const deletedSecret = await client.getDeletedSecret(secretName);
    console.log(`   ${deletedSecret.name}, deleted on ${deletedSecret.deletedOn?.toISOString()}.`);

    console.log(`\nRecovering it, with all its versions...`);
    const recoverPoller = await client.beginRecoverDeletedSecret(secretName, {
      intervalInMs: pollIntervalInMs,
    });
    recoverPoller.onProgress((state) => {
      console.log(`   progress: completed: ${state.isCompleted === true}`);
    });
    const recovered = await recoverPoller.pollUntilDone();
    console.log(`   Recovered "${recovered.name}", latest version ${recovered.version}.`);

    const secret = await client.getSecret(secretName);
    console.log(`   Its value is back: ${mask(secret.value)}.`);
    let versions = 0;
    for await (const _version of client.listPropertiesOfSecretVersions(secretName)) versions++;
    console.log(`   It has ${versions} versions, as before the deletion.`);
  } finally {
    if (created) {
      console.log(`\nCleaning up: deleting and purging "${secretName}"...`);
      await deleteAndPurge(client, secretName, pollIntervalInMs);
    }
    await close();
  }
  console.log(`Done.`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
