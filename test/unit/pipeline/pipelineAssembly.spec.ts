import assert from "node:assert/strict";
import {
  createHttpHeaders,
  RestError,
  userAgentPolicy,
  type HttpClient,
  type PipelineRequest,
  type PipelineResponse,
} from "@azure/core-rest-pipeline";
import { createClientPipeline } from "../../../src/pipeline/clientPipeline.js";
import type { SecretClientOptions } from "../../../src/models.js";
import { clearChallengeCache } from "../../../src/policies/challengeCache.js";
import { fakeCredential, makeRequest } from "../../helpers/policyFakes.js";

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
  userAgent: string | undefined;
  requestId: string | undefined;
  agent: unknown;
  abortSignal: unknown;
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
        userAgent: request.headers.get("User-Agent"),
        requestId: request.headers.get("x-ms-client-request-id"),
        agent: request.agent,
        abortSignal: request.abortSignal,
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
    // Our tracing policy stands where core's stood: after retry, before redirect.
    const tracing = names.indexOf("tracingPolicy");
    assert.ok(tracing > retry && redirect === tracing + 1, names.join(", "));
    assert.equal(names.filter((name) => name === "tracingPolicy").length, 1);
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

  it("explains a connection failure once, after the last retry", async function () {
    const failure = new RestError("getaddrinfo ENOTFOUND myvault.vault.azure.net", {
      code: "ENOTFOUND",
    });
    const attemptMessages: string[] = [];
    const unresolved: HttpClient = {
      sendRequest: () => {
        attemptMessages.push(failure.message);
        return Promise.reject(failure);
      },
    };
    const { send } = createClientPipeline({
      vaultUrl,
      credential: fakeCredential(),
      apiVersion: "7.6",
      options: { httpClient: unresolved, retryOptions: { maxRetries: 2, retryDelayInMs: 1 } },
    });
    await assert.rejects(send(makeRequest(`${vaultUrl}/secrets/a`)), failure);
    // Every attempt saw the transport's own message; the caller gets the explanation.
    assert.deepEqual(
      attemptMessages,
      Array(3).fill("getaddrinfo ENOTFOUND myvault.vault.azure.net"),
    );
    assert.match(failure.message, /^The host myvault\.vault\.azure\.net was not found \(/);
    assert.equal(failure.code, "ENOTFOUND");
  });

  it("send composes the policies once, and again after a policy is added or removed", async function () {
    const transport = scriptedClient((request): Answer =>
      request.headers.has("Authorization")
        ? { status: 200 }
        : { status: 401, headers: { "WWW-Authenticate": challenge } },
    );
    const { pipeline, send } = createClientPipeline({
      vaultUrl,
      credential: fakeCredential(),
      apiVersion: "7.6",
      options: { httpClient: transport },
    });
    const marks: string[] = [];
    await send(makeRequest(`${vaultUrl}/secrets/a`));
    pipeline.addPolicy({
      name: "mark",
      sendRequest: (request, next) => {
        marks.push(request.url);
        return next(request);
      },
    });
    await send(makeRequest(`${vaultUrl}/secrets/b`));
    pipeline.removePolicy({ name: "mark" });
    await send(makeRequest(`${vaultUrl}/secrets/c`));
    assert.deepEqual(
      marks.map((url) => new URL(url).pathname),
      ["/secrets/b"],
    );
    assert.equal(transport.seen.at(-1)!.url.includes("/secrets/c"), true);
  });

  describe("core's first policies, entered only when they have work", function () {
    const proxyVariables = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"];
    proxyVariables.push("ALL_PROXY", "all_proxy");
    let saved: Record<string, string | undefined> = {};
    beforeEach(function () {
      saved = {};
      for (const name of proxyVariables) {
        saved[name] = process.env[name];
        delete process.env[name];
      }
    });
    afterEach(function () {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    });
    const ok = scriptedClient.bind(undefined, (request: PipelineRequest): Answer =>
      request.headers.has("Authorization")
        ? { status: 200 }
        : { status: 401, headers: { "WWW-Authenticate": challenge } },
    );

    it("keeps core's names and order", function () {
      const { pipeline } = keyVaultPipeline();
      assert.deepEqual(
        pipeline
          .getOrderedPolicies()
          .slice(0, 4)
          .map((policy) => policy.name),
        ["proxyPolicy", "wrapAbortSignalLikePolicy", "userAgentPolicy", "setClientRequestIdPolicy"],
      );
    });

    it("sends the User-Agent core's policy would, and the request id, keeping a caller's own", async function () {
      const { pipeline } = keyVaultPipeline(fakeCredential(), {
        userAgentOptions: { userAgentPrefix: "my-app/1.0" },
      });
      const scratch = makeRequest("https://localhost");
      await userAgentPolicy({ userAgentPrefix: "my-app/1.0 keyvault-secrets/0.1.0" }).sendRequest(
        scratch,
        async (request) => ({ request, status: 200, headers: createHttpHeaders() }),
      );
      const client = ok();
      const plain = makeRequest(`${vaultUrl}/secrets/a`);
      await pipeline.sendRequest(client, plain);
      const own = makeRequest(`${vaultUrl}/secrets/a`);
      own.headers.set("User-Agent", "mine");
      own.headers.set("x-ms-client-request-id", "my-id");
      await pipeline.sendRequest(client, own);
      const last = client.seen.at(-1)!;
      const first = client.seen[0]!;
      assert.equal(first.userAgent, scratch.headers.get("User-Agent"));
      assert.equal(first.requestId, plain.requestId);
      assert.equal(last.userAgent, "mine");
      assert.equal(last.requestId, "my-id");
    });

    it("puts the request id in the header the telemetry options name", async function () {
      const { pipeline } = keyVaultPipeline(fakeCredential(), {
        telemetryOptions: { clientRequestIdHeaderName: "x-my-request-id" },
      });
      let seen: string | undefined;
      const request = makeRequest(`${vaultUrl}/secrets/a`);
      await pipeline.sendRequest(
        {
          async sendRequest(sent) {
            seen = sent.headers.get("x-my-request-id");
            return { request: sent, status: 404, headers: createHttpHeaders() };
          },
        },
        request,
      );
      assert.equal(seen, request.requestId);
    });

    it("sends through a proxy given in the options or in the environment, else directly", async function () {
      const direct = ok();
      await keyVaultPipeline().pipeline.sendRequest(direct, makeRequest(`${vaultUrl}/secrets/a`));
      assert.ok(direct.seen.every((seen) => seen.agent === undefined));

      const configured = ok();
      await keyVaultPipeline(fakeCredential(), {
        proxyOptions: { host: "http://proxy.example", port: 8080 },
      }).pipeline.sendRequest(configured, makeRequest(`${vaultUrl}/secrets/a`));
      assert.ok(configured.seen.every((seen) => seen.agent !== undefined));

      for (const name of ["https_proxy", "ALL_PROXY"]) {
        process.env[name] = "http://proxy.example:8080";
        const fromEnvironment = ok();
        await keyVaultPipeline().pipeline.sendRequest(
          fromEnvironment,
          makeRequest(`${vaultUrl}/secrets/a`),
        );
        assert.ok(
          fromEnvironment.seen.every((seen) => seen.agent !== undefined),
          name,
        );
        delete process.env[name];
      }

      const perRequest = ok();
      const request = makeRequest(`${vaultUrl}/secrets/a`);
      request.proxySettings = { host: "http://proxy.example", port: 8080 };
      await keyVaultPipeline().pipeline.sendRequest(perRequest, request);
      assert.ok(perRequest.seen.every((seen) => seen.agent !== undefined));
    });

    it("turns an abort signal like into an AbortSignal, and leaves a request without one alone", async function () {
      const client = ok();
      const { pipeline } = keyVaultPipeline();
      await pipeline.sendRequest(client, makeRequest(`${vaultUrl}/secrets/a`));
      const withSignal = makeRequest(`${vaultUrl}/secrets/a`);
      withSignal.abortSignal = {
        aborted: false,
        addEventListener: () => {},
        removeEventListener: () => {},
      } as unknown as AbortSignal;
      await pipeline.sendRequest(client, withSignal);
      assert.equal(client.seen[0]!.abortSignal, undefined);
      assert.ok(client.seen.at(-1)!.abortSignal instanceof AbortSignal);
    });

    it("follows a same-origin redirect of a GET as core does, and gives up after maxRetries", async function () {
      const { pipeline } = keyVaultPipeline(fakeCredential(), {
        redirectOptions: { maxRetries: 2 },
      });
      const client = scriptedClient((request): Answer => {
        if (!request.headers.has("Authorization")) {
          return { status: 401, headers: { "WWW-Authenticate": challenge } };
        }
        if (request.url.endsWith("/moved")) return { status: 200 };
        return { status: 301, headers: { Location: `${vaultUrl}/secrets/moved` } };
      });
      const followed = await pipeline.sendRequest(client, makeRequest(`${vaultUrl}/secrets/a`));
      assert.equal(followed.status, 200);
      assert.equal(client.seen.at(-1)!.url, `${vaultUrl}/secrets/moved`);

      const loop = scriptedClient((request): Answer =>
        request.headers.has("Authorization")
          ? { status: 302, headers: { Location: `${vaultUrl}/secrets/again` } }
          : { status: 401, headers: { "WWW-Authenticate": challenge } },
      );
      const last = await pipeline.sendRequest(loop, makeRequest(`${vaultUrl}/secrets/a`));
      assert.equal(last.status, 302);
      assert.equal(loop.seen.filter((seen) => seen.url.endsWith("/again")).length, 2);
    });
  });
});
