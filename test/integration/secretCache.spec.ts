import assert from "node:assert/strict";
import { inspect } from "node:util";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import type { SecretClient } from "../../src/index.js";
import {
  startLocalVault,
  type LocalVault,
  type LocalVaultFaultOptions,
} from "../../src/emulator/index.js";
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
  const clients: SecretClient[] = [];

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
    for (const closing of clients.splice(0)) closing.close();
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
    const change = await cache.refresh();
    assert.deepEqual(
      {
        added: change.added,
        updated: change.updated,
        removed: change.removed,
        skipped: change.skipped,
      },
      {
        added: [`${prefix}-new`],
        updated: [`${prefix}-01`],
        removed: [`${prefix}-02`],
        skipped: [],
      },
    );
    assert.deepEqual(
      change.details.map((d) => [d.kind, d.reason]),
      [
        ["updated", "newVersion"],
        ["removed", "deleted"],
        ["added", "newVersion"],
      ],
    );
    assert.deepEqual(changes, [change]);
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
      assert.deepEqual(result, {
        applied: ["SC_IT_API__KEY"],
        skipped: ["SC_IT_DB_PASSWORD"],
        refused: [],
      });
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

  describe("rotation", () => {
    // Only this test's secrets in the vault: one list page, so that request counts are exact.
    beforeEach(() => vault.reset());

    /** A client without retries of its own, whose every attempt is logged, and extra policies. */
    function rotationClient(policies: PipelinePolicy[] = []): {
      client: SecretClient;
      attempts: Attempt[];
    } {
      const log = attemptLog();
      const rotating = localClient(vault, {
        retryOptions: { maxRetries: 0 },
        additionalPolicies: [log.policy, ...policies].map((policy) => ({
          policy,
          position: "perRetry" as const,
        })),
      });
      clients.push(rotating);
      return { client: rotating, attempts: log.attempts };
    }

    const gets = (attempts: Attempt[], name: string) =>
      attempts.filter((a) => a.path === `/secrets/${name}` || a.path === `/secrets/${name}/`);
    const listings = (attempts: Attempt[]) => attempts.filter((a) => a.path === "/secrets");

    /** Turns `faults` on once the first get of a secret under `prefix` is answered. */
    function faultsAfterFirstGet(prefix: string, faults: LocalVaultFaultOptions): PipelinePolicy {
      let armed = true;
      return {
        name: "faultsAfterFirstGet",
        async sendRequest(request, next) {
          const response = await next(request);
          if (armed && new URL(request.url).pathname.startsWith(`/secrets/${prefix}-`)) {
            armed = false;
            vault.setFaults(faults);
          }
          return response;
        },
      };
    }

    /** Sends the gets of one secret from another origin: the vault answers 403 Forbidden. */
    function forbidden(name: string): PipelinePolicy {
      return {
        name: "forbiddenSecret",
        sendRequest(request, next) {
          if (new URL(request.url).pathname === `/secrets/${name}/`) {
            request.headers.set("origin", "https://elsewhere.example");
          }
          return next(request);
        },
      };
    }

    const faultCases: Array<{
      status: string;
      setUp: (prefix: string) => { policies: PipelinePolicy[]; afterLoad?: () => void };
      options: SecretCacheOptions;
      failed: number;
      reason: RegExp;
    }> = [
      {
        status: "429",
        // One list page and one get, then 429 without Retry-After; one attempt each.
        setUp: () => ({
          policies: [],
          afterLoad: () => vault.setFaults({ throttleLimit: 2, throttleRetryAfter: false }),
        }),
        options: { maxAttempts: 1 },
        failed: 2,
        reason: /^still throttled \(429\) after 1 attempt$/,
      },
      {
        status: "500",
        setUp: (prefix) => ({ policies: [faultsAfterFirstGet(prefix, { errorRate: 1 })] }),
        options: { concurrency: 1 },
        failed: 2,
        reason: /^50[03] /,
      },
      {
        status: "403",
        setUp: (prefix) => ({ policies: [forbidden(`${prefix}-01`)] }),
        options: {},
        failed: 1,
        reason: /^403 Forbidden: Requests from other origins are not accepted/,
      },
    ];

    for (const { status, setUp, options, failed, reason } of faultCases) {
      it(`a ${status} on some reads of a refresh swaps nothing: every last good value stays, each failing name is reported with its reason`, async () => {
        const prefix = uniqueName(`partial${status}`);
        const names = await seed(prefix, 3);
        const { policies, afterLoad } = setUp(prefix);
        const armed = { on: false };
        const gated = policies.map((policy): PipelinePolicy => ({
          name: policy.name,
          sendRequest: (request, next) =>
            armed.on ? policy.sendRequest(request, next) : next(request),
        }));
        const { client: faulty } = rotationClient(gated);
        const cache = cacheOf({ prefix: `${prefix}-`, ...options }, faulty);
        await cache.load();
        const changes: SecretCacheChange[] = [];
        cache.on("change", (change) => changes.push(change));
        for (const name of names) await client.setSecret(name, `rotated ${name}`);
        armed.on = true;
        afterLoad?.();

        const error = await cache.refresh().then(
          () => assert.fail("the refresh should fail"),
          (caught: unknown) => caught,
        );
        armed.on = false;
        vault.setFaults({});
        assert.ok(error instanceof SecretCacheError, String(error));
        assert.equal(error.failures.length, failed, error.message);
        for (const failure of error.failures) {
          assert.ok(names.includes(failure.secretName), failure.secretName);
          assert.match(failure.reason, reason);
        }
        assert.match(
          error.message,
          /Nothing was changed: the cache keeps every last good value\.$/,
        );
        assert.deepEqual(changes, []);
        for (const name of names) assert.equal(cache.get(name), `value of ${name}`);
        assert.ok(cache.freshness.staleSince !== undefined);

        assert.deepEqual((await cache.refresh()).updated, names, "the next refresh swaps them all");
        for (const name of names) assert.equal(cache.get(name), `rotated ${name}`);
        assert.equal(cache.freshness.staleSince, undefined);
      });
    }

    it("a rotated, disabled, deleted or expired secret: change names it with old and new version and why, never a value", async () => {
      const prefix = uniqueName("details");
      const [rotated, disabled, deleted, expired] = await seed(prefix, 4);
      const cache = cacheOf({ prefix: `${prefix}-` });
      await cache.load();
      const versions = async (name: string) => (await client.getSecret(name)).properties.version;
      const before = Object.fromEntries(
        await Promise.all(
          [rotated!, disabled!, deleted!, expired!].map(async (n) => [n, await versions(n)]),
        ),
      );
      const changes: SecretCacheChange[] = [];
      cache.on("change", (change) => changes.push(change));

      const newVersion = (await client.setSecret(rotated!, "rotated value")).properties.version;
      await client.updateSecretProperties(disabled!, before[disabled!]!, { enabled: false });
      const poller = await client.beginDeleteSecret(deleted!, { intervalInMs: 5 });
      // The vault clock, moved past the deletion's delay: the first poll finds it done.
      vault.advanceClock(1000);
      await poller.pollUntilDone();
      const expiresOn = new Date(Math.floor((Date.now() - 60_000) / 1000) * 1000);
      const expiredVersion = await client.setSecret(expired!, "expired value", { expiresOn });

      const change = await cache.refresh();
      assert.deepEqual(change.details, [
        {
          secretName: rotated,
          kind: "updated",
          reason: "newVersion",
          previousVersion: before[rotated!],
          version: newVersion,
        },
        {
          secretName: disabled,
          kind: "removed",
          reason: "disabled",
          previousVersion: before[disabled!],
          version: undefined,
        },
        {
          secretName: deleted,
          kind: "removed",
          reason: "deleted",
          previousVersion: before[deleted!],
          version: undefined,
        },
        {
          secretName: expired,
          kind: "removed",
          reason: "expired",
          previousVersion: before[expired!],
          version: undefined,
        },
      ]);
      assert.deepEqual(change.updated, [rotated]);
      assert.deepEqual(change.removed, [disabled, deleted, expired]);
      assert.deepEqual(change.skipped, [
        { secretName: expired, reason: "expired", date: expiresOn },
      ]);
      assert.ok(expiredVersion.properties.version !== before[expired!]);
      assert.deepEqual(changes, [change]);
      for (const shown of [
        inspect(change, { depth: Infinity, showHidden: true }),
        JSON.stringify(change),
      ]) {
        assert.ok(!shown.includes("value"), `a value in ${shown}`);
      }
      assert.equal(cache.get(rotated!), "rotated value");
      assert.equal(cache.get(disabled!), undefined);
    });

    it("refreshNow: concurrent callers share one request per name, no listing; the minimum interval holds", async () => {
      const prefix = uniqueName("now");
      const [first, second] = await seed(prefix, 2);
      const { client: logged, attempts } = rotationClient();
      const cache = cacheOf({ prefix: `${prefix}-`, minRefreshIntervalInMs: 150 }, logged);
      await cache.load();
      attempts.length = 0;
      await client.setSecret(first!, "rotated");

      const results = await Promise.all([
        cache.refreshNow([first!]),
        cache.refreshNow([first!.toUpperCase(), second!]),
        cache.refreshNow([first!]),
      ]);
      assert.equal(gets(attempts, first!).length, 1, "one request for three callers");
      assert.equal(gets(attempts, second!).length, 1);
      assert.deepEqual(listings(attempts), [], "no listing");
      assert.deepEqual(
        results.flatMap((r) => r.updated),
        [first],
      );
      assert.equal(cache.get(first!), "rotated");

      // Asked again at once: it waits out the interval, then reads once for both callers.
      await Promise.all([cache.refreshNow([first!]), cache.refreshNow([first!])]);
      const [one, two] = gets(attempts, first!);
      assert.equal(gets(attempts, first!).length, 2);
      assert.ok(
        two!.sentAt - one!.answeredAt >= 140,
        `the second read waited for the interval (${two!.sentAt - one!.answeredAt} ms)`,
      );
    });

    it("invalidate: get fails until a read; getOrFetch reads the secret again and sees the rotation", async () => {
      const prefix = uniqueName("invalidate");
      const [name] = await seed(prefix, 2);
      const { client: logged, attempts } = rotationClient();
      const cache = cacheOf({ prefix: `${prefix}-` }, logged);
      await cache.load();
      attempts.length = 0;
      await client.setSecret(name!, "rotated password");
      cache.invalidate(name!);
      assert.throws(() => cache.get(name!), /was invalidated and has not been read since/);
      assert.equal(cache.has(name!), false);
      const changed = new Promise<SecretCacheChange>((resolve) => cache.once("change", resolve));
      assert.equal(await cache.getOrFetch(name!), "rotated password");
      assert.deepEqual((await changed).updated, [name]);
      assert.equal(cache.get(name!), "rotated password");
      assert.equal(gets(attempts, name!).length, 1);
      assert.deepEqual(listings(attempts), []);
    });

    it("a secret with its own refresh interval is read on it (gets only, no listing), beside the cache-wide one", async () => {
      const prefix = uniqueName("own-interval");
      const [fast, slow] = await seed(prefix, 2);
      const { client: logged, attempts } = rotationClient();
      const cache = cacheOf(
        {
          prefix: `${prefix}-`,
          refreshIntervalInMs: 600_000,
          minRefreshIntervalInMs: 20,
          refreshIntervalsInMs: { [fast!]: 30 },
        },
        logged,
      );
      await cache.load();
      attempts.length = 0;
      const changed = new Promise<SecretCacheChange>((resolve) => cache.once("change", resolve));
      await client.setSecret(fast!, "rotated fast");
      await client.setSecret(slow!, "rotated slow");
      const change = await changed;
      assert.deepEqual(change.updated, [fast]);
      assert.equal(cache.get(fast!), "rotated fast");
      assert.equal(cache.get(slow!), `value of ${slow}`, "the cache-wide interval has not come");
      assert.deepEqual(listings(attempts), []);
      assert.deepEqual(gets(attempts, slow!), []);
    });
  });
});
