import assert from "node:assert/strict";
import {
  createHttpHeaders,
  RestError,
  type HttpHeaders,
  type PipelineResponse,
} from "@azure/core-rest-pipeline";
import {
  keyVaultRetryPolicy,
  keyVaultRetryPolicyName,
} from "../../../src/pipeline/keyVaultRetryPolicy.js";
import { formatDuration } from "../../../src/policies/retryStrategies.js";
import { backoffDelayInMs, getRetryAfterInMs } from "../../../src/util/retry.js";
import {
  passOnThrottlingHandOff,
  throttlingHandOffKey,
} from "../../../src/util/throttlingHandOff.js";
import { type CannedAnswer, fakeNext, makeRequest } from "../../helpers/policyFakes.js";
import { logLinesDuring } from "../../helpers/testKit.js";

const url = "https://myvault.vault.azure.net/secrets/a?api-version=7.6";
const ok200: CannedAnswer = { status: 200, bodyAsText: "{}" };
const throttled = (headers: Record<string, string> = {}): CannedAnswer => ({
  status: 429,
  headers,
  bodyAsText:
    '{"error":{"code":"Throttled","message":"Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached"}}',
});
// Tiny delays keep the backoff paths fast.
const fast = { retryDelayInMs: 1, maxRetryDelayInMs: 4 };

function responseWith(status: number, headers: Record<string, string>): PipelineResponse {
  return { status, headers: createHttpHeaders(headers), request: makeRequest(url) };
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; elapsedInMs: number }> {
  const start = performance.now();
  const value = await work();
  return { value, elapsedInMs: performance.now() - start };
}

describe("keyVaultRetryPolicy", function () {
  it("is named keyVaultRetryPolicy", function () {
    assert.equal(keyVaultRetryPolicy().name, "keyVaultRetryPolicy");
    assert.equal(keyVaultRetryPolicyName, "keyVaultRetryPolicy");
  });

  describe("the throttling hand-off (util/throttlingHandOff.ts)", function () {
    const handingOff = { [throttlingHandOffKey]: true };

    it("gives a 429 of a request that asks for the hand-off back at once, with or without Retry-After", async function () {
      for (const headers of [{}, { "Retry-After": "0" }] as Array<Record<string, string>>) {
        const next = fakeNext([throttled(headers), ok200]);
        const request = makeRequest(url);
        passOnThrottlingHandOff(handingOff, request);
        const response = await keyVaultRetryPolicy(fast).sendRequest(request, next);
        assert.equal(response.status, 429);
        assert.equal(next.sent.length, 1);
      }
    });

    it("logs a 429 it hands off as skipped by each strategy, at verbose, and as no retry at info", async function () {
      const send = () => {
        const request = makeRequest(url);
        passOnThrottlingHandOff(handingOff, request);
        return keyVaultRetryPolicy(fast).sendRequest(request, fakeNext([throttled(), ok200]));
      };
      assert.deepEqual(await logLinesDuring("info", send), []);
      const verbose = await logLinesDuring("verbose", send);
      const strategyLines = verbose.filter((line) => /Retry 0: (Processing|Skipped)/.test(line));
      assert.deepEqual(
        strategyLines.map((line) => line.replace("azure:keyvault-secrets:verbose ", "")),
        [
          "Retry 0: Processing 3 retry strategies.",
          "Retry 0: Processing retry strategy keyVaultRetryAfterStrategy.",
          "Retry 0: Skipped.",
          "Retry 0: Processing retry strategy keyVaultThrottledBackoffStrategy.",
          "Retry 0: Skipped.",
          "Retry 0: Processing retry strategy keyVaultTransientFailureStrategy.",
          "Retry 0: Skipped.",
        ],
      );
    });

    it("still retries other failures of a request that asks for it, and 429s of other requests", async function () {
      const first = makeRequest(url);
      passOnThrottlingHandOff(handingOff, first);
      const unavailable = fakeNext([{ status: 503, bodyAsText: "{}" }, ok200]);
      assert.equal((await keyVaultRetryPolicy(fast).sendRequest(first, unavailable)).status, 200);
      assert.equal(unavailable.sent.length, 2);

      const second = makeRequest(url);
      passOnThrottlingHandOff({}, second);
      const next = fakeNext([throttled(), ok200]);
      assert.equal((await keyVaultRetryPolicy(fast).sendRequest(second, next)).status, 200);
      assert.equal(next.sent.length, 2);
    });
  });

  it("retries a 429 after its Retry-After (seconds)", async function () {
    const next = fakeNext([throttled({ "Retry-After": "0" }), ok200]);
    // A 1 s Retry-After would be honoured; 0 keeps the test fast. The backoff for a 429 without the
    // header is set huge so that only the Retry-After path can finish in time.
    const policy = keyVaultRetryPolicy({ retryDelayInMs: 60_000 });
    const { value, elapsedInMs } = await timed(() => policy.sendRequest(makeRequest(url), next));
    assert.equal(value.status, 200);
    assert.equal(next.sent.length, 2);
    assert.ok(elapsedInMs < 1000, `took ${elapsedInMs} ms`);
  });

  it("waits for the Retry-After it is given", async function () {
    const next = fakeNext([throttled({ "retry-after-ms": "60" }), ok200]);
    const policy = keyVaultRetryPolicy({ retryDelayInMs: 1 });
    const { value, elapsedInMs } = await timed(() => policy.sendRequest(makeRequest(url), next));
    assert.equal(value.status, 200);
    assert.ok(elapsedInMs >= 50, `retried after ${elapsedInMs} ms, before retry-after-ms 60`);
  });

  for (const header of ["retry-after-ms", "x-ms-retry-after-ms"]) {
    it(`retries a 429 after its ${header}`, async function () {
      const next = fakeNext([throttled({ [header]: "5" }), ok200]);
      const policy = keyVaultRetryPolicy({ retryDelayInMs: 60_000 });
      const { value, elapsedInMs } = await timed(() => policy.sendRequest(makeRequest(url), next));
      assert.equal(value.status, 200);
      assert.equal(next.sent.length, 2);
      assert.ok(elapsedInMs < 1000, `took ${elapsedInMs} ms`);
    });
  }

  it("retries a 429 whose Retry-After is an HTTP date in the past at once", async function () {
    const date = new Date(Date.now() - 5000).toUTCString();
    const next = fakeNext([throttled({ "Retry-After": date }), ok200]);
    const policy = keyVaultRetryPolicy({ retryDelayInMs: 60_000 });
    const { value, elapsedInMs } = await timed(() => policy.sendRequest(makeRequest(url), next));
    assert.equal(value.status, 200);
    assert.ok(elapsedInMs < 1000, `took ${elapsedInMs} ms`);
  });

  it("retries a 429 without any retry-after header with backoff", async function () {
    const next = fakeNext([throttled(), throttled(), ok200]);
    const response = await keyVaultRetryPolicy(fast).sendRequest(makeRequest(url), next);
    assert.equal(response.status, 200);
    assert.equal(next.sent.length, 3);
  });

  it("gives up on a 429 after 5 retries by default (Key Vault's 1, 2, 4, 8, 16 s) and returns the last 429", async function () {
    let attempts = 0;
    const next = fakeNext(() => {
      attempts++;
      return throttled({ "x-attempt": String(attempts) });
    });
    const response = await keyVaultRetryPolicy(fast).sendRequest(makeRequest(url), next);
    assert.equal(response.status, 429);
    assert.equal(response.headers.get("x-attempt"), "6");
    assert.equal(next.sent.length, 6);
    assert.match(response.bodyAsText!, /Throttled/);
  });

  it("retries a 429 with Retry-After 5 times by default too", async function () {
    const next = fakeNext([throttled({ "retry-after-ms": "1" })]);
    const response = await keyVaultRetryPolicy(fast).sendRequest(makeRequest(url), next);
    assert.equal(response.status, 429);
    assert.equal(next.sent.length, 6);
  });

  it("retries failures (5xx, network errors) 3 times by default", async function () {
    const server = fakeNext([{ status: 500 }]);
    const response = await keyVaultRetryPolicy(fast).sendRequest(makeRequest(url), server);
    assert.equal(response.status, 500);
    assert.equal(server.sent.length, 4);

    const error = new RestError("socket hang up", { code: "ECONNRESET" });
    const network = fakeNext([{ error }]);
    await assert.rejects(keyVaultRetryPolicy(fast).sendRequest(makeRequest(url), network), error);
    assert.equal(network.sent.length, 4);
  });

  it("counts every retry so far: throttling after 3 failures gets 2 more retries", async function () {
    const next = fakeNext([{ status: 500 }, { status: 503 }, { status: 500 }, throttled()]);
    const response = await keyVaultRetryPolicy(fast).sendRequest(makeRequest(url), next);
    assert.equal(response.status, 429);
    assert.equal(next.sent.length, 6);
  });

  it("maxRetries sets the retries of throttling and of failures alike", async function () {
    const throttling = fakeNext([throttled()]);
    await keyVaultRetryPolicy({ ...fast, maxRetries: 4 }).sendRequest(makeRequest(url), throttling);
    assert.equal(throttling.sent.length, 5);
    const failing = fakeNext([{ status: 502 }]);
    await keyVaultRetryPolicy({ ...fast, maxRetries: 4 }).sendRequest(makeRequest(url), failing);
    assert.equal(failing.sent.length, 5);
  });

  it("honours maxRetries", async function () {
    const next = fakeNext([throttled()]);
    const response = await keyVaultRetryPolicy({ ...fast, maxRetries: 1 }).sendRequest(
      makeRequest(url),
      next,
    );
    assert.equal(response.status, 429);
    assert.equal(next.sent.length, 2);

    const none = fakeNext([throttled()]);
    await keyVaultRetryPolicy({ ...fast, maxRetries: 0 }).sendRequest(makeRequest(url), none);
    assert.equal(none.sent.length, 1);
  });

  it("rejects a negative or fractional maxRetries", function () {
    assert.throws(() => keyVaultRetryPolicy({ maxRetries: -1 }), {
      name: "RangeError",
      message: "maxRetries must be a whole number of 0 or more; got -1.",
    });
    assert.throws(() => keyVaultRetryPolicy({ maxRetries: 1.5 }), {
      name: "RangeError",
      message: "maxRetries must be a whole number of 0 or more; got 1.5.",
    });
  });

  it("retries a 503 after its Retry-After", async function () {
    const next = fakeNext([{ status: 503, headers: { "Retry-After": "0" } }, ok200]);
    const policy = keyVaultRetryPolicy({ retryDelayInMs: 60_000 });
    const { value, elapsedInMs } = await timed(() => policy.sendRequest(makeRequest(url), next));
    assert.equal(value.status, 200);
    assert.equal(next.sent.length, 2);
    assert.ok(elapsedInMs < 1000, `took ${elapsedInMs} ms`);
  });

  for (const status of [500, 502, 503, 504, 408]) {
    it(`retries a ${status}`, async function () {
      const next = fakeNext([{ status }, ok200]);
      const response = await keyVaultRetryPolicy(fast).sendRequest(makeRequest(url), next);
      assert.equal(response.status, 200);
      assert.equal(next.sent.length, 2);
    });
  }

  for (const status of [400, 401, 403, 404, 409, 501, 505]) {
    it(`does not retry a ${status}`, async function () {
      const next = fakeNext([{ status }, ok200]);
      const response = await keyVaultRetryPolicy(fast).sendRequest(makeRequest(url), next);
      assert.equal(response.status, status);
      assert.equal(next.sent.length, 1);
    });
  }

  for (const code of ["ECONNRESET", "REQUEST_SEND_ERROR", "ETIMEDOUT", "ENOTFOUND"]) {
    it(`retries a network error with code ${code}`, async function () {
      const error = new RestError("socket hang up", { code });
      const next = fakeNext([{ error }, ok200]);
      const response = await keyVaultRetryPolicy(fast).sendRequest(makeRequest(url), next);
      assert.equal(response.status, 200);
      assert.equal(next.sent.length, 2);
    });
  }

  it("throws the last network error after maxRetries, saying how long it retried", async function () {
    const error = new RestError("connect ECONNREFUSED 10.0.0.1:443", { code: "ECONNREFUSED" });
    const next = fakeNext([{ error }]);
    await assert.rejects(keyVaultRetryPolicy(fast).sendRequest(makeRequest(url), next), error);
    assert.equal(next.sent.length, 4);
    assert.match(
      error.message,
      /^The connection to https:\/\/myvault\.vault\.azure\.net was refused \(connect ECONNREFUSED 10\.0\.0\.1:443; tried 4 times over \d+ ms\)\.$/,
    );
  });

  it("a refused connection to a loopback host says nothing listens there", async function () {
    const error = new RestError("connect ECONNREFUSED 127.0.0.1:8443", { code: "ECONNREFUSED" });
    const next = fakeNext([{ error }]);
    const request = makeRequest("http://127.0.0.1:8443/secrets/a?api-version=7.6");
    await assert.rejects(
      keyVaultRetryPolicy({ ...fast, maxRetries: 2 }).sendRequest(request, next),
      {
        code: "ECONNREFUSED",
        message:
          /^Nothing is listening at http:\/\/127\.0\.0\.1:8443 \(connect ECONNREFUSED 127\.0\.0\.1:8443; tried 3 times over \d+ ms\)\. Is the local vault running, and on that port\? Check the vault URL\.$/,
      },
    );
  });

  it("a refused connection not retried says it was tried once", async function () {
    const error = new RestError("connect ECONNREFUSED 10.0.0.1:443", { code: "ECONNREFUSED" });
    const next = fakeNext([{ error }]);
    await assert.rejects(
      keyVaultRetryPolicy({ ...fast, maxRetries: 0 }).sendRequest(makeRequest(url), next),
      {
        message:
          "The connection to https://myvault.vault.azure.net was refused (connect ECONNREFUSED 10.0.0.1:443; tried once, not retried).",
      },
    );
    assert.equal(next.sent.length, 1);
  });

  it("leaves the message of other network errors as it is", async function () {
    const error = new RestError("socket hang up", { code: "ECONNRESET" });
    const next = fakeNext([{ error }]);
    await assert.rejects(
      keyVaultRetryPolicy({ ...fast, maxRetries: 1 }).sendRequest(makeRequest(url), next),
      { code: "ECONNRESET", message: "socket hang up" },
    );
    assert.equal(next.sent.length, 2);
  });

  it("retries a response body cut off mid-way (core's parse error without a response)", async function () {
    const cutOff = new RestError("Error reading response as text: aborted", {
      code: "PARSE_ERROR",
    });
    const next = fakeNext([{ error: cutOff }, ok200]);
    const response = await keyVaultRetryPolicy(fast).sendRequest(makeRequest(url), next);
    assert.equal(response.status, 200);
    assert.equal(next.sent.length, 2);
  });

  it("does not retry other errors", async function () {
    const parseError = new RestError("bad JSON", {
      code: "PARSE_ERROR",
      response: responseWith(200, {}),
    });
    const parse = fakeNext([{ error: parseError }, ok200]);
    await assert.rejects(
      keyVaultRetryPolicy(fast).sendRequest(makeRequest(url), parse),
      parseError,
    );
    assert.equal(parse.sent.length, 1);

    const bug = new TypeError("not a RestError");
    const plain = fakeNext([{ error: bug }, ok200]);
    await assert.rejects(keyVaultRetryPolicy(fast).sendRequest(makeRequest(url), plain), bug);
    assert.equal(plain.sent.length, 1);
  });

  it("sends the same body on every attempt", async function () {
    const body = '{"value":"s3cret"}';
    const request = makeRequest(url, "PUT", body);
    const next = fakeNext([
      throttled(),
      { status: 500 },
      { error: new RestError("x", { code: "ECONNRESET" }) },
      ok200,
    ]);
    const response = await keyVaultRetryPolicy(fast).sendRequest(request, next);
    assert.equal(response.status, 200);
    assert.equal(next.sent.length, 4);
    for (const sent of next.sent) {
      assert.equal(sent.body, body);
    }
    assert.equal(request.body, body);
  });

  it("stops waiting between attempts as soon as the request is aborted", async function () {
    const controller = new AbortController();
    const request = makeRequest(url);
    request.abortSignal = controller.signal;
    const next = fakeNext([throttled({ "Retry-After": "30" }), ok200]);
    setTimeout(() => controller.abort(), 20);
    const start = performance.now();
    await assert.rejects(keyVaultRetryPolicy().sendRequest(request, next), (error: Error) => {
      assert.equal(error.name, "AbortError");
      return true;
    });
    const elapsedInMs = performance.now() - start;
    assert.ok(elapsedInMs < 1000, `abort took ${elapsedInMs} ms`);
    assert.equal(next.sent.length, 1);
  });

  it("keeps the abort signal's reason as the AbortError's cause", async function () {
    const controller = new AbortController();
    const reason = new Error("the caller gave up");
    const request = makeRequest(url);
    request.abortSignal = controller.signal;
    const next = fakeNext([throttled({ "Retry-After": "30" }), ok200]);
    setTimeout(() => controller.abort(reason), 5);
    await assert.rejects(keyVaultRetryPolicy().sendRequest(request, next), (error: Error) => {
      assert.equal(error.name, "AbortError");
      assert.equal(error.cause, reason);
      return true;
    });

    describe("an error thrown after the caller aborted", function () {
      function abortedRequest(reason?: unknown): ReturnType<typeof makeRequest> {
        const request = makeRequest(url);
        // A signal without a reason, as an AbortSignalLike may be.
        request.abortSignal = {
          aborted: true,
          reason,
          onabort: null,
          addEventListener: () => undefined,
          removeEventListener: () => undefined,
        } as unknown as AbortSignal;
        return request;
      }

      it("gives an error that is not an AbortError no cause", async function () {
        const bug = new TypeError("not an abort");
        const next = fakeNext([{ error: bug }]);
        await assert.rejects(
          keyVaultRetryPolicy(fast).sendRequest(abortedRequest("why"), next),
          bug,
        );
        assert.equal(Object.hasOwn(bug, "cause"), false);
      });

      it("keeps an AbortError's own cause", async function () {
        const own = new Error("the transport's reason");
        const aborted = Object.assign(new Error("aborted", { cause: own }), { name: "AbortError" });
        const next = fakeNext([{ error: aborted }]);
        await assert.rejects(
          keyVaultRetryPolicy(fast).sendRequest(abortedRequest("why"), next),
          aborted,
        );
        assert.equal(aborted.cause, own);
      });

      it("adds no cause when the signal has no reason", async function () {
        const aborted = Object.assign(new Error("aborted"), { name: "AbortError" });
        const next = fakeNext([{ error: aborted }]);
        await assert.rejects(
          keyVaultRetryPolicy(fast).sendRequest(abortedRequest(), next),
          aborted,
        );
        assert.equal(Object.hasOwn(aborted, "cause"), false);
      });
    });
  });
});

describe("keyVaultRetryPolicy: the first attempt", function () {
  async function verboseLinesOf(work: () => Promise<unknown>): Promise<string[]> {
    const lines = await logLinesDuring("verbose", work);
    return lines.filter((line) => line.includes("Retry") || line.includes("retry strateg"));
  }

  for (const status of [200, 204, 301, 400, 401, 404, 409]) {
    it(`returns a ${status} as it is, with no retry loop and no retry log lines`, async function () {
      const next = fakeNext([{ status, bodyAsText: "{}" }]);
      const request = makeRequest(url);
      let response: PipelineResponse | undefined;
      const lines = await verboseLinesOf(async () => {
        response = await keyVaultRetryPolicy(fast).sendRequest(request, next);
      });
      assert.equal(response?.status, status);
      assert.equal(next.sent.length, 1);
      assert.deepEqual(lines, []);
    });
  }

  it("logs at info only the retry and core's decision to retry; core's other lines at verbose", async function () {
    const next = fakeNext([throttled({ "Retry-After": "0" }), ok200]);
    const lines = await logLinesDuring("info", () =>
      keyVaultRetryPolicy(fast).sendRequest(makeRequest(url), next),
    );
    assert.deepEqual(lines, [
      "azure:keyvault-secrets:info Retry 1 of GET https://myvault.vault.azure.net/secrets/a in 0 ms after 429 with a retry-after header.",
      "azure:keyvault-secrets:info Retry 0: Retry strategy keyVaultRetryAfterStrategy retries after 0",
    ]);
    const verbose = await logLinesDuring("verbose", () =>
      keyVaultRetryPolicy(fast).sendRequest(makeRequest(url), fakeNext([throttled(), ok200])),
    );
    assert.ok(
      verbose.some((line) =>
        line.startsWith("azure:keyvault-secrets:verbose Retry 1: Attempting to send request"),
      ),
      verbose.join("\n"),
    );
  });

  it("hands a retried first attempt to core's loop, which logs and retries it as before", async function () {
    const next = fakeNext([throttled(), ok200]);
    let response: PipelineResponse | undefined;
    const lines = await verboseLinesOf(async () => {
      response = await keyVaultRetryPolicy(fast).sendRequest(makeRequest(url), next);
    });
    assert.equal(response?.status, 200);
    assert.equal(next.sent.length, 2);
    assert.ok(
      lines.some((line) => line.includes("Retry 0: Received a response")),
      lines.join("\n"),
    );
    assert.ok(
      lines.some((line) => line.includes("Retry 1: Attempting to send")),
      lines.join("\n"),
    );
  });

  it("throws an AbortError when the signal fired while the first answer was on its way", async function () {
    const controller = new AbortController();
    const request = makeRequest(url);
    request.abortSignal = controller.signal;
    const next = async (sent: typeof request): Promise<PipelineResponse> => {
      controller.abort();
      return { status: 200, headers: createHttpHeaders(), request: sent, bodyAsText: "{}" };
    };
    await assert.rejects(keyVaultRetryPolicy().sendRequest(request, next), { name: "AbortError" });
  });

  it("throws a first error no strategy retries as it is, once", async function () {
    const next = fakeNext([{ error: new TypeError("not a network error") }]);
    await assert.rejects(keyVaultRetryPolicy(fast).sendRequest(makeRequest(url), next), TypeError);
    assert.equal(next.sent.length, 1);
  });
});

describe("formatDuration", function () {
  it("prints milliseconds below a second, else seconds with one decimal", function () {
    assert.equal(formatDuration(0), "0 ms");
    assert.equal(formatDuration(999.4), "999 ms");
    assert.equal(formatDuration(1000), "1.0 s");
    assert.equal(formatDuration(7345), "7.3 s");
  });
});

describe("getRetryAfterInMs", function () {
  const now = Date.parse("2025-01-01T00:00:00Z");

  it("reads Retry-After seconds, retry-after-ms and x-ms-retry-after-ms on 429 and 503", function () {
    assert.equal(getRetryAfterInMs(responseWith(429, { "Retry-After": "2" }), now), 2000);
    assert.equal(getRetryAfterInMs(responseWith(503, { "Retry-After": "0" }), now), 0);
    assert.equal(getRetryAfterInMs(responseWith(429, { "retry-after-ms": "250" }), now), 250);
    assert.equal(getRetryAfterInMs(responseWith(429, { "x-ms-retry-after-ms": "30" }), now), 30);
  });

  it("prefers the millisecond headers over Retry-After", function () {
    const response = responseWith(429, { "Retry-After": "10", "x-ms-retry-after-ms": "30" });
    assert.equal(getRetryAfterInMs(response, now), 30);
  });

  it("passes over a blank millisecond header to Retry-After", function () {
    const response = responseWith(429, { "retry-after-ms": "   ", "Retry-After": "3" });
    assert.equal(getRetryAfterInMs(response, now), 3000);
  });

  it("passes over a blank millisecond header from a custom HttpClient's headers that keep blanks", function () {
    // Core's own headers trim every value; a custom HttpClient may hand back its own HttpHeaders.
    const raw = new Map([
      ["retry-after-ms", "   "],
      ["retry-after", "3"],
    ]);
    const headers = { get: (name: string) => raw.get(name.toLowerCase()) } as HttpHeaders;
    const response = { status: 429, headers, request: makeRequest(url) };
    assert.equal(getRetryAfterInMs(response, now), 3000);
  });

  it("reads Retry-After as an HTTP date", function () {
    const inThreeSeconds = new Date(now + 3000).toUTCString();
    assert.equal(
      getRetryAfterInMs(responseWith(429, { "Retry-After": inThreeSeconds }), now),
      3000,
    );
    const past = new Date(now - 3000).toUTCString();
    assert.equal(getRetryAfterInMs(responseWith(429, { "Retry-After": past }), now), 0);
  });

  it("ignores other statuses and invalid values", function () {
    assert.equal(getRetryAfterInMs(responseWith(500, { "Retry-After": "1" }), now), undefined);
    assert.equal(getRetryAfterInMs(responseWith(429, {}), now), undefined);
    assert.equal(getRetryAfterInMs(responseWith(429, { "Retry-After": "soon" }), now), undefined);
    assert.equal(getRetryAfterInMs(responseWith(429, { "Retry-After": "-1" }), now), undefined);
    assert.equal(getRetryAfterInMs(responseWith(429, { "retry-after-ms": "" }), now), undefined);
    assert.equal(getRetryAfterInMs(undefined, now), undefined);
  });
});

describe("backoffDelayInMs", function () {
  it("follows Key Vault's advice of 1, 2, 4, 8, 16 s, with at most 20 % jitter", function () {
    const lowest = [0, 1, 2, 3, 4].map((retry) => backoffDelayInMs(retry, {}, () => 0));
    const highest = [0, 1, 2, 3, 4].map((retry) => backoffDelayInMs(retry, {}, () => 0.999999));
    assert.deepEqual(lowest, [1000, 2000, 4000, 8000, 16000]);
    assert.deepEqual(highest, [1200, 2400, 4800, 9600, 19200]);
  });

  it("uses retryDelayInMs as the base and caps at maxRetryDelayInMs, jitter included", function () {
    assert.equal(
      backoffDelayInMs(0, { retryDelayInMs: 10 }, () => 0),
      10,
    );
    assert.equal(
      backoffDelayInMs(3, { retryDelayInMs: 10 }, () => 0),
      80,
    );
    assert.equal(
      backoffDelayInMs(10, { maxRetryDelayInMs: 5000 }, () => 0.999999),
      5000,
    );
    assert.equal(
      backoffDelayInMs(2, { maxRetryDelayInMs: 4100 }, () => 0.999999),
      4100,
    );
  });
});
