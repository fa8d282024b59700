import assert from "node:assert/strict";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import { isRestError } from "../../src/index.js";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import {
  assertRestError,
  localClient,
  requestLog,
  throttledMessage,
  uniqueName,
} from "./integrationTestKit.js";

const retryOptions = { retryDelayInMs: 10, maxRetryDelayInMs: 50, maxRetries: 3 };

describe("integration: throttling and server errors", () => {
  let vault: LocalVault;

  before(async () => {
    vault = await startLocalVault({ delayMs: 30, faults: { throttleLimit: 5 } });
  });
  beforeEach(() => vault.setFaults({}));
  after(() => vault.close());

  /** A per-attempt policy that turns every fault off once it has seen `status`. */
  function clearFaultsAfter(status: number): PipelinePolicy {
    return {
      name: "clearFaultsAfter",
      async sendRequest(request, next) {
        const response = await next(request);
        if (response.status === status) vault.setFaults({});
        return response;
      },
    };
  }

  it("retries a 429 without Retry-After with backoff, then succeeds", async () => {
    const name = uniqueName("throttled");
    const setup = localClient(vault, { retryOptions });
    await setup.setSecret(name, "v");
    vault.setFaults({ throttleLimit: 5, throttleRetryAfter: false });
    const log = requestLog("perRetry");
    const client = localClient(vault, {
      retryOptions,
      additionalPolicies: [log.config, { policy: clearFaultsAfter(429), position: "perRetry" }],
    });
    // Five requests fill the window; the next one is throttled, retried, and accepted.
    const started = Date.now();
    for (let i = 0; i < 6; i++) assert.equal((await client.getSecret(name)).value, "v");
    assert.ok(Date.now() - started < 2000, "the backoff starts from retryDelayInMs");
    const statuses = log.requests.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 429).length, 1, statuses.join(","));
    assert.equal(statuses[statuses.indexOf(429) + 1], 200);
    assert.equal(statuses.filter((s) => s === 200).length, 6);
    setup.close();
    client.close();
  });

  it("gives back RestError 429 Throttled when throttling never clears (no Retry-After)", async () => {
    vault.setFaults({ throttleLimit: 0, throttleRetryAfter: false });
    const log = requestLog("perRetry");
    const client = localClient(vault, { retryOptions, additionalPolicies: [log.config] });
    const name = uniqueName("never");
    const error = await assertRestError(client.getSecret(name), {
      statusCode: 429,
      code: "Throttled",
      message: throttledMessage,
    });
    assert.equal(error.response?.headers.get("retry-after"), undefined);
    assert.equal(log.requests.length, retryOptions.maxRetries + 1, "every retry was used");
    assert.ok(log.requests.every((r) => r.status === 429));
    client.close();
  });

  it("sends Retry-After (seconds to the window's end) on a 429 when enabled", async () => {
    vault.setFaults({ throttleLimit: 0 });
    const client = localClient(vault, { retryOptions: { ...retryOptions, maxRetries: 0 } });
    const error = await assertRestError(client.getSecret(uniqueName("ra")), {
      statusCode: 429,
      code: "Throttled",
      message: throttledMessage,
    });
    const retryAfter = Number(error.response?.headers.get("retry-after"));
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 10, `${retryAfter}`);
    client.close();
  });

  it("honours Retry-After: no retry before it elapses (the wait ends on abort)", async () => {
    vault.setFaults({ throttleLimit: 0 });
    const log = requestLog("perRetry");
    const client = localClient(vault, { retryOptions, additionalPolicies: [log.config] });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const started = Date.now();
    await assert.rejects(
      client.getSecret(uniqueName("wait"), { abortSignal: controller.signal }),
      (error: Error) => {
        assert.equal(error.name, "AbortError");
        return true;
      },
    );
    assert.ok(Date.now() - started < 2000);
    assert.equal(
      log.requests.length,
      1,
      "the backoff of 10 ms was not used in place of Retry-After",
    );
    assert.equal(log.requests[0].status, 429);
    client.close();
  });

  it("gives back RestError 500/503 after the retries when every request fails", async () => {
    vault.setFaults({ errorRate: 1 });
    const log = requestLog("perRetry");
    const client = localClient(vault, { retryOptions, additionalPolicies: [log.config] });
    // The vault alternates 500 and 503; the last of four attempts is a 503.
    await assertRestError(client.getSecret(uniqueName("err")), {
      statusCode: 503,
      code: "ServiceUnavailable",
      message: "The service is temporarily unavailable (injected fault).",
    });
    assert.equal(log.requests.length, retryOptions.maxRetries + 1);
    assert.deepEqual(
      log.requests.map((r) => r.status),
      [500, 503, 500, 503],
    );
    client.close();
  });

  it("recovers from a transient 5xx within the retries", async () => {
    const name = uniqueName("transient");
    const setup = localClient(vault, { retryOptions });
    await setup.setSecret(name, "v");
    vault.setFaults({ errorRate: 1 });
    const log = requestLog("perRetry");
    const client = localClient(vault, {
      retryOptions,
      additionalPolicies: [log.config, { policy: clearFaultsAfter(500), position: "perRetry" }],
    });
    assert.equal((await client.getSecret(name)).value, "v");
    assert.deepEqual(log.requests.map((r) => r.status).slice(0, 1), [500]);
    assert.equal(log.requests[log.requests.length - 1].status, 200);
    setup.close();
    client.close();
  });

  it("retries dropped connections and gives back the connection error when they never stop", async () => {
    vault.setFaults({ dropRate: 1 });
    const log = requestLog("perRetry");
    const client = localClient(vault, { retryOptions, additionalPolicies: [log.config] });
    await assert.rejects(client.getSecret(uniqueName("drop")), (error: Error) => {
      assert.ok(isRestError(error), String(error));
      assert.equal(error.statusCode, undefined);
      assert.match(String(error.code), /^(ECONNRESET|REQUEST_SEND_ERROR)$/);
      return true;
    });
    assert.equal(log.requests.length, retryOptions.maxRetries + 1);
    client.close();
  });

  it("survives one dropped connection", async () => {
    const name = uniqueName("dropone");
    const setup = localClient(vault, { retryOptions });
    await setup.setSecret(name, "v");
    vault.setFaults({ dropRate: 1 });
    const dropOnce: PipelinePolicy = {
      name: "clearFaultsAfterDrop",
      async sendRequest(request, next) {
        try {
          return await next(request);
        } catch (error) {
          vault.setFaults({});
          throw error;
        }
      },
    };
    const client = localClient(vault, {
      retryOptions,
      additionalPolicies: [{ policy: dropOnce, position: "perRetry" }],
    });
    assert.equal((await client.getSecret(name)).value, "v");
    setup.close();
    client.close();
  });

  it("aborts a request in flight when its signal fires (slow vault)", async () => {
    vault.setFaults({ latencyMs: 2000 });
    const client = localClient(vault, { retryOptions });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = Date.now();
    await assert.rejects(
      client.getSecret(uniqueName("slow"), { abortSignal: controller.signal }),
      (error: Error) => {
        assert.equal(error.name, "AbortError");
        return true;
      },
    );
    assert.ok(Date.now() - started < 1000);
    client.close();
  });
});
