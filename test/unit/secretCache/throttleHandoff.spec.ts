/**
 * SecretCache's throttling hand-off (src/util/throttlingHandOff.ts) with each kind of client: this
 * package's SecretClient gives a load's 429 to the cache's shared backoff at once; Microsoft's 4.x
 * client cannot, retries it on its own first, and the cache says so once.
 */
import assert from "node:assert/strict";
import { format } from "node:util";
import { AzureLogger, getLogLevel, setLogLevel, type AzureLogLevel } from "@azure/logger";
import { SecretClient as OfficialSecretClient } from "@azure/keyvault-secrets";
import nock from "nock";
import { SecretCache, type SecretCacheClient } from "../../../src/secretCache/index.js";
import { throttlingNotHandedOffWarning } from "../../../src/secretCache/synchronizer.js";
import { fixedTokenCredential } from "../../helpers/fakeCredential.js";
import { challengeHeader, createClient, token, vaultUrl } from "../client/helpers.js";

const attributes = { enabled: true, created: 1_700_000_000, updated: 1_700_000_000 };
const secretNames = ["a", "b"];

/**
 * The vault behind nock: a challenge for a request without a token, one list page of `a` and `b`,
 * and for each secret `throttledGets` 429s (each naming a 1 ms wait) before its value. Records
 * each authenticated request as `<path> <status>`.
 */
function throttlingVault(throttledGets: number): string[] {
  const answered: string[] = [];
  const throttledSoFar = new Map<string, number>();
  nock(vaultUrl)
    .persist()
    .get(() => true)
    .reply(function (uri) {
      const path = uri.split("?")[0]!.replace(/\/$/, "");
      if (this.req.headers.authorization !== `Bearer ${token}`) {
        return [401, { error: { code: "Unauthorized" } }, { "WWW-Authenticate": challengeHeader }];
      }
      if (path === "/secrets") {
        answered.push(`${path} 200`);
        const value = secretNames.map((name) => ({
          id: `${vaultUrl}/secrets/${name}`,
          attributes,
        }));
        return [200, { value }];
      }
      const name = path.slice("/secrets/".length);
      const throttled = throttledSoFar.get(name) ?? 0;
      if (throttled < throttledGets) {
        throttledSoFar.set(name, throttled + 1);
        answered.push(`${path} 429`);
        return [429, { error: { code: "Throttled" } }, { "retry-after-ms": "1" }];
      }
      answered.push(`${path} 200`);
      const id = `${vaultUrl}/secrets/${name}/${"0".repeat(32)}`;
      return [200, { value: `value of ${name}`, id, attributes }];
    });
  return answered;
}

describe("SecretCache: the throttling hand-off, per client", function () {
  let logged: string[] = [];
  const originalLog = AzureLogger.log;
  let originalLevel: AzureLogLevel | undefined;

  before(() => {
    nock.disableNetConnect();
    originalLevel = getLogLevel();
    setLogLevel("warning");
    AzureLogger.log = (...args: unknown[]) => logged.push(format(...args));
  });
  beforeEach(() => {
    logged = [];
  });
  afterEach(() => {
    nock.cleanAll();
  });
  after(() => {
    AzureLogger.log = originalLog;
    setLogLevel(originalLevel);
    nock.enableNetConnect();
  });

  async function load(client: SecretCacheClient): Promise<SecretCache> {
    const cache = new SecretCache(client, { throttleDelayInMs: 1, concurrency: 1 });
    await cache.load();
    cache.close();
    return cache;
  }

  const cacheLines = (): string[] => logged.filter((line) => line.includes("SecretCache:"));

  it("this package's SecretClient gives a load's 429 to the shared backoff at once, without retrying it", async () => {
    const answered = throttlingVault(1);
    const client = createClient();
    const cache = await load(client);
    client.close();

    assert.equal(cache.get("b"), "value of b");
    // One 429 per secret, then the value: the client sent each 429 back to the cache, which
    // paused and asked again (with its own retries, it would have asked again itself).
    assert.deepEqual(answered, [
      "/secrets 200",
      "/secrets/a 429",
      "/secrets/a 200",
      "/secrets/b 429",
      "/secrets/b 200",
    ]);
    const lines = cacheLines();
    assert.ok(
      lines.some((line) => line.includes('"a" was throttled (attempt 1 of')),
      lines.join("\n"),
    );
    assert.ok(!lines.some((line) => line.includes("hand-off")), lines.join("\n"));
  });

  it("Microsoft's 4.x SecretClient retries a 429 on its own first; the cache says so once, and the load completes", async () => {
    // 4.x retries a 429 that names a wait up to 3 times: the fourth 429 reaches the cache.
    const answered = throttlingVault(4);
    const official = new OfficialSecretClient(vaultUrl, fixedTokenCredential(token));
    const cache = await load(official);

    assert.equal(cache.get("a"), "value of a");
    assert.equal(cache.get("b"), "value of b");
    for (const name of secretNames) {
      assert.equal(answered.filter((line) => line === `/secrets/${name} 429`).length, 4);
    }
    const warnings = cacheLines().filter((line) => line.includes(throttlingNotHandedOffWarning));
    assert.equal(warnings.length, 1, cacheLines().join("\n"));
    assert.match(throttlingNotHandedOffWarning, /4\.x/);
    assert.match(throttlingNotHandedOffWarning, /this package's SecretClient/);
  });
});
