/**
 * The promises one `getSecret` makes: the figure the CPU cost rests on (docs/decisions/0002: each
 * promise is a step through the event loop). The "not async" rules of the hot path (SecretClient,
 * the operations, the pipeline's policies) are guarded here, not by comments; the lean transport's
 * one promise per request is guarded in test/integration/keyVaultHttpClient.spec.ts.
 */
import assert from "node:assert/strict";
import {
  createHttpHeaders,
  type HttpClient,
  type PipelineRequest,
  type PipelineResponse,
} from "@azure/core-rest-pipeline";
import { SecretClient } from "../../../src/index.js";
import { fixedTokenCredential } from "../../helpers/fakeCredential.js";
import { useDefaultInstrumenter } from "../../helpers/instrumenters.js";
import { promisesPerCall } from "../../helpers/promiseCount.js";
import { challengeHeader, token, vaultUrl } from "./helpers.js";

/**
 * Promises per `getSecret` of a client that holds its token, with no instrumenter (spans not
 * recorded), counted from the call to the caller's `await` (included): the figure of
 * docs/decisions/0002 and the README's performance section.
 */
const documentedPromisesPerGetSecret = 10;

const secretBody = JSON.stringify({
  value: "v",
  id: `${vaultUrl}/secrets/a/${"0".repeat(32)}`,
  attributes: { enabled: true, created: 1_700_000_000, updated: 1_700_000_000 },
});

/**
 * A transport in memory that answers as the vault would (a challenge without the token, the
 * secret with it) with one promise per request, as the lean transport does; no socket, so nothing
 * else makes promises meanwhile.
 */
const vaultInMemory: HttpClient = {
  sendRequest(request: PipelineRequest): Promise<PipelineResponse> {
    if (request.headers.get("authorization") !== `Bearer ${token}`) {
      const headers = createHttpHeaders({ "WWW-Authenticate": challengeHeader });
      return Promise.resolve({ request, status: 401, headers, bodyAsText: "{}" });
    }
    const headers = createHttpHeaders({ "content-type": "application/json" });
    return Promise.resolve({ request, status: 200, headers, bodyAsText: secretBody });
  },
};

describe("promises per getSecret", function () {
  before(useDefaultInstrumenter);

  it(`makes at most ${documentedPromisesPerGetSecret}, the documented figure`, async function () {
    const client = new SecretClient(vaultUrl, fixedTokenCredential(token), {
      httpClient: vaultInMemory,
    });
    // The first calls answer the challenge and fetch the token.
    assert.equal((await client.getSecret("a")).value, "v");
    await client.getSecret("a");
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) counts.push(await promisesPerCall(() => client.getSecret("a")));
    assert.ok(
      counts.every((count) => count <= documentedPromisesPerGetSecret),
      `promises per getSecret: ${counts.join(", ")}; documented: ${documentedPromisesPerGetSecret}. ` +
        "A step of the hot path became async, or awaits one more promise (docs/decisions/0002).",
    );
  });
});
