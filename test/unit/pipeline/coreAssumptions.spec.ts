/**
 * Every assumption src/pipeline/ makes about @azure/core-rest-pipeline (and core-tracing) that core
 * does not promise: one test each, named for it, so that a core upgrade that breaks one fails here
 * by name. Each test asks core itself; where ours mirrors core, both are run on the same input.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  createDefaultHttpClient,
  createHttpHeaders,
  createPipelineFromOptions,
  createPipelineRequest,
  decompressResponsePolicyName,
  formDataPolicyName,
  logPolicyName,
  multipartPolicyName,
  proxyPolicy as coreProxyPolicy,
  proxyPolicyName,
  redirectPolicy as coreRedirectPolicy,
  redirectPolicyName,
  RestError,
  retryPolicy as coreRetryPolicy,
  setClientRequestIdPolicy as coreRequestIdPolicy,
  setClientRequestIdPolicyName,
  tracingPolicy as coreTracingPolicy,
  tracingPolicyName as coreTracingPolicyName,
  userAgentPolicy as coreUserAgentPolicy,
  userAgentPolicyName,
  type HttpClient,
  type PipelinePolicy,
  type PipelineRequest,
  type PipelineResponse,
  type RetryStrategy,
  type SendRequest,
} from "@azure/core-rest-pipeline";
import { useInstrumenter, type Instrumenter } from "@azure/core-tracing";
import type { AzureLogger } from "@azure/logger";
import nock from "nock";
import {
  defaultRetryPolicyName,
  hasDefaultProxy,
  proxyVariables,
  requestIdPolicy,
  wrapAbortSignalLikePolicyName,
} from "../../../src/pipeline/corePolicies.js";
import { createKeyVaultHttpClient } from "../../../src/pipeline/keyVaultHttpClient.js";
import { isRetryEvent, keyVaultRetryPolicy } from "../../../src/pipeline/keyVaultRetryPolicy.js";
import { replayFirst } from "../../../src/pipeline/replayFirst.js";
import { requestLogPolicy } from "../../../src/pipeline/requestLogPolicy.js";
import { coreVersionIn, tracingPolicy } from "../../../src/pipeline/tracingPolicy.js";
import { computeUserAgent } from "../../../src/pipeline/userAgentPolicy.js";
import {
  retryAfterStrategy,
  throttledBackoffStrategy,
  transientFailureStrategy,
} from "../../../src/policies/retryStrategies.js";
import { httpAnswer, inMemoryAgent } from "../../helpers/inMemoryConnection.js";
import { useDefaultInstrumenter } from "../../helpers/instrumenters.js";

const vaultUrl = "https://myvault.vault.azure.net";
const userAgentPrefix = "keyvault-secrets/0.0.0-test";

function request(
  path = "/secrets/a?api-version=7.6",
  method: "GET" | "PUT" = "GET",
): PipelineRequest {
  return createPipelineRequest({ url: `${vaultUrl}${path}`, method });
}

function answer(
  sent: PipelineRequest,
  status: number,
  headers: Record<string, string> = {},
): PipelineResponse {
  return { request: sent, status, headers: createHttpHeaders(headers), bodyAsText: "{}" };
}

/** A `next` that answers `status` and counts its calls. */
function answering(status: number, headers: Record<string, string> = {}) {
  const calls: string[] = [];
  const next: SendRequest = (sent) => {
    calls.push(sent.url);
    return Promise.resolve(answer(sent, status, headers));
  };
  return { next, calls };
}

function names(pipelinePolicies: readonly PipelinePolicy[]): string[] {
  return pipelinePolicies.map((policy) => policy.name);
}

/** Core's own policy of that name, as its default pipeline holds it. */
function corePolicy(name: string): PipelinePolicy {
  const policy = createPipelineFromOptions({})
    .getOrderedPolicies()
    .find((candidate) => candidate.name === name);
  assert.ok(policy, `core's default pipeline has no ${name}`);
  return policy;
}

/** A logger that keeps every line it is given, by level. */
function capturingLogger(): { logger: AzureLogger; lines: Array<{ level: string; text: string }> } {
  const lines: Array<{ level: string; text: string }> = [];
  const at = (level: string) =>
    Object.assign((message: unknown) => lines.push({ level, text: String(message) }), {
      enabled: true,
    });
  const logger = {
    info: at("info"),
    warning: at("warning"),
    error: at("error"),
    verbose: at("verbose"),
  } as unknown as AzureLogger;
  return { logger, lines };
}

/** The `@azure/core-rest-pipeline` installed. */
function installedCoreVersion(): string {
  const packageJson = new URL(
    "../../../node_modules/@azure/core-rest-pipeline/package.json",
    import.meta.url,
  );
  return (JSON.parse(readFileSync(packageJson, "utf8")) as { version: string }).version;
}

describe("core assumptions (src/pipeline/): what core does that the pipeline rests on", function () {
  describe("policy names and order (clientPipeline.ts, corePolicies.ts)", function () {
    it("core adds its default retry and abort-signal policies as defaultRetryPolicy and wrapAbortSignalLikePolicy, names it does not export", function () {
      const added = names(createPipelineFromOptions({}).getOrderedPolicies());
      assert.ok(added.includes(defaultRetryPolicyName), added.join(", "));
      assert.ok(added.includes(wrapAbortSignalLikePolicyName), added.join(", "));
    });

    it("core adds every policy the assembly removes or replaces, under the exported name it is removed by", function () {
      const added = names(createPipelineFromOptions({}).getOrderedPolicies());
      for (const name of [
        proxyPolicyName,
        decompressResponsePolicyName,
        formDataPolicyName,
        userAgentPolicyName,
        setClientRequestIdPolicyName,
        multipartPolicyName,
        coreTracingPolicyName,
        redirectPolicyName,
        logPolicyName,
      ]) {
        assert.ok(added.includes(name), `${name} is not in ${added.join(", ")}`);
      }
      assert.equal(tracingPolicy().name, coreTracingPolicyName);
    });

    it("core's pipeline begins with proxy, abort signal, user agent and request id, in that order (with the policies the assembly removes among them)", function () {
      // The assembly takes these four out and puts them back, in this order, ahead of the rest.
      const removed = [decompressResponsePolicyName, formDataPolicyName];
      const kept = names(createPipelineFromOptions({}).getOrderedPolicies()).filter(
        (name) => !removed.includes(name),
      );
      assert.deepEqual(kept.slice(0, 4), [
        proxyPolicyName,
        wrapAbortSignalLikePolicyName,
        userAgentPolicyName,
        setClientRequestIdPolicyName,
      ]);
    });

    it("core orders its retry policy, then its tracing policy, then its redirect policy", function () {
      const added = names(createPipelineFromOptions({}).getOrderedPolicies());
      const retry = added.indexOf(defaultRetryPolicyName);
      const tracing = added.indexOf(coreTracingPolicyName);
      const redirect = added.indexOf(redirectPolicyName);
      assert.ok(retry >= 0 && tracing === retry + 1 && redirect === tracing + 1, added.join(", "));
    });

    it("core's getOrderedPolicies hands out the same array until a policy is added or removed", function () {
      const pipeline = createPipelineFromOptions({});
      const first = pipeline.getOrderedPolicies();
      assert.equal(pipeline.getOrderedPolicies(), first);
      pipeline.addPolicy({ name: "mark", sendRequest: (sent, next) => next(sent) });
      const added = pipeline.getOrderedPolicies();
      assert.notEqual(added, first);
      assert.equal(pipeline.getOrderedPolicies(), added);
      pipeline.removePolicy({ name: "mark" });
      assert.notEqual(pipeline.getOrderedPolicies(), added);
    });

    it("core's tlsPolicy puts the one tlsOptions object on every request (the client's agents are keyed by it)", async function () {
      const pipeline = createPipelineFromOptions({ tlsOptions: { ca: "a CA" } });
      const seen: unknown[] = [];
      const httpClient: HttpClient = {
        sendRequest: (sent) => {
          seen.push(sent.tlsSettings);
          return Promise.resolve(answer(sent, 200));
        },
      };
      await pipeline.sendRequest(httpClient, request());
      await pipeline.sendRequest(httpClient, request("/secrets/b"));
      assert.ok(seen[0] !== undefined && seen[0] === seen[1]);
    });
  });

  describe("the headers core's first policies set (userAgentPolicy.ts, corePolicies.ts)", function () {
    it("core's user agent policy sends one value whatever the request, and keeps a request's own", async function () {
      const values: Array<string | undefined> = [];
      const policy = coreUserAgentPolicy({ userAgentPrefix });
      for (const sent of [request(), request("/secrets/b", "PUT")]) {
        await policy.sendRequest(sent, (seen) => Promise.resolve(answer(seen, 200)));
        values.push(sent.headers.get("user-agent"));
      }
      const computed = await computeUserAgent(userAgentPrefix).ready;
      assert.deepEqual(values, [computed, computed]);
      assert.ok(computed.startsWith(`${userAgentPrefix} `), computed);
      const own = request();
      own.headers.set("User-Agent", "mine");
      await policy.sendRequest(own, (seen) => Promise.resolve(answer(seen, 200)));
      assert.equal(own.headers.get("user-agent"), "mine");
    });

    it("core's User-Agent names the installed core as core-rest-pipeline/<version> (the HTTP spans' package version)", async function () {
      const value = await computeUserAgent(userAgentPrefix).ready;
      assert.equal(coreVersionIn(value), installedCoreVersion(), value);
    });

    it("core's request id policy sets x-ms-client-request-id, or the header named, to the request's id unless it has one", async function () {
      for (const headerName of [undefined, "x-my-request-id"]) {
        for (const preset of [undefined, "caller-id"]) {
          const results = [];
          for (const policy of [coreRequestIdPolicy(headerName), requestIdPolicy(headerName)]) {
            const sent = request();
            if (preset !== undefined)
              sent.headers.set(headerName ?? "x-ms-client-request-id", preset);
            await policy.sendRequest(sent, (seen) => Promise.resolve(answer(seen, 200)));
            const headers = sent.headers.toJSON();
            // Each request has its own id: compare where it went.
            for (const [name, value] of Object.entries(headers)) {
              if (value === sent.requestId) headers[name] = "<request id>";
            }
            results.push(headers);
          }
          assert.deepEqual(results[1], results[0], `${headerName}, ${preset}`);
        }
      }
    });
  });

  describe("policies entered only when they have work (corePolicies.ts, redirectPolicy.ts)", function () {
    const saved = new Map<string, string | undefined>();
    const allProxyVariables = proxyVariables.flatMap((name) => [name, name.toLowerCase()]);
    beforeEach(function () {
      for (const name of allProxyVariables) {
        saved.set(name, process.env[name]);
        delete process.env[name];
      }
    });
    afterEach(function () {
      for (const [name, value] of saved) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    });

    it("core's abort-signal policy leaves a request without a signal as it is", async function () {
      const sent = request();
      let seen: PipelineRequest | undefined;
      await corePolicy(wrapAbortSignalLikePolicyName).sendRequest(sent, (passed) => {
        seen = passed;
        return Promise.resolve(answer(passed, 200));
      });
      assert.equal(seen, sent);
      assert.equal(sent.abortSignal, undefined);
    });

    it("core's proxy policy takes a default proxy only from its options or HTTPS_PROXY, ALL_PROXY, HTTP_PROXY (either case)", async function () {
      const agentAfter = async (policy: PipelinePolicy): Promise<unknown> => {
        const sent = request();
        await policy.sendRequest(sent, (passed) => Promise.resolve(answer(passed, 200)));
        return sent.agent;
      };
      assert.equal(await agentAfter(coreProxyPolicy()), undefined);
      assert.equal(hasDefaultProxy(undefined), false);
      const options = { host: "http://proxy.example", port: 8080 };
      assert.notEqual(await agentAfter(coreProxyPolicy(options)), undefined);
      assert.equal(hasDefaultProxy(options), true);
      for (const name of allProxyVariables) {
        process.env[name] = "http://proxy.example:8080";
        assert.notEqual(await agentAfter(coreProxyPolicy()), undefined, name);
        assert.equal(hasDefaultProxy(undefined), true, name);
        delete process.env[name];
      }
    });

    it("core's redirect policy passes any other answer on as it is, and follows a 3xx handed to it as its first attempt", async function () {
      const policy = coreRedirectPolicy();
      const ok = answer(request(), 200);
      const passedOn = answering(200);
      assert.equal(
        await policy.sendRequest(request(), replayFirst({ response: ok }, passedOn.next)),
        ok,
      );
      assert.deepEqual(passedOn.calls, []);

      const sent = request();
      const moved = answer(sent, 301, { location: `${vaultUrl}/secrets/moved` });
      const followed = answering(200);
      const response = await policy.sendRequest(
        sent,
        replayFirst({ response: moved }, followed.next),
      );
      assert.equal(response.status, 200);
      assert.deepEqual(followed.calls, [`${vaultUrl}/secrets/moved`]);
    });
  });

  describe("what the retry replacement reproduces (keyVaultRetryPolicy.ts, replayFirst.ts)", function () {
    const ourStrategies = (): RetryStrategy[] => [
      retryAfterStrategy(3),
      throttledBackoffStrategy({ retryDelayInMs: 0 }, 3),
      transientFailureStrategy({ retryDelayInMs: 0 }, 3),
    ];

    it("core's retry loop takes an answer or error already received, handed to it through next, as its first attempt", async function () {
      const unavailable = answer(request(), 503);
      const sent = request();
      const later = answering(200);
      const response = await coreRetryPolicy(ourStrategies()).sendRequest(
        sent,
        replayFirst({ response: unavailable }, later.next),
      );
      assert.equal(response.status, 200);
      assert.equal(later.calls.length, 1);

      const reset = new RestError("socket hang up", { code: "ECONNRESET", request: sent });
      const afterError = answering(200);
      const recovered = await coreRetryPolicy(ourStrategies()).sendRequest(
        request(),
        replayFirst({ error: reset }, afterError.next),
      );
      assert.equal(recovered.status, 200);
      assert.equal(afterError.calls.length, 1);
    });

    it("core's retry loop gives back an answer no strategy retries as it is, after one attempt (what the first-attempt shortcut returns)", async function () {
      for (const status of [200, 201, 204, 301, 400, 401, 403, 404, 409, 501, 505]) {
        const viaCore = answering(status);
        const fromCore = await coreRetryPolicy(ourStrategies()).sendRequest(
          request(),
          viaCore.next,
        );
        const viaOurs = answering(status);
        const fromOurs = await keyVaultRetryPolicy({ retryDelayInMs: 0 }).sendRequest(
          request(),
          viaOurs.next,
        );
        assert.equal(fromCore.status, status);
        assert.equal(fromOurs.status, status);
        assert.deepEqual([viaCore.calls.length, viaOurs.calls.length], [1, 1], String(status));
      }
    });

    it("core's retry loop words its info lines so that only a retry or giving up reads as one (the retry log)", async function () {
      const { logger, lines } = capturingLogger();
      const again: RetryStrategy = {
        name: "again",
        retry: ({ response }) =>
          response?.status === 503 ? { retryAfterInMs: 0 } : { skipStrategy: true },
      };
      // One success; then a 503 retried once before the loop gives up (maxRetries 1).
      await coreRetryPolicy([again], { maxRetries: 1, logger }).sendRequest(
        request(),
        answering(200).next,
      );
      const perRequest = lines.filter((line) => line.level === "info").map((line) => line.text);
      lines.length = 0;
      await coreRetryPolicy([again], { maxRetries: 1, logger }).sendRequest(
        request(),
        answering(503).next,
      );
      const retried = lines.filter((line) => line.level === "info").map((line) => line.text);
      assert.ok(perRequest.length >= 3, perRequest.join("\n"));
      assert.deepEqual(perRequest.filter(isRetryEvent), [], "a request not retried is quiet");
      const events = retried.filter(isRetryEvent);
      assert.equal(events.length, 2, retried.join("\n"));
      assert.match(events[0]!, /again/);
      assert.match(events[1]!, /Maximum retries/);
    });
  });

  describe("what the log replacement reproduces (requestLogPolicy.ts)", function () {
    it("core's log policy writes the view of the request it is given, and a status line beginning Response status code: ", async function () {
      const lines: string[] = [];
      const log = Object.assign((message: unknown) => lines.push(String(message)), {
        enabled: true,
        namespace: "test",
        destroy: () => false,
        log: () => {},
        extend: () => log,
      });
      const sent = request();
      sent.tlsSettings = { key: "PRIVATE KEY" };
      await requestLogPolicy({ logger: log }).sendRequest(sent, (passed) =>
        Promise.resolve(answer(passed, 200)),
      );
      const requestLine = lines.find((line) => line.startsWith("Request: "));
      assert.ok(requestLine !== undefined && requestLine.includes("/secrets/a"), lines.join("\n"));
      assert.ok(!requestLine.includes("PRIVATE KEY") && !requestLine.includes("tlsSettings"));
      // The elapsed time is appended only to a line that begins with core's status prefix.
      assert.ok(
        lines.some((line) => /^Response status code: 200 \(\d+ ms\)$/.test(line)),
        lines.join("\n"),
      );
    });
  });

  describe("the HTTP span (tracingPolicy.ts)", function () {
    afterEach(useDefaultInstrumenter);

    it("core's tracing policy starts the span ours starts: name, kind, package and version, attributes, status", async function () {
      const recorded: unknown[] = [];
      const recorder: Instrumenter = {
        startSpan(name, spanOptions) {
          const span: Record<string, unknown> = {
            name,
            kind: spanOptions.spanKind,
            packageName: spanOptions.packageName,
            packageVersion: spanOptions.packageVersion,
            attributes: { ...spanOptions.spanAttributes },
          };
          recorded.push(span);
          return {
            span: {
              end: () => {},
              setAttribute: (key, value) => {
                (span.attributes as Record<string, unknown>)[key] = value;
              },
              setStatus: (status) => {
                span.status = status.status;
              },
              recordException: () => {},
              isRecording: () => true,
            },
            tracingContext: spanOptions.tracingContext ?? {
              getValue: () => undefined,
              setValue() {
                return this;
              },
              deleteValue() {
                return this;
              },
            },
          };
        },
        withContext: (_context, callback, ...args) => callback(...args),
        parseTraceparentHeader: () => undefined,
        createRequestHeaders: () => ({}),
      };
      useInstrumenter(recorder);
      const options = { userAgentPrefix, additionalAllowedQueryParameters: ["maxresults"] };
      const spans: unknown[] = [];
      for (const policy of [coreTracingPolicy(options), tracingPolicy(options)]) {
        for (const status of [200, 404]) {
          recorded.length = 0;
          const sent = request("/secrets?api-version=7.6&maxresults=5&other=hidden");
          await policy.sendRequest(sent, (passed) =>
            Promise.resolve(answer(passed, status, { "x-ms-request-id": "service-1" })),
          );
          assert.equal(recorded.length, 1);
          const span = recorded[0] as { attributes: Record<string, unknown> };
          assert.equal(span.attributes.requestId, sent.requestId);
          span.attributes.requestId = "<request id>";
          spans.push(span);
        }
      }
      assert.deepEqual(spans.slice(2), spans.slice(0, 2));
    });
  });

  describe("the transport (keyVaultHttpClient.ts, responseHeaders.ts)", function () {
    // nock holds requests that do not come from a real socket: off while these run.
    let nockWasActive = false;
    before(function () {
      nockWasActive = nock.isActive();
      if (nockWasActive) nock.restore();
    });
    after(function () {
      if (nockWasActive) nock.activate();
    });

    /** What core's client and the lean transport write, and what they read, for one answer. */
    async function exchangeWithBoth(
      build: () => PipelineRequest,
      answerText: string,
    ): Promise<{ written: string[]; headers: Array<Record<string, string>> }> {
      const written: string[] = [];
      const headers: Array<Record<string, string>> = [];
      for (const kind of ["core", "lean"]) {
        const { agent, requests } = inMemoryAgent(() => answerText, "https:");
        const sent = build();
        let response: PipelineResponse;
        if (kind === "core") {
          sent.agent = agent;
          response = await createDefaultHttpClient().sendRequest(sent);
        } else {
          const unused: HttpClient = { sendRequest: () => Promise.reject(new Error("unused")) };
          response = await createKeyVaultHttpClient(unused, () => agent).sendRequest(sent);
        }
        agent.destroy();
        written.push(requests[0]!);
        headers.push(response.headers.toJSON());
      }
      return { written, headers };
    }

    /** A written request's request line, body, and header lines with lower-case names, sorted. */
    function normalized(written: string): string[] {
      const [head, body] = written.split("\r\n\r\n");
      const [requestLine, ...headerLines] = head!.split("\r\n");
      const lines = headerLines.map((line) => {
        const colon = line.indexOf(":");
        return `${line.slice(0, colon).toLowerCase()}:${line.slice(colon + 1)}`;
      });
      return [requestLine!, `body ${body}`, ...lines.sort()];
    }

    it("core's client writes the request the lean transport writes: Host, Content-Length and the request's headers", async function () {
      const ok = httpAnswer("200 OK", [["Content-Type", "application/json"]], "{}");
      for (const build of [
        () => {
          const sent = request();
          sent.headers.set("Accept", "application/json");
          return sent;
        },
        () => {
          const sent = request("/secrets/a?api-version=7.6", "PUT");
          sent.headers.set("Content-Type", "application/json");
          sent.body = '{"value":"é"}';
          return sent;
        },
      ]) {
        const { written } = await exchangeWithBoth(build, ok);
        assert.deepEqual(normalized(written[1]!), normalized(written[0]!));
      }
    });

    it("core's client reads the response headers the lean transport reads, except set-cookie (core keeps its first)", async function () {
      const repeated: Array<[string, string]> = [];
      for (const name of [
        "ETag",
        "Vary",
        "Retry-After",
        "Cookie",
        "WWW-Authenticate",
        "Set-Cookie",
      ]) {
        repeated.push([name, "first"], [name.toLowerCase(), "second"]);
      }
      const { headers } = await exchangeWithBoth(
        () => request(),
        httpAnswer("200 OK", [["X-Single", "one"], ...repeated], "{}"),
      );
      const [core, lean] = headers as [Record<string, string>, Record<string, string>];
      assert.equal(core["set-cookie"], "first");
      assert.equal(lean["set-cookie"], "first, second");
      delete core["set-cookie"];
      delete lean["set-cookie"];
      assert.deepEqual(lean, core);
    });
  });
});
