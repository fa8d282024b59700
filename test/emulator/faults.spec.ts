import assert from "node:assert/strict";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import { assertVaultError, callVault } from "./localVaultTestKit.js";

const throttledMessage =
  "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached";

describe("local vault: faults", () => {
  let vault: LocalVault;

  before(async () => {
    vault = await startLocalVault();
  });
  afterEach(() => vault.setFaults({}));
  after(() => vault.close());

  it("throttles after throttleLimit requests with Retry-After; throttled ones do not count", async () => {
    vault.setFaults({ throttleLimit: 2 });
    assert.equal((await callVault(vault, "GET", "/secrets")).status, 200);
    assert.equal((await callVault(vault, "GET", "/secrets")).status, 200);
    for (let i = 0; i < 2; i++) {
      const answer = await callVault(vault, "GET", "/secrets");
      assertVaultError(answer, 429, "Throttled", throttledMessage);
      const retryAfter = Number(answer.headers.get("retry-after"));
      assert.ok(retryAfter >= 1 && retryAfter <= 10, String(retryAfter));
    }
    // The test controls are never throttled, so a throttled client can still turn faults off.
    const off = await callVault(vault, "PUT", "/__local/faults", {
      body: {},
      apiVersion: null,
    });
    assert.equal(off.status, 200);
    assert.equal((await callVault(vault, "GET", "/secrets")).status, 200);
  });

  it("omits Retry-After with throttleRetryAfter: false", async () => {
    vault.setFaults({ throttleLimit: 0, throttleRetryAfter: false });
    const answer = await callVault(vault, "GET", "/secrets");
    assertVaultError(answer, 429, "Throttled", throttledMessage);
    assert.equal(answer.headers.get("retry-after"), null);
  });

  it("answers 500 and 503 alternately with errorRate 1", async () => {
    vault.setFaults({ errorRate: 1 });
    const first = await callVault(vault, "GET", "/secrets");
    const second = await callVault(vault, "GET", "/secrets");
    assertVaultError(first, 500, "InternalServerError", /injected fault/);
    assertVaultError(second, 503, "ServiceUnavailable", /injected fault/);
  });

  it("injects errors deterministically for a given rate", async () => {
    const run = async (): Promise<number[]> => {
      vault.setFaults({ errorRate: 0.5 });
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++)
        statuses.push((await callVault(vault, "GET", "/secrets")).status);
      return statuses;
    };
    const first = await run();
    assert.deepEqual(await run(), first);
    assert.ok(first.includes(200) && first.some((s) => s >= 500), first.join(","));
  });

  it("destroys the connection without an answer with dropRate 1", async () => {
    vault.setFaults({ dropRate: 1 });
    await assert.rejects(callVault(vault, "GET", "/secrets"), TypeError);
  });

  it("adds latencyMs before answering", async () => {
    vault.setFaults({ latencyMs: 40 });
    const started = performance.now();
    const answer = await callVault(vault, "GET", "/secrets");
    assert.equal(answer.status, 200);
    assert.ok(performance.now() - started >= 35);
  });

  it("sets faults over HTTP and rejects invalid settings with 400", async () => {
    const set = await callVault(vault, "PUT", "/__local/faults", {
      body: { errorRate: 1 },
      apiVersion: null,
    });
    assert.equal(set.status, 200);
    assert.equal((await callVault(vault, "GET", "/secrets")).status, 500);
    const bad = await callVault(vault, "PUT", "/__local/faults", {
      body: { dropRate: 5 },
      apiVersion: null,
    });
    assertVaultError(bad, 400, "BadParameter", /dropRate/);
    assert.throws(() => vault.setFaults({ latencyMs: -1 }), RangeError);
  });

  it("starts with faults from the options", async () => {
    const faulty = await startLocalVault({ faults: { throttleLimit: 0 } });
    try {
      assert.equal((await callVault(faulty, "GET", "/secrets")).status, 429);
    } finally {
      await faulty.close();
    }
  });
});
