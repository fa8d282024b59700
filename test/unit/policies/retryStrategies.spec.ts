import assert from "node:assert/strict";
import {
  createHttpHeaders,
  RestError,
  type PipelineResponse,
  type RetryStrategy,
} from "@azure/core-rest-pipeline";
import {
  retryAfterStrategy,
  throttledBackoffStrategy,
  transientFailureStrategy,
} from "../../../src/policies/retryStrategies.js";
import { logLinesDuring } from "../../helpers/testKit.js";
import { makeRequest } from "../../helpers/policyFakes.js";

// The strategies on their own, as core's retry loop calls them: what each decides for a state,
// and the one info line it writes per retry.

const url = "https://myvault.vault.azure.net/secrets/a?api-version=7.6";
const skip = { skipStrategy: true };
/** A backoff of exactly 1 ms, whatever the jitter. */
const oneMs = { retryDelayInMs: 1, maxRetryDelayInMs: 1 };

function answer(status: number, headers: Record<string, string> = {}): PipelineResponse {
  return { status, headers: createHttpHeaders(headers), request: makeRequest(url) };
}

function networkError(code: string | undefined, response?: PipelineResponse): RestError {
  const error = new RestError("socket hang up", { code, response });
  error.request = makeRequest(url, "PUT");
  return error;
}

/** The info lines of our package while `strategy` decides one state. */
async function retryLinesOf(
  strategy: RetryStrategy,
  state: Parameters<RetryStrategy["retry"]>[0],
): Promise<string[]> {
  const lines = await logLinesDuring("info", () => strategy.retry(state));
  return lines.filter((line) => line.startsWith("azure:keyvault-secrets:info"));
}

describe("retry strategies", function () {
  it("are named as core's retry log lines show them", function () {
    assert.equal(retryAfterStrategy().name, "keyVaultRetryAfterStrategy");
    assert.equal(throttledBackoffStrategy().name, "keyVaultThrottledBackoffStrategy");
    assert.equal(transientFailureStrategy().name, "keyVaultTransientFailureStrategy");
  });

  describe("retryAfterStrategy", function () {
    it("waits what a 429 or 503 asks, until its retries are used up, then skips", function () {
      const strategy = retryAfterStrategy(2);
      const asked = answer(429, { "Retry-After": "3" });
      assert.deepEqual(strategy.retry({ retryCount: 0, response: asked }), {
        retryAfterInMs: 3000,
      });
      assert.deepEqual(
        strategy.retry({ retryCount: 1, response: answer(503, asked.headers.toJSON()) }),
        {
          retryAfterInMs: 3000,
        },
      );
      assert.deepEqual(strategy.retry({ retryCount: 2, response: asked }), skip);
      assert.deepEqual(strategy.retry({ retryCount: 0, response: answer(429) }), skip);
      assert.deepEqual(
        strategy.retry({ retryCount: 0, response: answer(500, asked.headers.toJSON()) }),
        skip,
      );
    });

    it("logs each retry with its number, method, URL without query, wait and reason", async function () {
      const lines = await retryLinesOf(retryAfterStrategy(), {
        retryCount: 1,
        response: answer(429, { "retry-after-ms": "250" }),
      });
      assert.deepEqual(lines, [
        "azure:keyvault-secrets:info Retry 2 of GET https://myvault.vault.azure.net/secrets/a in 250 ms after 429 with a retry-after header.",
      ]);
    });
  });

  describe("throttledBackoffStrategy", function () {
    it("backs off a 429 without a retry-after header, until its retries are used up", function () {
      const strategy = throttledBackoffStrategy(oneMs, 3);
      assert.deepEqual(strategy.retry({ retryCount: 2, response: answer(429) }), {
        retryAfterInMs: 1,
      });
      assert.deepEqual(strategy.retry({ retryCount: 3, response: answer(429) }), skip);
    });

    it("leaves a 429 that says when to come back, and other statuses, to the others", function () {
      const strategy = throttledBackoffStrategy(oneMs);
      assert.deepEqual(
        strategy.retry({ retryCount: 0, response: answer(429, { "Retry-After": "1" }) }),
        skip,
      );
      assert.deepEqual(strategy.retry({ retryCount: 0, response: answer(503) }), skip);
      assert.deepEqual(
        strategy.retry({ retryCount: 0, responseError: networkError("ECONNRESET") }),
        skip,
      );
    });

    it("logs each retry", async function () {
      const lines = await retryLinesOf(throttledBackoffStrategy(oneMs), {
        retryCount: 0,
        response: answer(429),
      });
      assert.deepEqual(lines, [
        "azure:keyvault-secrets:info Retry 1 of GET https://myvault.vault.azure.net/secrets/a in 1 ms after 429 without a retry-after header.",
      ]);
    });
  });

  describe("transientFailureStrategy", function () {
    const connectionCodes = [
      "REQUEST_SEND_ERROR",
      "ECONNRESET",
      "ECONNREFUSED",
      "ECONNABORTED",
      "ETIMEDOUT",
      "ESOCKETTIMEDOUT",
      "EPIPE",
      "ENOTFOUND",
      "EAI_AGAIN",
      "EHOSTUNREACH",
      "ENETUNREACH",
      "ENOENT",
    ];

    it("retries every connection failure code", function () {
      const strategy = transientFailureStrategy(oneMs);
      for (const code of connectionCodes) {
        assert.deepEqual(
          strategy.retry({ retryCount: 0, responseError: networkError(code) }),
          { retryAfterInMs: 1 },
          code,
        );
      }
    });

    it("skips an error without a code, another code, and a parse error of a whole response", function () {
      const strategy = transientFailureStrategy(oneMs);
      for (const error of [
        networkError(undefined),
        networkError("EACCES"),
        networkError(RestError.PARSE_ERROR, answer(200)),
      ]) {
        assert.deepEqual(strategy.retry({ retryCount: 0, responseError: error }), skip, error.code);
      }
      // A body cut off mid-way: a parse error without a response.
      assert.deepEqual(
        strategy.retry({ retryCount: 0, responseError: networkError(RestError.PARSE_ERROR) }),
        { retryAfterInMs: 1 },
      );
    });

    it("skips a status that a retry cannot change, and any failure once its retries are used up", function () {
      const strategy = transientFailureStrategy(oneMs, 1);
      assert.deepEqual(strategy.retry({ retryCount: 0, response: answer(404) }), skip);
      assert.deepEqual(strategy.retry({ retryCount: 0, response: answer(500) }), {
        retryAfterInMs: 1,
      });
      assert.deepEqual(strategy.retry({ retryCount: 1, response: answer(500) }), skip);
      assert.deepEqual(
        strategy.retry({ retryCount: 1, responseError: networkError("ECONNRESET") }),
        skip,
      );
    });

    it("logs a retried status, and a retried error by its code and message", async function () {
      const strategy = transientFailureStrategy(oneMs);
      assert.deepEqual(await retryLinesOf(strategy, { retryCount: 0, response: answer(503) }), [
        "azure:keyvault-secrets:info Retry 1 of GET https://myvault.vault.azure.net/secrets/a in 1 ms after 503.",
      ]);
      assert.deepEqual(
        await retryLinesOf(strategy, { retryCount: 2, responseError: networkError("ECONNRESET") }),
        [
          "azure:keyvault-secrets:info Retry 3 of PUT https://myvault.vault.azure.net/secrets/a in 1 ms after ECONNRESET: socket hang up.",
        ],
      );
    });

    it("logs a request whose URL does not parse without its text", async function () {
      const error = networkError("ECONNRESET");
      error.request = makeRequest("not a URL?token=abc");
      assert.deepEqual(
        await retryLinesOf(transientFailureStrategy(oneMs), {
          retryCount: 0,
          responseError: error,
        }),
        [
          "azure:keyvault-secrets:info Retry 1 of GET (an unparseable URL) in 1 ms after ECONNRESET: socket hang up.",
        ],
      );
    });
  });
});
