/**
 * Raw requests: sends GET requests of your own through the client's pipeline, which
 * authenticates them, retries them, adds the api-version and logs them, as it does for the
 * client's own methods. Useful for a REST operation the client does not offer (yet).
 *
 * `createPipelineRequest` comes from `@azure/core-rest-pipeline` (`npm install @azure/core-rest-pipeline`).
 *
 * Run it with `npm run sample -- sendRequest` (a local vault), or against your own vault with
 * `KEYVAULT_URI=https://<name>.vault.azure.net npm run sample -- sendRequest`.
 */
import { createPipelineRequest } from "@azure/core-rest-pipeline";
import { connect, deleteAndPurge, uniqueName } from "./vault.js";

async function main(): Promise<void> {
  const { client, pollIntervalInMs, description, close } = await connect();
  console.log(`Sending raw requests to ${description}.`);
  const secretName = uniqueName("raw");
  let created = false;

  try {
    console.log(`\nStoring "${secretName}" with the client...`);
    await client.setSecret(secretName, "raw value", { contentType: "text/plain" });
    created = true;

    console.log(`\nGET /secrets/${secretName}/versions, built by hand:`);
    // A URL relative to the vault; the pipeline adds api-version and the Authorization header.
    const request = createPipelineRequest({
      url: `/secrets/${secretName}/versions?maxresults=5`,
      method: "GET",
    });
    const response = await client.sendRequest(request);
    console.log(
      `   status ${response.status}, request id ${response.headers.get("x-ms-request-id")}`,
    );
    // The versions list has properties only, no values: safe to print.
    const body = JSON.parse(response.bodyAsText ?? "{}") as {
      value: Array<{ id: string; contentType?: string; attributes: { enabled: boolean } }>;
    };
    for (const item of body.value) {
      console.log(
        `   ${item.id}: contentType ${item.contentType}, enabled ${item.attributes.enabled}`,
      );
    }

    console.log(`\nGET of a secret that does not exist: the status is returned, not thrown:`);
    const missing = await client.sendRequest(
      createPipelineRequest({ url: `/secrets/${secretName}-missing`, method: "GET" }),
    );
    const error = JSON.parse(missing.bodyAsText ?? "{}") as { error?: { code?: string } };
    console.log(`   status ${missing.status}, error code ${error.error?.code}`);
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
