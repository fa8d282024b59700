import assert from "node:assert/strict";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import type { SecretClient } from "../../src/index.js";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import {
  SecretCache,
  SecretCacheError,
  type SecretCacheChange,
  type SecretCacheOptions,
} from "../../src/secretCache/index.js";
import { officialClient } from "../interop/oracle.js";
import { localClient, uniqueName } from "./integrationTestKit.js";

/** Every attempt the client sends (retries included): when, what, and the answer. */
interface Attempt {
  sentAt: number;
  answeredAt: number;
  path: string;
  status: number;
  retryAfter: string | undefined;
}

function attemptLog(): { attempts: Attempt[]; policy: PipelinePolicy } {
  const attempts: Attempt[] = [];
  return {
    attempts,
    policy: {
      name: "secretCacheAttemptLog",
      async sendRequest(request, next) {
        const attempt: Attempt = {
          sentAt: Date.now(),
          answeredAt: 0,
          path: new URL(request.url).pathname,
          status: 0,
          retryAfter: undefined,
        };
        attempts.push(attempt);
        const response = await next(request);
        attempt.answeredAt = Date.now();
        attempt.status = response.status;
        attempt.retryAfter = response.headers.get("retry-after");
        return response;
      },
    },
  };
}

describe("integration: SecretCache against the local vault", function () {
  this.timeout(20_000);
  let vault: LocalVault;
  let client: SecretClient;
  const caches: SecretCache[] = [];

  function cacheOf(options: SecretCacheOptions, cacheClient: SecretClient = client): SecretCache {
    const cache = new SecretCache(cacheClient, options);
    caches.push(cache);
    return cache;
  }

  /** Stores `count` secrets named `{prefix}-00` ... and returns the names. */
  async function seed(prefix: string, count: number): Promise<string[]> {
    const names = Array.from(
      { length: count },
      (_, i) => `${prefix}-${String(i).padStart(2, "0")}`,
    );
    await Promise.all(names.map((name) => client.setSecret(name, `value of ${name}`)));
    return names;
  }

  before(async () => {
    vault = await startLocalVault({ delayMs: 10 });
    client = localClient(vault);
  });
  afterEach(() => {
    for (const cache of caches.splice(0)) cache.close();
    vault.setFaults({});
  });
  after(async () => {
    client.close();
    await vault.close();
  });

  it("loads the secrets under a prefix, skipping disabled ones and filtering by tag", async () => {
    const prefix = uniqueName("load");
    const names = await seed(prefix, 12);
    await client.setSecret(`${prefix}-off`, "disabled", { enabled: false });
    await client.setSecret(`${prefix}-tagged`, "tagged", { tags: { role: "db" } });
    await client.setSecret(uniqueName("elsewhere"), "not ours", { tags: { role: "db" } });

    const cache = cacheOf({ prefix: `${prefix}-` });
    await cache.load();
    assert.deepEqual(cache.secretNames(), [...names, `${prefix}-tagged`].sort());
    assert.equal(cache.get(`${prefix}-03`), `value of ${prefix}-03`);
    assert.equal(cache.get(`${prefix}-off`), undefined);

    const tagged = cacheOf({ prefix: `${prefix}-`, tag: { name: "role", value: "db" } });
    await tagged.load();
    assert.deepEqual(tagged.secretNames(), [`${prefix}-tagged`]);
  });

  it("loads every page with Microsoft's 4.x client too (its pages carry no continuationToken)", async () => {
    const prefix = uniqueName("any-client");
    const names = await seed(prefix, 54);
    // The 4.x SecretClient is accepted as it is: no cast, no adapter.
    const cache = new SecretCache(officialClient(vault), { prefix: `${prefix}-` });
    caches.push(cache);
    const result = await cache.load();
    assert.equal(cache.size, 54);
    assert.deepEqual(result.loaded, names);
    assert.equal(cache.get(`${prefix}-53`), `value of ${prefix}-53`);
  });

  it("fails load() naming the names the vault lacks or holds disabled; skips and reports expired ones", async () => {
    const prefix = uniqueName("named");
    await client.setSecret(`${prefix}-db`, "db value");
    await client.setSecret(`${prefix}-off`, "off value", { enabled: false });
    const expiredOn = new Date(Math.floor((Date.now() - 60_000) / 1000) * 1000);
    await client.setSecret(`${prefix}-old`, "old value", { expiresOn: expiredOn });
    const names = [`${prefix}-db`, `${prefix}-off`, `${prefix}-gone`, `${prefix}-old`];
    for (const cacheClient of [client, officialClient(vault)] as SecretClient[]) {
      const strict = cacheOf({ names }, cacheClient);
      await assert.rejects(strict.load(), (error: unknown) => {
        assert.ok(error instanceof SecretCacheError);
        assert.deepEqual(
          error.failures.map((f) => `${f.secretName}: ${f.reason}`),
          [`${prefix}-gone: not found in the vault`, `${prefix}-off: disabled`],
        );
        return true;
      });
      const lenient = cacheOf({ names, allowMissingNames: true }, cacheClient);
      assert.deepEqual(await lenient.load(), {
        loaded: [`${prefix}-db`],
        skipped: [{ secretName: `${prefix}-old`, reason: "expired", date: expiredOn }],
        missing: [`${prefix}-gone`, `${prefix}-off`],
      });
    }
  });

  it("refresh picks up a rotation (even within the same second), a deletion and an addition", async () => {
    const prefix = uniqueName("refresh");
    await seed(prefix, 4);
    const cache = cacheOf({ prefix: `${prefix}-` });
    await cache.load();
    const changes: SecretCacheChange[] = [];
    cache.on("change", (change) => changes.push(change));

    await client.setSecret(`${prefix}-01`, "rotated");
    await (await client.beginDeleteSecret(`${prefix}-02`, { intervalInMs: 10 })).pollUntilDone();
    await client.setSecret(`${prefix}-new`, "added");
    const expected = {
      added: [`${prefix}-new`],
      updated: [`${prefix}-01`],
      removed: [`${prefix}-02`],
      skipped: [],
    };
    assert.deepEqual(await cache.refresh(), expected);
    assert.deepEqual(changes, [expected]);
    assert.equal(cache.get(`${prefix}-01`), "rotated");
    assert.equal(cache.get(`${prefix}-02`), undefined);
    assert.equal(cache.get(`${prefix}-new`), "added");
  });

  it("keeps the last good values when the vault fails, and emits error from the timer", async () => {
    const prefix = uniqueName("stale");
    await seed(prefix, 3);
    const cache = cacheOf({ prefix: `${prefix}-`, refreshIntervalInMs: 50 });
    await cache.load();
    vault.setFaults({ errorRate: 1 });
    const emitted = new Promise<Error>((resolve) => cache.once("error", resolve));
    await assert.rejects(cache.refresh(), (error: Error) => {
      assert.ok(error instanceof SecretCacheError);
      assert.match(error.message, /could not list the vault's secrets: (500|503) /);
      return true;
    });
    assert.match((await emitted).message, /The last good values are kept\./);
    assert.equal(cache.get(`${prefix}-00`), `value of ${prefix}-00`);
    assert.equal(cache.size, 3);
  });

  it("getOrFetch reads one secret lazily and names it when it cannot", async () => {
    const name = uniqueName("lazy");
    await client.setSecret(name, "lazy value");
    await client.setSecret(`${name}-off`, "x", { enabled: false });
    const cache = cacheOf({});
    assert.equal(await cache.getOrFetch(name), "lazy value");
    assert.equal(cache.get(name), "lazy value");
    await assert.rejects(cache.getOrFetch(`${name}-off`), {
      name: "SecretCacheError",
      message: `SecretCache.getOrFetch("${name}-off") failed: 403 Forbidden: Operation get is not allowed on a disabled secret.`,
    });
  });

  it("applies the secrets to process.env without overwriting what is set", async () => {
    const prefix = uniqueName("env");
    await client.setSecret(`${prefix}-db-password`, "from the vault");
    await client.setSecret(`${prefix}-api--key`, "key from the vault");
    const cache = cacheOf({ prefix: `${prefix}-` });
    await cache.load();
    const strip = (name: string) =>
      name
        .slice(prefix.length + 1)
        .toUpperCase()
        .replace(/-/g, "_");
    const saved = { ...process.env };
    try {
      process.env["SC_IT_DB_PASSWORD"] = "from the environment";
      const result = cache.applyToProcessEnv({ prefix: "SC_IT_", transform: strip });
      assert.deepEqual(result, { applied: ["SC_IT_API__KEY"], skipped: ["SC_IT_DB_PASSWORD"] });
      assert.equal(process.env["SC_IT_API__KEY"], "key from the vault");
      assert.equal(process.env["SC_IT_DB_PASSWORD"], "from the environment");
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  });

  it("fails load() clearly when the vault stays throttled", async () => {
    vault.setFaults({ throttleLimit: 0, throttleRetryAfter: false });
    const noRetries = localClient(vault, { retryOptions: { maxRetries: 0 } });
    const cache = cacheOf({ maxAttempts: 2, throttleDelayInMs: 10 }, noRetries);
    await assert.rejects(cache.load(), {
      name: "SecretCacheError",
      message:
        "SecretCache could not list the vault's secrets: still throttled (429) after 2 attempts.",
    });
    noRetries.close();
  });

  it("completes a throttled load: every worker pauses until Retry-After, then all 30 load", async () => {
    const prefix = uniqueName("throttled");
    await seed(prefix, 30);
    // 2 list pages + 30 gets against 20 requests per window: the rest waits for the next window.
    vault.setFaults({ throttleLimit: 20, throttleRetryAfter: true });
    const log = attemptLog();
    // No client retries: the cache's shared backoff alone has to get through.
    const throttledClient = localClient(vault, {
      retryOptions: { maxRetries: 0 },
      additionalPolicies: [{ policy: log.policy, position: "perRetry" }],
    });
    const cache = cacheOf({ prefix: `${prefix}-`, concurrency: 4 }, throttledClient);
    await cache.load();
    throttledClient.close();

    assert.equal(cache.size, 30);
    assert.equal(cache.get(`${prefix}-29`), `value of ${prefix}-29`);
    const firstThrottle = log.attempts.find((a) => a.status === 429);
    assert.ok(firstThrottle, "the vault throttled the load");
    const throttledCount = log.attempts.filter((a) => a.status === 429).length;
    assert.ok(
      throttledCount <= 5,
      `only the requests in flight were throttled (${throttledCount})`,
    );
    // After the first 429's answer, nothing new was sent until its Retry-After had passed (a
    // whole number of seconds rounded up, so at least Retry-After - 1 s), except requests that
    // were already on their way.
    const retryAfterInMs = Number(firstThrottle.retryAfter) * 1000;
    assert.ok(retryAfterInMs >= 1000, `Retry-After: ${firstThrottle.retryAfter}`);
    const sentDuringPause = log.attempts.filter(
      (a) =>
        a.sentAt > firstThrottle.answeredAt + 50 &&
        a.sentAt < firstThrottle.answeredAt + retryAfterInMs - 1000,
    );
    assert.deepEqual(sentDuringPause, []);
    const gets = log.attempts.filter((a) => a.path.startsWith(`/secrets/${prefix}-`));
    assert.equal(gets.filter((a) => a.status === 200).length, 30, "each secret was read once");
  });
});
