import assert from "node:assert/strict";
import {
  createHttpHeaders,
  type HttpClient,
  type PipelineRequest,
  type PipelineResponse,
} from "@azure/core-rest-pipeline";
import { createClientPipeline } from "../../../src/clientPipeline.js";
import type { SecretClientOptions } from "../../../src/models.js";
import { clearChallengeCache } from "../../../src/policies/challengeCache.js";
import { fakeCredential, makeRequest } from "./fakes.js";

const vaultUrl = "https://myvault.vault.azure.net";
const challenge = `Bearer authorization="https://login.windows.net/tenant-1", resource="https://vault.azure.net"`;

interface Answer {
  status: number;
  headers?: Record<string, string>;
}

interface Seen {
  url: string;
  authorization: string | undefined;
  body: unknown;
}

// A fake transport (no sockets): answers from a script and records what reached it.
function scriptedClient(
  answer: (request: PipelineRequest, index: number) => Answer,
): HttpClient & { seen: Seen[] } {
  const seen: Seen[] = [];
  return {
    seen,
    async sendRequest(request: PipelineRequest): Promise<PipelineResponse> {
      const index = seen.length;
      seen.push({
        url: request.url,
        authorization: request.headers.get("Authorization"),
        body: request.body,
      });
      const { status, headers = {} } = answer(request, index);
      return { request, status, headers: createHttpHeaders(headers), bodyAsText: "{}" };
    },
  };
}

// The assembly the client uses, with fast retries.
function keyVaultPipeline(credential = fakeCredential(), options: SecretClientOptions = {}) {
  const { pipeline } = createClientPipeline({
    vaultUrl,
    credential,
    apiVersion: "7.6",
    options: { retryOptions: { retryDelayInMs: 1 }, ...options },
  });
  return { pipeline, credential };
}

describe("Key Vault policies in a core pipeline", function () {
  beforeEach(function () {
    clearChallengeCache();
  });

  it("orders retry before redirect (with the Location guard just inside it) before challenge authentication", function () {
    const { pipeline } = keyVaultPipeline();
    const names = pipeline.getOrderedPolicies().map((policy) => policy.name);
    for (const absent of [
      "defaultRetryPolicy",
      "formDataPolicy",
      "multipartPolicy",
      "decompressResponsePolicy",
    ]) {
      assert.ok(!names.includes(absent), `${absent} is not in ${names.join(", ")}`);
    }
    const retry = names.indexOf("keyVaultRetryPolicy");
    const redirect = names.indexOf("redirectPolicy");
    const guard = names.indexOf("keyVaultRedirectLocationPolicy");
    const sign = names.indexOf("keyVaultChallengeAuthenticationPolicy");
    assert.ok(retry >= 0 && redirect > retry && guard > redirect, names.join(", "));
    assert.ok(sign > guard, names.join(", "));
  });

  it("authenticates, survives a 429 without Retry-After, and sends the body on every attempt", async function () {
    const { pipeline, credential } = keyVaultPipeline();
    const client = scriptedClient((request, index) => {
      if (!request.headers.has("Authorization")) {
        return { status: 401, headers: { "WWW-Authenticate": challenge } };
      }
      return index === 1 ? { status: 429 } : { status: 200 };
    });
    const body = '{"value":"s3cret"}';
    const response = await pipeline.sendRequest(
      client,
      makeRequest(`${vaultUrl}/secrets/a`, "PUT", body),
    );
    assert.equal(response.status, 200);
    assert.deepEqual(
      client.seen.map((seen) => [seen.authorization, seen.body]),
      [
        [undefined, undefined],
        ["Bearer token-1", body],
        ["Bearer token-1", body],
      ],
    );
    assert.equal(credential.calls.length, 1);
  });

  it("does not carry the token across a redirect to another origin", async function () {
    // Core skips cross-origin redirects unless told otherwise, and drops Authorization on a hop; the
    // challenge policy, which sits after the redirect policy, must not put the token back.
    const { pipeline } = keyVaultPipeline(fakeCredential(), {
      redirectOptions: { allowCrossOriginRedirects: true },
    });
    const client = scriptedClient((request): Answer => {
      if (request.url.startsWith("https://elsewhere.example")) {
        return { status: 200 };
      }
      if (!request.headers.has("Authorization")) {
        return { status: 401, headers: { "WWW-Authenticate": challenge } };
      }
      return { status: 307, headers: { Location: "https://elsewhere.example/secrets/a" } };
    });
    const response = await pipeline.sendRequest(client, makeRequest(`${vaultUrl}/secrets/a`));
    assert.equal(response.status, 200);
    assert.equal(client.seen.length, 3);
    assert.equal(client.seen[1]!.authorization, "Bearer token-1");
    assert.equal(client.seen[2]!.url, "https://elsewhere.example/secrets/a");
    assert.equal(client.seen[2]!.authorization, undefined);
  });
});
