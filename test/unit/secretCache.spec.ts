import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { format, inspect } from "node:util";
import { AzureLogger, getLogLevel, setLogLevel, type AzureLogLevel } from "@azure/logger";
import { createHttpHeaders, createPipelineRequest, RestError } from "@azure/core-rest-pipeline";
import type { AbortSignalLike } from "@azure/abort-controller";
import type { PageSettings } from "@azure/core-paging";
import { SecretClient, type KeyVaultSecret, type SecretProperties } from "../../src/index.js";
import type { ContinuablePage } from "../../src/paging.js";
import {
  EnvironmentKeyCollisionError,
  SecretCache,
  SecretCacheError,
  toEnvironmentKey,
  type SecretCacheChange,
  type SecretCacheClient,
  type SecretCacheOptions,
} from "../../src/secretCache/index.js";
import { retryAfterInMs } from "../../src/secretCache/errors.js";
import { SharedBackoff } from "../../src/secretCache/sharedBackoff.js";
import { pause } from "../helpers/testKit.js";

const vaultUrl = "https://myvault.vault.azure.net";

interface StoredSecret {
  name: string;
  value: string;
  version: string;
  enabled: boolean;
  tags?: Record<string, string>;
  updatedOn: Date;
  expiresOn?: Date;
  notBefore?: Date;
}

/** What the fake vault does with one request instead of answering it. */
type Hook = (name: string, call: number) => Error | undefined;

function restError(statusCode: number, code: string, headers: Record<string, string> = {}) {
  const request = createPipelineRequest({ url: `${vaultUrl}/secrets` });
  return new RestError(`${code} (fake vault)`, {
    statusCode,
    code,
    request,
    response: { status: statusCode, headers: createHttpHeaders(headers), request },
  });
}

function throttled(headers: Record<string, string> = {}): RestError {
  return restError(429, "Throttled", headers);
}

/**
 * A vault in memory behind the two methods a SecretCache uses. Like the service, its list gives
 * base ids (no version) and whole-second `updatedOn`; its clock starts an hour ago and moves one
 * second per write, so that cached secrets are "settled" unless a test says otherwise.
 */
class FakeVault implements SecretCacheClient {
  readonly secrets = new Map<string, StoredSecret>();
  pageSize = 3;
  getDelayMs = 2;
  listDelayMs = 0;
  inFlight = 0;
  maxInFlight = 0;
  /** Names passed to getSecret, in order; and when each started. */
  readonly gets: Array<{ name: string; at: number }> = [];
  /** Continuation tokens of the page requests. */
  readonly pageRequests: Array<string | undefined> = [];
  getHook: Hook | undefined;
  pageHook: ((token: string | undefined, call: number) => Error | undefined) | undefined;
  clockMs = Math.floor((Date.now() - 3600_000) / 1000) * 1000;
  realClock = false;
  /** Pages without continuationToken, as Microsoft's 4.x client gives them. */
  withoutTokens = false;

  set(
    name: string,
    value: string,
    options: {
      enabled?: boolean;
      tags?: Record<string, string>;
      expiresOn?: Date;
      notBefore?: Date;
    } = {},
  ) {
    this.clockMs += 1000;
    const updatedOn = new Date(
      this.realClock ? Math.floor(Date.now() / 1000) * 1000 : this.clockMs,
    );
    this.secrets.set(name.toLowerCase(), {
      name,
      value,
      version: randomBytes(16).toString("hex"),
      enabled: options.enabled ?? true,
      tags: options.tags,
      updatedOn,
      expiresOn: options.expiresOn,
      notBefore: options.notBefore,
    });
  }

  seed(count: number, prefix = "s"): string[] {
    const names = Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(3, "0")}`);
    for (const name of names) this.set(name, `value-of-${name}`);
    return names;
  }

  private properties(stored: StoredSecret, withVersion: boolean): SecretProperties {
    return {
      vaultUrl,
      name: stored.name,
      id: `${vaultUrl}/secrets/${stored.name}${withVersion ? `/${stored.version}` : ""}`,
      ...(withVersion ? { version: stored.version } : {}),
      enabled: stored.enabled,
      tags: stored.tags,
      updatedOn: stored.updatedOn,
      expiresOn: stored.expiresOn,
      notBefore: stored.notBefore,
    };
  }

  listPropertiesOfSecrets(_options?: { abortSignal?: AbortSignalLike }): {
    byPage(settings?: PageSettings): AsyncIterableIterator<ContinuablePage<SecretProperties>>;
  } {
    return { byPage: (settings = {}) => this.pages(settings.continuationToken) };
  }

  private async *pages(token: string | undefined) {
    const all = [...this.secrets.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
    let start = token === undefined ? 0 : Number(token);
    for (;;) {
      this.pageRequests.push(start === 0 ? undefined : String(start));
      if (this.listDelayMs > 0) await pause(this.listDelayMs);
      const failure = this.pageHook?.(
        start === 0 ? undefined : String(start),
        this.pageRequests.length,
      );
      if (failure) throw failure;
      const page = all
        .slice(start, start + this.pageSize)
        .map((s) => this.properties(s, false)) as ContinuablePage<SecretProperties>;
      start += this.pageSize;
      if (start < all.length && !this.withoutTokens) page.continuationToken = String(start);
      yield page;
      if (start >= all.length) return;
    }
  }

  async getSecret(
    name: string,
    options?: { abortSignal?: AbortSignalLike },
  ): Promise<KeyVaultSecret> {
    this.gets.push({ name, at: Date.now() });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await pause(this.getDelayMs);
      if (options?.abortSignal?.aborted) throw new Error("aborted");
      const failure = this.getHook?.(name, this.gets.filter((g) => g.name === name).length);
      if (failure) throw failure;
      const stored = this.secrets.get(name.toLowerCase());
      if (stored === undefined) throw restError(404, "SecretNotFound");
      if (!stored.enabled) {
        const error = restError(403, "Forbidden");
        error.details = { error: { code: "Forbidden", innererror: { code: "SecretDisabled" } } };
        throw error;
      }
      return { name: stored.name, value: stored.value, properties: this.properties(stored, true) };
    } finally {
      this.inFlight--;
    }
  }

  getsOf(name: string): number {
    return this.gets.filter((g) => g.name === name).length;
  }
}

function cacheOf(vault: FakeVault, options: SecretCacheOptions = {}): SecretCache {
  return new SecretCache(vault, { throttleDelayInMs: 5, maxThrottleDelayInMs: 40, ...options });
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof Error, `expected an Error, got ${String(error)}`);
    return error;
  }
  assert.fail("expected the promise to reject");
}

function nextEvent<T>(cache: SecretCache, event: "change" | "error"): Promise<T> {
  return new Promise((resolve) =>
    cache.once(event as "change", resolve as (c: SecretCacheChange) => void),
  );
}

describe("SecretCache", () => {
  const caches: SecretCache[] = [];
  function track(cache: SecretCache): SecretCache {
    caches.push(cache);
    return cache;
  }
  afterEach(() => {
    for (const cache of caches.splice(0)) cache.close();
  });

  describe("constructor", () => {
    const vault = new FakeVault();

    it("accepts a SecretClient as its client (type and shape)", () => {
      const client: SecretCacheClient = new SecretClient(vaultUrl, {
        getToken: async () => null,
      });
      assert.ok(new SecretCache(client));
    });

    it("throws TypeError for a client without listPropertiesOfSecrets and getSecret", () => {
      assert.throws(() => new SecretCache({} as SecretCacheClient), {
        name: "TypeError",
        message: /client must be a SecretClient/,
      });
      assert.throws(() => new SecretCache(null as unknown as SecretCacheClient), TypeError);
    });

    it("throws TypeError for options of the wrong type", () => {
      const bad: Array<[unknown, RegExp]> = [
        [{ filter: "x" }, /options.filter must be a function/],
        [{ names: "db" }, /options.names must be an array/],
        [{ names: [""] }, /options.names must be an array of non-empty strings/],
        [{ prefix: 1 }, /options.prefix must be a string/],
        [{ tag: "app" }, /options.tag must be/],
        [{ tag: { name: "" } }, /options.tag must be/],
        [{ tag: { name: "app", value: 1 } }, /options.tag must be/],
      ];
      for (const [options, message] of bad) {
        assert.throws(() => new SecretCache(vault, options as SecretCacheOptions), {
          name: "TypeError",
          message,
        });
      }
      assert.throws(() => new SecretCache(vault, null as unknown as SecretCacheOptions), TypeError);
    });

    it("throws RangeError for numbers out of range", () => {
      const bad: Array<[SecretCacheOptions, RegExp]> = [
        [{ concurrency: 0 }, /options.concurrency must be an integer of 1 or more, got 0/],
        [{ concurrency: 2.5 }, /options.concurrency/],
        [{ maxAttempts: 0 }, /options.maxAttempts/],
        [{ throttleDelayInMs: -1 }, /options.throttleDelayInMs/],
        [{ maxThrottleDelayInMs: Infinity }, /options.maxThrottleDelayInMs/],
        [{ throttleDelayInMs: 100, maxThrottleDelayInMs: 50 }, /must not be less than/],
        [{ refreshIntervalInMs: 0 }, /options.refreshIntervalInMs/],
        [{ refreshIntervalInMs: NaN }, /options.refreshIntervalInMs/],
        [{ refreshIntervalInMs: 2 ** 31 }, /options.refreshIntervalInMs/],
      ];
      for (const [options, message] of bad) {
        assert.throws(() => new SecretCache(vault, options), { name: "RangeError", message });
      }
    });
  });

  describe("load and get", () => {
    it("loads every enabled secret, across pages, and get answers synchronously", async () => {
      const vault = new FakeVault();
      const names = vault.seed(7);
      vault.set("off", "disabled value", { enabled: false });
      const cache = track(cacheOf(vault));
      await cache.load();
      assert.equal(cache.loaded, true);
      assert.equal(cache.size, 7);
      assert.deepEqual(cache.secretNames(), names);
      assert.equal(cache.get("s003"), "value-of-s003");
      assert.equal(cache.get("S003"), "value-of-s003", "names compare case-insensitively");
      assert.equal(cache.get("off"), undefined, "disabled secrets are skipped");
      assert.equal(vault.getsOf("off"), 0, "a disabled secret is never fetched");
      assert.equal(cache.get("absent"), undefined);
      assert.equal(cache.has("s000"), true);
      assert.equal(cache.has("off"), false);
      assert.deepEqual(vault.pageRequests, [undefined, "3", "6"]);
    });

    it("get before load throws an Error that says what to do", () => {
      const cache = track(cacheOf(new FakeVault()));
      assert.throws(() => cache.get("db-password"), {
        name: "Error",
        message:
          'SecretCache.get("db-password") was called before load() completed. Await cache.load() first, or use await cache.getOrFetch("db-password") to fetch secrets one at a time.',
      });
      assert.throws(() => cache.get(""), TypeError);
    });

    it("concurrent load() calls share one listing; load() after success refreshes", async () => {
      const vault = new FakeVault();
      vault.seed(4);
      const cache = track(cacheOf(vault));
      await Promise.all([cache.load(), cache.load()]);
      assert.equal(vault.pageRequests.length, 2);
      assert.equal(vault.gets.length, 4);
      vault.set("s001", "rotated");
      await cache.load();
      assert.equal(cache.get("s001"), "rotated");
      assert.equal(vault.gets.length, 5, "the second load fetched only the changed secret");
    });

    it("treats a secret deleted or disabled between listing and fetch as absent", async () => {
      const vault = new FakeVault();
      vault.seed(3);
      vault.getHook = (name) => {
        if (name === "s001") vault.secrets.delete("s001");
        if (name === "s002") vault.secrets.get("s002")!.enabled = false;
        return undefined;
      };
      const cache = track(cacheOf(vault));
      await cache.load();
      assert.deepEqual(cache.secretNames(), ["s000"]);
    });

    it("fails load() naming each secret that failed and why, and stays unloaded", async () => {
      const vault = new FakeVault();
      vault.seed(5);
      vault.getHook = (name) =>
        name === "s001" || name === "s003" ? restError(403, "Forbidden") : undefined;
      const cache = track(cacheOf(vault));
      const error = await rejection(cache.load());
      assert.ok(error instanceof SecretCacheError);
      assert.equal(
        error.message,
        'SecretCache.load() could not read 2 of 5 secrets: "s001" (403 Forbidden: Forbidden (fake vault)), "s003" (403 Forbidden: Forbidden (fake vault)). Nothing was loaded.',
      );
      assert.deepEqual(
        error.failures.map((f) => f.secretName),
        ["s001", "s003"],
      );
      assert.equal((error.failures[0]!.error as RestError).statusCode, 403);
      assert.equal(cache.loaded, false);
      assert.throws(() => cache.get("s000"), /before load\(\) completed/);
    });

    it("names at most ten failed secrets in the message and counts the rest", async () => {
      const vault = new FakeVault();
      vault.seed(14);
      vault.getHook = () => restError(500, "InternalError");
      const error = (await rejection(track(cacheOf(vault)).load())) as SecretCacheError;
      assert.equal(error.failures.length, 14);
      assert.match(error.message, /^SecretCache.load\(\) could not read 14 of 14 secrets: "s000"/);
      assert.match(
        error.message,
        /"s009" \(500 InternalError: InternalError \(fake vault\)\) and 4 more\. Nothing was loaded\.$/,
      );
    });

    it("fails load() with the listing's error when the list fails", async () => {
      const vault = new FakeVault();
      vault.seed(5);
      vault.pageHook = (token) => (token === "3" ? restError(401, "Unauthorized") : undefined);
      const error = (await rejection(track(cacheOf(vault)).load())) as SecretCacheError;
      assert.equal(
        error.message,
        "SecretCache could not list the vault's secrets: 401 Unauthorized: Unauthorized (fake vault).",
      );
      assert.deepEqual(
        error.failures.map((f) => f.secretName),
        ["(listing)"],
      );
    });
  });

  describe("filters", () => {
    function taggedVault(): FakeVault {
      const vault = new FakeVault();
      vault.set("billing-db", "1", { tags: { app: "billing" } });
      vault.set("billing-api-key", "2", { tags: { app: "billing", tier: "gold" } });
      vault.set("Shop-db", "3", { tags: { app: "shop" } });
      vault.set("shop-token", "4");
      vault.set("other", "5", { tags: { tier: "gold" } });
      return vault;
    }

    it("filter: keeps the secrets the predicate accepts; it sees properties, not values", async () => {
      const vault = taggedVault();
      const seen: SecretProperties[] = [];
      const cache = track(
        cacheOf(vault, {
          filter: (properties) => {
            seen.push(properties);
            return properties.name.endsWith("db");
          },
        }),
      );
      await cache.load();
      assert.deepEqual(cache.secretNames(), ["Shop-db", "billing-db"]);
      assert.equal(seen.length, 5);
      assert.ok(seen.every((p) => !("value" in p)));
      assert.equal(vault.gets.length, 2, "filtered-out secrets are never fetched");
    });

    it("names: keeps only the named secrets, case-insensitively", async () => {
      const cache = track(cacheOf(taggedVault(), { names: ["SHOP-DB", "other"] }));
      const result = await cache.load();
      assert.deepEqual(cache.secretNames(), ["Shop-db", "other"]);
      assert.deepEqual(result, { loaded: ["Shop-db", "other"], skipped: [], missing: [] });
    });

    it("names: load() fails naming each name the vault lacks or holds disabled", async () => {
      const vault = taggedVault();
      vault.set("turned-off", "6", { enabled: false });
      const cache = track(cacheOf(vault, { names: ["SHOP-DB", "missing", "Turned-Off"] }));
      const error = await rejection(cache.load());
      assert.ok(error instanceof SecretCacheError);
      assert.match(error.message, /2 of the 3 secrets named in options\.names are not available/);
      assert.match(error.message, /"Turned-Off" \(disabled\)/);
      assert.match(error.message, /"missing" \(not found in the vault\)/);
      assert.match(error.message, /allowMissingNames: true/);
      assert.deepEqual(
        error.failures.map((f) => [f.secretName, f.reason]),
        [
          ["Turned-Off", "disabled"],
          ["missing", "not found in the vault"],
        ],
      );
      assert.equal(cache.loaded, false);
      assert.throws(() => cache.get("shop-db"), /before load\(\) completed/);
    });

    it("names with allowMissingNames: loads what is there and lists the rest as missing", async () => {
      const vault = taggedVault();
      vault.set("turned-off", "6", { enabled: false });
      const cache = track(
        cacheOf(vault, { names: ["SHOP-DB", "missing", "turned-off"], allowMissingNames: true }),
      );
      const result = await cache.load();
      assert.deepEqual(result, {
        loaded: ["Shop-db"],
        skipped: [],
        missing: ["missing", "turned-off"],
      });
      assert.equal(cache.get("missing"), undefined);
    });

    it("rejects allowMissingNames and includeOutsideValidityPeriod that are not booleans", () => {
      assert.throws(
        () => new SecretCache(new FakeVault(), { allowMissingNames: "yes" as never }),
        /options.allowMissingNames must be a boolean/,
      );
      assert.throws(
        () => new SecretCache(new FakeVault(), { includeOutsideValidityPeriod: 1 as never }),
        /options.includeOutsideValidityPeriod must be a boolean/,
      );
    });

    it("tag: keeps secrets carrying the tag, or the tag with the given value", async () => {
      const byName = track(cacheOf(taggedVault(), { tag: { name: "tier" } }));
      await byName.load();
      assert.deepEqual(byName.secretNames(), ["billing-api-key", "other"]);
      const byValue = track(cacheOf(taggedVault(), { tag: { name: "app", value: "billing" } }));
      await byValue.load();
      assert.deepEqual(byValue.secretNames(), ["billing-api-key", "billing-db"]);
    });

    it("prefix: keeps secrets whose name starts with it, case-insensitively", async () => {
      const cache = track(cacheOf(taggedVault(), { prefix: "shop-" }));
      await cache.load();
      assert.deepEqual(cache.secretNames(), ["Shop-db", "shop-token"]);
    });

    it("combines every filter given", async () => {
      const cache = track(
        cacheOf(taggedVault(), {
          prefix: "billing-",
          tag: { name: "app", value: "billing" },
          filter: (p) => p.tags?.["tier"] === undefined,
        }),
      );
      await cache.load();
      assert.deepEqual(cache.secretNames(), ["billing-db"]);
    });
  });

  describe("concurrency", () => {
    it("never has more than `concurrency` gets in flight", async () => {
      const vault = new FakeVault();
      vault.pageSize = 25;
      vault.seed(40);
      await track(cacheOf(vault, { concurrency: 4 })).load();
      assert.equal(vault.maxInFlight, 4);
      assert.equal(vault.gets.length, 40);
    });

    it("defaults to 32 gets in flight", async () => {
      const vault = new FakeVault();
      vault.pageSize = 25;
      vault.getDelayMs = 10;
      vault.seed(100);
      await track(cacheOf(vault)).load();
      assert.equal(vault.maxInFlight, 32);
    });

    it("starts fetching with the first page while the listing goes on", async () => {
      const vault = new FakeVault();
      vault.listDelayMs = 15;
      vault.seed(9);
      await track(cacheOf(vault)).load();
      const firstGet = vault.gets[0]!.at;
      const lastGet = vault.gets[vault.gets.length - 1]!.at;
      assert.ok(
        lastGet - firstGet >= 20,
        `gets spread over the listing (${lastGet - firstGet} ms)`,
      );
    });

    it("asks for the next list page before fetching the secrets of the page in hand", async () => {
      const vault = new FakeVault();
      vault.pageSize = 5;
      vault.seed(15);
      const events: string[] = [];
      vault.pageHook = (token) => {
        events.push(`page ${token ?? "first"}`);
        return undefined;
      };
      const getSecret = vault.getSecret.bind(vault);
      vault.getSecret = (name, options) => {
        events.push(`get ${name}`);
        return getSecret(name, options);
      };
      await track(cacheOf(vault)).load();
      assert.deepEqual(
        events.filter((e) => e.startsWith("page")),
        ["page first", "page 5", "page 10"],
      );
      // Each page's request goes out before the gets of the page before it.
      assert.ok(events.indexOf("page 5") < events.indexOf("get s000"), events.join(", "));
      assert.ok(events.indexOf("page 10") < events.indexOf("get s005"), events.join(", "));
      assert.equal(vault.gets.length, 15);
    });
  });

  describe("shared backoff", () => {
    it("pauses every worker until the Retry-After of a 429, then retries the throttled secret", async () => {
      const vault = new FakeVault();
      vault.pageSize = 25;
      vault.seed(24);
      let throttledAt = 0;
      vault.getHook = (name, call) => {
        if (name === "s004" && call === 1) {
          throttledAt = Date.now();
          return throttled({ "retry-after": "0.2" });
        }
        return undefined;
      };
      const cache = track(cacheOf(vault, { concurrency: 6 }));
      await cache.load();
      assert.equal(cache.get("s004"), "value-of-s004");
      assert.equal(vault.getsOf("s004"), 2);
      // Gets already in flight when the 429 came back finish; none starts during the pause.
      const startedDuringPause = vault.gets.filter(
        (g) => g.at > throttledAt + 5 && g.at < throttledAt + 190,
      );
      assert.deepEqual(startedDuringPause, []);
      const after = vault.gets.filter((g) => g.at >= throttledAt + 190);
      assert.ok(after.length >= 10, `the others resumed after the pause (${after.length})`);
      assert.ok(after.some((g) => g.name === "s004"));
    });

    it("after a pause, sends one request (the probe) and releases the others when it is answered", async () => {
      const vault = new FakeVault();
      vault.pageSize = 25;
      vault.seed(24);
      vault.getDelayMs = 20;
      let throttledAt = 0;
      vault.getHook = (name, call) => {
        if (name === "s004" && call === 1) {
          throttledAt = Date.now();
          return throttled({ "retry-after-ms": "30" });
        }
        return undefined;
      };
      const cache = track(cacheOf(vault, { concurrency: 6 }));
      await cache.load();
      assert.equal(cache.size, 24);
      // Gets started after the 429 came back: the first goes alone, the rest after its answer.
      const after = vault.gets.filter((g) => g.at >= throttledAt + 25);
      assert.ok(after.length >= 2, `gets after the pause: ${after.length}`);
      const [probe, ...rest] = after;
      assert.ok(
        rest.every((g) => g.at >= probe!.at + vault.getDelayMs - 1),
        `no get started while the probe was out (${after.map((g) => g.at - probe!.at).join(", ")})`,
      );
    });

    it("without Retry-After, pauses with an exponential delay from throttleDelayInMs", async () => {
      const vault = new FakeVault();
      vault.seed(6);
      const calls: number[] = [];
      vault.getHook = (name, call) => {
        if (name !== "s002") return undefined;
        calls.push(Date.now());
        return call <= 3 ? throttled() : undefined;
      };
      await track(
        cacheOf(vault, { throttleDelayInMs: 20, maxThrottleDelayInMs: 1000, concurrency: 1 }),
      ).load();
      assert.equal(calls.length, 4);
      const gaps = calls.slice(1).map((at, i) => at - calls[i]!);
      // 20, 40, 80 ms (+ up to 20 % jitter, + the fake's latency).
      assert.ok(gaps[0]! >= 18 && gaps[0]! < 100, `gaps ${gaps.join(", ")}`);
      assert.ok(gaps[1]! >= 38 && gaps[1]! < 200, `gaps ${gaps.join(", ")}`);
      assert.ok(gaps[2]! >= 78 && gaps[2]! < 400, `gaps ${gaps.join(", ")}`);
    });

    it("fails load() naming the secrets still throttled after maxAttempts", async () => {
      const vault = new FakeVault();
      vault.seed(4);
      vault.getHook = (name) =>
        name === "s001" || name === "s002" ? throttled({ "retry-after-ms": "5" }) : undefined;
      const cache = track(cacheOf(vault, { maxAttempts: 3 }));
      const error = (await rejection(cache.load())) as SecretCacheError;
      assert.ok(error instanceof SecretCacheError);
      assert.equal(
        error.message,
        'SecretCache.load() could not read 2 of 4 secrets: "s001" (still throttled (429) after 3 attempts; the vault last asked to wait 1 s), "s002" (still throttled (429) after 3 attempts; the vault last asked to wait 1 s). Nothing was loaded.',
      );
      assert.equal(vault.getsOf("s001"), 3);
      assert.equal(vault.getsOf("s002"), 3);
      assert.equal(cache.loaded, false);
    });

    it("resumes a throttled listing from the last page's continuation token", async () => {
      const vault = new FakeVault();
      vault.seed(7);
      vault.pageHook = (token, call) => (token === "3" && call === 2 ? throttled() : undefined);
      const cache = track(cacheOf(vault));
      await cache.load();
      assert.equal(cache.size, 7);
      assert.deepEqual(vault.pageRequests, [undefined, "3", "3", "6"]);
    });

    describe("SharedBackoff", () => {
      function backoff(now: { ms: number }) {
        return new SharedBackoff({
          initialDelayInMs: 1000,
          maxDelayInMs: 16_000,
          now: () => now.ms,
          random: () => 0,
        });
      }

      it("429s of requests in flight when the pause began do not deepen it", () => {
        const now = { ms: 10_000 };
        const shared = backoff(now);
        const started = shared.requestStarted();
        now.ms += 50;
        assert.equal(shared.throttled(throttled(), started), 1000);
        now.ms += 10;
        // 31 more workers, all sent before the pause began, come back throttled.
        for (let i = 0; i < 31; i++) shared.throttled(throttled(), started);
        // Each echo keeps the current delay (1 s from the latest 429), never 2, 4, 8 ... s.
        assert.equal(shared.pausedUntilMs, 11_060);
        // A request sent after the pause is a new episode: 2 s.
        now.ms = 11_100;
        assert.equal(shared.throttled(throttled(), shared.requestStarted()), 2000);
        now.ms = 13_200;
        const retried = shared.requestStarted();
        shared.succeeded(retried);
        assert.equal(shared.throttled(throttled(), retried), 1000, "a success resets the level");
      });

      it("lets one waiter through after a pause and holds the others until the probe ends", async () => {
        const now = { ms: 10_000 };
        const shared = backoff(now);
        const signal = new AbortController().signal;
        assert.equal(await shared.wait(signal), false, "no pause: no probe");
        shared.throttled(throttled(), shared.requestStarted());
        now.ms += 1000;
        const outcomes: boolean[] = [];
        const waits = [1, 2, 3].map(() => shared.wait(signal).then((p) => outcomes.push(p)));
        await new Promise((resolve) => setImmediate(resolve));
        assert.deepEqual(outcomes, [true], "only the probe goes");
        shared.probeEnded();
        await Promise.all(waits);
        assert.deepEqual(outcomes, [true, false, false]);
        assert.equal(await shared.wait(signal), false, "after the probe, no more probing");
      });

      it("within one episode, the earliest end named by a Retry-After wins", () => {
        const now = { ms: 10_000 };
        const shared = backoff(now);
        const sent = shared.requestStarted();
        // The window ends at 16,200; answers round the wait up to whole seconds.
        now.ms = 10_100;
        assert.equal(shared.throttled(throttled({ "retry-after": "7" }), sent), 7000);
        now.ms = 10_300;
        shared.throttled(throttled({ "retry-after": "6" }), sent);
        assert.equal(shared.pausedUntilMs, 16_300);
        now.ms = 10_900;
        shared.throttled(throttled({ "retry-after": "6" }), sent);
        assert.equal(
          shared.pausedUntilMs,
          16_300,
          "a later end of the same episode does not extend it",
        );
        // The probe sent after the pause is a new episode: its Retry-After extends the pause.
        now.ms = 16_300;
        shared.throttled(throttled({ "retry-after": "1" }), shared.requestStarted());
        assert.equal(shared.pausedUntilMs, 17_300);
      });

      it("after a probe's 429, the worker that waited longest probes next", async () => {
        const now = { ms: 10_000 };
        const shared = backoff(now);
        const signal = new AbortController().signal;
        const pause = () => shared.throttled(throttled({ "retry-after-ms": "5" }), now.ms);
        pause();
        now.ms += 5;
        assert.equal(await shared.wait(signal), true, "the first probe");
        const outcomes = new Map<string, boolean>();
        const second = shared.wait(signal).then((p) => outcomes.set("second", p));
        const third = shared.wait(signal).then((p) => outcomes.set("third", p));
        // The probe is throttled again: a new pause, and the first worker waits at the back.
        pause();
        shared.probeEnded();
        const first = shared.wait(signal).then((p) => outcomes.set("first", p));
        now.ms += 5;
        await second;
        assert.deepEqual([...outcomes], [["second", true]]);
        shared.probeEnded();
        await Promise.all([first, third]);
        assert.deepEqual(Object.fromEntries(outcomes), {
          second: true,
          third: false,
          first: false,
        });
      });

      it("a waiter held behind the probe ends with the abort signal", async () => {
        const now = { ms: 10_000 };
        const shared = backoff(now);
        shared.throttled(throttled(), shared.requestStarted());
        now.ms += 1000;
        assert.equal(await shared.wait(new AbortController().signal), true);
        const controller = new AbortController();
        const held = shared.wait(controller.signal);
        controller.abort(new Error("stop"));
        await assert.rejects(held, /stop/);
        shared.probeEnded();
      });

      it("honours Retry-After in seconds, as a date, and the millisecond headers", () => {
        const now = { ms: Date.parse("2025-01-01T00:00:00Z") };
        assert.equal(retryAfterInMs(throttled({ "retry-after": "3" })), 3000);
        assert.equal(
          retryAfterInMs(throttled({ "retry-after": "Wed, 01 Jan 2025 00:00:04 GMT" }), now.ms),
          4000,
        );
        assert.equal(retryAfterInMs(throttled({ "x-ms-retry-after-ms": "250" })), 250);
        assert.equal(retryAfterInMs(throttled({ "retry-after": "-1" })), undefined);
        assert.equal(retryAfterInMs(new Error("x")), undefined);
        const shared = backoff(now);
        assert.equal(shared.throttled(throttled({ "retry-after": "7" }), now.ms), 7000);
      });
    });
  });

  describe("getOrFetch (lazy)", () => {
    it("fetches a secret once, caches it, and serves get() from then on", async () => {
      const vault = new FakeVault();
      vault.seed(3);
      const cache = track(cacheOf(vault));
      const [a, b] = await Promise.all([cache.getOrFetch("s001"), cache.getOrFetch("S001")]);
      assert.equal(a, "value-of-s001");
      assert.equal(b, "value-of-s001");
      assert.equal(vault.gets.length, 1, "concurrent calls share one request");
      assert.equal(await cache.getOrFetch("s001"), "value-of-s001");
      assert.equal(vault.gets.length, 1);
      assert.equal(cache.get("s001"), "value-of-s001");
      assert.equal(vault.pageRequests.length, 0, "no listing in lazy mode");
      assert.throws(() => cache.get("s002"), /before load\(\) completed/);
    });

    it("rejects with a SecretCacheError naming the secret when it cannot be read", async () => {
      const cache = track(cacheOf(new FakeVault()));
      const error = (await rejection(cache.getOrFetch("nope"))) as SecretCacheError;
      assert.ok(error instanceof SecretCacheError);
      assert.equal(
        error.message,
        'SecretCache.getOrFetch("nope") failed: 404 SecretNotFound: SecretNotFound (fake vault).',
      );
      assert.equal(error.failures[0]!.secretName, "nope");
      assert.equal((error.cause as RestError).statusCode, 404);
    });

    it("rejects secrets the filters exclude, by name before any request", async () => {
      const vault = new FakeVault();
      vault.set("app-a", "1");
      vault.set("other", "2");
      vault.set("app-untagged", "3");
      const cache = track(cacheOf(vault, { prefix: "app-", tag: { name: "t" } }));
      await assert.rejects(cache.getOrFetch("other"), /excluded by the cache's names or prefix/);
      assert.equal(vault.gets.length, 0);
      await assert.rejects(cache.getOrFetch("app-untagged"), /excluded by the cache's tag filter/);
      assert.equal(cache.has("app-untagged"), false);
    });
  });

  describe("refresh", () => {
    async function loaded(vault: FakeVault, options: SecretCacheOptions = {}) {
      const cache = track(cacheOf(vault, options));
      await cache.load();
      vault.gets.length = 0;
      vault.pageRequests.length = 0;
      return cache;
    }

    it("fetches only what changed and emits change with exactly the added, updated and removed", async () => {
      const vault = new FakeVault();
      vault.seed(6);
      const cache = await loaded(vault);
      const changes: SecretCacheChange[] = [];
      cache.on("change", (change) => changes.push(change));
      vault.set("s001", "rotated");
      vault.secrets.delete("s002");
      vault.secrets.get("s003")!.enabled = false;
      vault.set("new-one", "fresh");
      const change = await cache.refresh();
      const expected = {
        added: ["new-one"],
        updated: ["s001"],
        removed: ["s002", "s003"],
        skipped: [],
      };
      assert.deepEqual(change, expected);
      assert.deepEqual(changes, [expected]);
      assert.deepEqual(vault.gets.map((g) => g.name).sort(), ["new-one", "s001"]);
      assert.equal(cache.get("s001"), "rotated");
      assert.equal(cache.get("new-one"), "fresh");
      assert.equal(cache.get("s002"), undefined);
      assert.equal(cache.get("s003"), undefined);
    });

    it("emits nothing and fetches nothing when nothing changed", async () => {
      const vault = new FakeVault();
      vault.seed(5);
      const cache = await loaded(vault);
      let emitted = 0;
      cache.on("change", () => emitted++);
      assert.deepEqual(await cache.refresh(), { added: [], updated: [], removed: [], skipped: [] });
      assert.equal(emitted, 0);
      assert.equal(vault.gets.length, 0);
    });

    it("does not report a secret whose properties changed but whose version did not", async () => {
      const vault = new FakeVault();
      vault.seed(2);
      const cache = await loaded(vault);
      vault.secrets.get("s000")!.updatedOn = new Date(vault.clockMs + 5000); // tags updated
      assert.deepEqual(await cache.refresh(), { added: [], updated: [], removed: [], skipped: [] });
      assert.deepEqual(
        vault.gets.map((g) => g.name),
        ["s000"],
      );
    });

    it("catches a rotation within the same second as the cached version", async () => {
      const vault = new FakeVault();
      vault.realClock = true;
      vault.set("rotating", "v1");
      const cache = await loaded(vault);
      const before = vault.secrets.get("rotating")!.updatedOn;
      vault.set("rotating", "v2");
      vault.secrets.get("rotating")!.updatedOn = before; // the list cannot tell them apart
      assert.deepEqual((await cache.refresh()).updated, ["rotating"]);
      assert.equal(cache.get("rotating"), "v2");
    });

    it("in lazy mode updates and removes fetched secrets but adds none", async () => {
      const vault = new FakeVault();
      vault.seed(3);
      const cache = track(cacheOf(vault));
      await cache.getOrFetch("s000");
      await cache.getOrFetch("s001");
      vault.set("s000", "rotated");
      vault.secrets.delete("s001");
      vault.set("added", "x");
      assert.deepEqual(await cache.refresh(), {
        added: [],
        updated: ["s000"],
        removed: ["s001"],
        skipped: [],
      });
      assert.equal(cache.get("s000"), "rotated");
      assert.equal(cache.size, 1);
    });

    it("keeps the last good values when the vault is unreachable (stale while error)", async () => {
      const vault = new FakeVault();
      vault.seed(4);
      const cache = await loaded(vault);
      let emitted = 0;
      cache.on("change", () => emitted++);
      vault.set("s000", "rotated");
      vault.pageHook = () =>
        Object.assign(new RestError("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
      const error = (await rejection(cache.refresh())) as SecretCacheError;
      assert.equal(
        error.message,
        "SecretCache could not list the vault's secrets: no response ECONNREFUSED: connect ECONNREFUSED. The last good values are kept.",
      );
      assert.equal(cache.get("s000"), "value-of-s000");
      assert.equal(cache.size, 4);
      assert.equal(emitted, 0);
    });

    it("applies what it could read and keeps the last value of a secret that failed", async () => {
      const vault = new FakeVault();
      vault.seed(4);
      const cache = await loaded(vault);
      vault.set("s000", "rotated");
      vault.set("s001", "rotated too");
      vault.getHook = (name) => (name === "s001" ? restError(500, "InternalError") : undefined);
      const changes: SecretCacheChange[] = [];
      cache.on("change", (change) => changes.push(change));
      const error = (await rejection(cache.refresh())) as SecretCacheError;
      assert.match(error.message, /could not read 1 of 2 secrets: "s001" \(500 InternalError/);
      assert.match(error.message, /their last good values are kept\.$/);
      assert.deepEqual(changes, [{ added: [], updated: ["s000"], removed: [], skipped: [] }]);
      assert.equal(cache.get("s000"), "rotated");
      assert.equal(cache.get("s001"), "value-of-s001");
      vault.getHook = undefined;
      assert.deepEqual((await cache.refresh()).updated, ["s001"], "the next refresh retries it");
    });
  });

  describe("refreshIntervalInMs, events and close", () => {
    it("refreshes in the background and emits change", async () => {
      const vault = new FakeVault();
      vault.seed(3);
      const cache = track(cacheOf(vault, { refreshIntervalInMs: 20 }));
      await cache.load();
      const changed = nextEvent<SecretCacheChange>(cache, "change");
      vault.set("s002", "rotated");
      assert.deepEqual(await changed, { added: [], updated: ["s002"], removed: [], skipped: [] });
      assert.equal(cache.get("s002"), "rotated");
    });

    it("emits error from a background refresh when a listener is attached, keeping values", async () => {
      const vault = new FakeVault();
      vault.seed(3);
      const cache = track(cacheOf(vault, { refreshIntervalInMs: 20 }));
      await cache.load();
      const failed = nextEvent<Error>(cache, "error");
      vault.pageHook = () => restError(503, "ServiceUnavailable");
      const error = await failed;
      assert.ok(error instanceof SecretCacheError);
      assert.match(error.message, /could not list the vault's secrets: 503 ServiceUnavailable/);
      assert.equal(cache.get("s000"), "value-of-s000");
    });

    describe("without an error listener", () => {
      let captured: string[] = [];
      const originalLog = AzureLogger.log;
      let originalLevel: AzureLogLevel | undefined;
      beforeEach(() => {
        captured = [];
        originalLevel = getLogLevel();
        setLogLevel("warning");
        AzureLogger.log = (...args: unknown[]) => captured.push(format(...args));
      });
      afterEach(() => {
        AzureLogger.log = originalLog;
        setLogLevel(originalLevel);
      });

      it("logs a background refresh failure as a warning instead of throwing", async () => {
        const vault = new FakeVault();
        vault.seed(2);
        const cache = track(cacheOf(vault, { refreshIntervalInMs: 10 }));
        await cache.load();
        vault.pageHook = () => restError(503, "ServiceUnavailable");
        await pause(60);
        assert.equal(cache.listenerCount("error"), 0);
        const warnings = captured.filter((line) => line.includes("background refresh failed"));
        assert.ok(warnings.length >= 1, captured.join("\n"));
        assert.match(warnings[0]!, /the last good values are kept\. SecretCache could not list/);
        assert.equal(cache.get("s000"), "value-of-s000");
      });
    });

    it("close() stops the refresh timer", async () => {
      const vault = new FakeVault();
      vault.seed(2);
      const cache = track(cacheOf(vault, { refreshIntervalInMs: 10 }));
      await cache.load();
      await pause(50);
      assert.ok(vault.pageRequests.length > 1, "the timer refreshed");
      cache.close();
      await pause(15); // a refresh already running may finish
      const requests = vault.pageRequests.length;
      await pause(60);
      assert.equal(vault.pageRequests.length, requests);
    });

    it("close() stops a load in progress; afterwards calls reject and get keeps working", async () => {
      const vault = new FakeVault();
      vault.seed(3);
      const cache = track(cacheOf(vault));
      await cache.getOrFetch("s000");
      vault.getDelayMs = 200;
      const loading = cache.load();
      await pause(20);
      cache.close();
      await assert.rejects(loading, {
        message: "The SecretCache was closed while it was reading the vault.",
      });
      await assert.rejects(cache.load(), {
        message: "SecretCache.load() was called after close().",
      });
      await assert.rejects(cache.refresh(), /called after close/);
      await assert.rejects(cache.getOrFetch("s001"), /called after close/);
      assert.equal(cache.get("s000"), "value-of-s000");
      cache.close(); // twice is fine
    });
  });

  describe("toEnv and applyToProcessEnv", () => {
    async function loadedCache(names: string[]): Promise<SecretCache> {
      const vault = new FakeVault();
      for (const name of names) vault.set(name, `value-of-${name}`);
      const cache = track(cacheOf(vault));
      await cache.load();
      return cache;
    }

    it("maps names to environment keys: upper case, - to _, -- to __", async () => {
      assert.equal(toEnvironmentKey("db-password"), "DB_PASSWORD");
      assert.equal(toEnvironmentKey("Database--Password"), "DATABASE__PASSWORD");
      const cache = await loadedCache(["db-password", "Logging--Level", "apiKey2"]);
      assert.deepEqual(cache.toEnv(), {
        APIKEY2: "value-of-apiKey2",
        DB_PASSWORD: "value-of-db-password",
        LOGGING__LEVEL: "value-of-Logging--Level",
      });
      assert.deepEqual(Object.keys(cache.toEnv({ prefix: "APP_" })), [
        "APP_APIKEY2",
        "APP_DB_PASSWORD",
        "APP_LOGGING__LEVEL",
      ]);
    });

    it("uses transform for the key (undefined leaves a secret out) and adds the prefix after it", async () => {
      const cache = await loadedCache(["myapp-db-password", "myapp-skip", "other"]);
      const env = cache.toEnv({
        prefix: "X_",
        transform: (name) =>
          name === "myapp-skip" ? undefined : toEnvironmentKey(name.replace(/^myapp-/, "")),
      });
      assert.deepEqual(env, {
        X_DB_PASSWORD: "value-of-myapp-db-password",
        X_OTHER: "value-of-other",
      });
    });

    it("reports every collision with the key and secret names, never the values", async () => {
      const cache = await loadedCache(["app1-db", "app2-db", "app1-url", "app2-url", "solo"]);
      let caught: unknown;
      try {
        cache.toEnv({ transform: (name) => toEnvironmentKey(name.replace(/^app\d-/, "")) });
      } catch (error) {
        caught = error;
      }
      assert.ok(caught instanceof EnvironmentKeyCollisionError);
      assert.deepEqual(caught.collisions, [
        { key: "DB", secretNames: ["app1-db", "app2-db"] },
        { key: "URL", secretNames: ["app1-url", "app2-url"] },
      ]);
      assert.equal(
        caught.message,
        '2 environment keys are produced by more than one secret: DB <- "app1-db", "app2-db"; URL <- "app1-url", "app2-url". Nothing was written; use a transform that keeps these names apart or filter the cache.',
      );
      assert.ok(!inspect(caught).includes("value-of"));
    });

    describe("variables a secret's name may not choose", () => {
      const hostileNames = ["node-options", "bash-env", "path", "db-password"];

      it("toEnv leaves them out (case-insensitively, after the prefix) and logs which and why", async () => {
        const cache = await loadedCache(hostileNames);
        const originalLog = AzureLogger.log;
        const originalLevel = getLogLevel();
        const captured: string[] = [];
        setLogLevel("warning");
        AzureLogger.log = (...args: unknown[]) => captured.push(format(...args));
        try {
          assert.deepEqual(cache.toEnv(), { DB_PASSWORD: "value-of-db-password" });
        } finally {
          AzureLogger.log = originalLog;
          setLogLevel(originalLevel);
        }
        const logged = captured.join("\n");
        assert.match(logged, /left out NODE_OPTIONS \(secret "node-options"\): Node\.js loads/);
        assert.match(logged, /left out BASH_ENV \(secret "bash-env"\): a shell runs/);
        assert.match(logged, /left out PATH \(secret "path"\): it chooses which program runs/);
        assert.ok(!logged.includes("value-of"), logged);
        assert.deepEqual(Object.keys(cache.toEnv({ prefix: "APP_" })), [
          "APP_BASH_ENV",
          "APP_DB_PASSWORD",
          "APP_NODE_OPTIONS",
          "APP_PATH",
        ]);
        // Only the final name counts: under an "ld_" prefix every key is the loader's.
        assert.deepEqual(cache.toEnv({ prefix: "ld_", transform: (name) => name }), {});
        assert.deepEqual(
          cache.toEnv({ transform: (name) => (name === "path" ? "ld_preload" : undefined) }),
          {},
        );
      });

      it("are set from a secret listed in the names option", async () => {
        const vault = new FakeVault();
        for (const name of hostileNames) vault.set(name, `value-of-${name}`);
        const cache = track(cacheOf(vault, { names: ["Node-Options", "db-password"] }));
        await cache.load();
        assert.deepEqual(cache.toEnv(), {
          DB_PASSWORD: "value-of-db-password",
          NODE_OPTIONS: "value-of-node-options",
        });
      });
    });

    it("rejects keys that cannot be environment variables and bad options", async () => {
      const cache = await loadedCache(["a"]);
      assert.throws(() => cache.toEnv({ transform: () => "A=B" }), {
        name: "TypeError",
        message: /secret "a" is "A=B"; keys must be non-empty and contain no "=" or NUL/,
      });
      assert.throws(() => cache.toEnv({ transform: () => "" }), /is empty/);
      assert.throws(() => cache.toEnv({ transform: () => 1 as unknown as string }), TypeError);
      assert.throws(() => cache.toEnv({ prefix: 1 as unknown as string }), TypeError);
      assert.throws(
        () => cache.applyToProcessEnv({ override: "yes" as unknown as boolean }),
        TypeError,
      );
      assert.throws(() => track(cacheOf(new FakeVault())).toEnv(), /before load\(\) completed/);
    });

    describe("applyToProcessEnv", () => {
      const keys = [
        "SC_TEST_DB_PASSWORD",
        "SC_TEST_API_KEY",
        "SC_TEST_EMPTY",
        "KEYVAULT_SC_TEST_URI",
      ];
      const saved = new Map<string, string | undefined>();
      beforeEach(() => keys.forEach((key) => saved.set(key, process.env[key])));
      afterEach(() => {
        for (const [key, value] of saved) {
          if (value === undefined) delete process.env[key];
          else process.env[key] = value;
        }
      });

      it("never overwrites a variable already set, even to an empty string", async () => {
        const cache = await loadedCache([
          "sc-test-db-password",
          "sc-test-api-key",
          "sc-test-empty",
        ]);
        process.env["SC_TEST_DB_PASSWORD"] = "from the environment";
        process.env["SC_TEST_EMPTY"] = "";
        delete process.env["SC_TEST_API_KEY"];
        const result = cache.applyToProcessEnv();
        assert.deepEqual(result, {
          applied: ["SC_TEST_API_KEY"],
          skipped: ["SC_TEST_DB_PASSWORD", "SC_TEST_EMPTY"],
          refused: [],
        });
        assert.equal(process.env["SC_TEST_DB_PASSWORD"], "from the environment");
        assert.equal(process.env["SC_TEST_EMPTY"], "");
        assert.equal(process.env["SC_TEST_API_KEY"], "value-of-sc-test-api-key");
      });

      it("overwrites when override is true", async () => {
        const cache = await loadedCache(["sc-test-db-password"]);
        process.env["SC_TEST_DB_PASSWORD"] = "from the environment";
        assert.deepEqual(cache.applyToProcessEnv({ override: true }), {
          applied: ["SC_TEST_DB_PASSWORD"],
          skipped: [],
          refused: [],
        });
        assert.equal(process.env["SC_TEST_DB_PASSWORD"], "value-of-sc-test-db-password");
      });

      it("refuses a variable a secret's name may not choose, naming it in the result", async () => {
        const cache = await loadedCache(["keyvault-sc-test-uri", "sc-test-api-key"]);
        delete process.env["KEYVAULT_SC_TEST_URI"];
        delete process.env["SC_TEST_API_KEY"];
        assert.deepEqual(cache.applyToProcessEnv({ override: true }), {
          applied: ["SC_TEST_API_KEY"],
          skipped: [],
          refused: [
            {
              key: "KEYVAULT_SC_TEST_URI",
              secretName: "keyvault-sc-test-uri",
              reason:
                "it configures keyvault-secrets itself (which vault a preload loads, what it overrides)",
            },
          ],
        });
        assert.equal(process.env["KEYVAULT_SC_TEST_URI"], undefined);
      });

      it("writes nothing when two secrets collide", async () => {
        const cache = await loadedCache(["x-sc-test-api-key", "y-sc-test-api-key"]);
        delete process.env["SC_TEST_API_KEY"];
        assert.throws(
          () => cache.applyToProcessEnv({ transform: (n) => toEnvironmentKey(n.slice(2)) }),
          EnvironmentKeyCollisionError,
        );
        assert.equal(process.env["SC_TEST_API_KEY"], undefined);
      });
    });
  });

  describe("any client, dates, abort signals", () => {
    it("reads every page of a client whose pages carry no continuationToken (4.x)", async () => {
      const vault = new FakeVault();
      vault.withoutTokens = true;
      vault.pageSize = 25;
      const names = vault.seed(54);
      const cache = track(cacheOf(vault));
      const result = await cache.load();
      assert.equal(cache.size, 54);
      assert.deepEqual(result.loaded, names);
      assert.equal(vault.pageRequests.length, 3);
    });

    it("a throttled listing without tokens starts again and loads each secret once", async () => {
      const vault = new FakeVault();
      vault.withoutTokens = true;
      const names = vault.seed(10);
      // The third page request is throttled once; the pager has no token to resume from.
      vault.pageHook = (_token, call) =>
        call === 3 ? throttled({ "retry-after-ms": "1" }) : undefined;
      const cache = track(cacheOf(vault));
      await cache.load();
      assert.deepEqual(cache.secretNames(), names);
      for (const name of names) assert.equal(vault.getsOf(name), 1, name);
    });

    it("skips expired and not-yet-valid secrets and reports them; the option includes them", async () => {
      const vault = new FakeVault();
      const past = new Date(Date.now() - 60_000);
      const future = new Date(Date.now() + 3600_000);
      vault.set("current", "1", { expiresOn: future, notBefore: past });
      vault.set("expired", "2", { expiresOn: past });
      vault.set("early", "3", { notBefore: future });
      const cache = track(cacheOf(vault, { names: ["current", "expired", "early"] }));
      const result = await cache.load();
      assert.deepEqual(result, {
        loaded: ["current"],
        skipped: [
          { secretName: "early", reason: "notYetValid", date: future },
          { secretName: "expired", reason: "expired", date: past },
        ],
        missing: [],
      });
      assert.equal(cache.get("expired"), undefined);
      assert.equal(vault.getsOf("expired") + vault.getsOf("early"), 0, "never fetched");
      await assert.rejects(
        cache.getOrFetch("expired"),
        /is expired on .*includeOutsideValidityPeriod/,
      );

      const all = track(cacheOf(vault, { includeOutsideValidityPeriod: true }));
      const included = await all.load();
      assert.deepEqual(included.loaded, ["current", "early", "expired"]);
      assert.deepEqual(included.skipped, []);
      assert.equal(await all.getOrFetch("expired"), "2");
    });

    it("a cached secret that expires is removed by the next refresh and reported", async () => {
      const vault = new FakeVault();
      vault.set("soon", "1", { expiresOn: new Date(Date.now() + 3600_000) });
      const cache = track(cacheOf(vault));
      await cache.load();
      const expiredOn = new Date(Date.now() - 1000);
      vault.set("soon", "1", { expiresOn: expiredOn });
      assert.deepEqual(await cache.refresh(), {
        added: [],
        updated: [],
        removed: ["soon"],
        skipped: [{ secretName: "soon", reason: "expired", date: expiredOn }],
      });
    });

    it("load() takes an abortSignal: it rejects with AbortError and the cache stays unloaded", async () => {
      const vault = new FakeVault();
      vault.seed(40);
      vault.getDelayMs = 20;
      const cache = track(cacheOf(vault, { concurrency: 2 }));
      const controller = new AbortController();
      const loading = cache.load({ abortSignal: controller.signal });
      await pause(30);
      controller.abort();
      const error = await rejection(loading);
      assert.equal(error.name, "AbortError");
      assert.equal(cache.loaded, false);
      assert.ok(vault.gets.length < 40, `stopped fetching (${vault.gets.length} of 40)`);
      await assert.rejects(cache.load({ abortSignal: AbortSignal.abort() }), {
        name: "AbortError",
      });
      // Without a signal it loads.
      await cache.load();
      assert.equal(cache.size, 40);
    });

    it("refresh() takes an abortSignal and keeps the values on abort", async () => {
      const vault = new FakeVault();
      vault.seed(3);
      const cache = track(cacheOf(vault));
      await cache.load();
      vault.set("s001", "rotated");
      await assert.rejects(cache.refresh({ abortSignal: AbortSignal.abort() }), {
        name: "AbortError",
      });
      assert.equal(cache.get("s001"), "value-of-s001");
      vault.listDelayMs = 30;
      const controller = new AbortController();
      const refreshing = cache.refresh({ abortSignal: controller.signal });
      controller.abort();
      await assert.rejects(refreshing, { name: "AbortError" });
      assert.equal(cache.get("s001"), "value-of-s001");
      assert.deepEqual((await cache.refresh()).updated, ["s001"]);
    });

    it("a caller joining a running load stops only its own wait on abort", async () => {
      const vault = new FakeVault();
      vault.seed(5);
      vault.getDelayMs = 10;
      const cache = track(cacheOf(vault));
      const first = cache.load();
      const controller = new AbortController();
      const joined = cache.load({ abortSignal: controller.signal });
      controller.abort();
      await assert.rejects(joined, { name: "AbortError" });
      assert.equal((await first).loaded.length, 5);
    });
  });

  describe("secret hygiene", () => {
    let captured: string[] = [];
    const originalLog = AzureLogger.log;
    let originalLevel: AzureLogLevel | undefined;
    before(() => {
      originalLevel = getLogLevel();
      setLogLevel("verbose");
      AzureLogger.log = (...args: unknown[]) => captured.push(format(...args));
    });
    after(() => {
      AzureLogger.log = originalLog;
      setLogLevel(originalLevel);
    });

    it("never puts a value into a log line or an error, through load, throttling, refresh and failures", async () => {
      captured = [];
      const vault = new FakeVault();
      vault.seed(6);
      vault.getHook = (name, call) =>
        name === "s001" && call === 1 ? throttled({ "retry-after-ms": "5" }) : undefined;
      const cache = track(cacheOf(vault));
      await cache.load();
      vault.set("s002", "value-of-s002-rotated");
      vault.getHook = (name) => (name === "s002" ? restError(500, "InternalError") : undefined);
      const refreshError = await rejection(cache.refresh());
      const fetchError = await rejection(cache.getOrFetch("missing"));
      vault.getHook = (name) =>
        name === "s002" ? throttled({ "retry-after-ms": "1" }) : undefined;
      const throttledError = await rejection(track(cacheOf(vault, { maxAttempts: 2 })).load());
      assert.ok(
        captured.some((line) => line.includes('"s001" was throttled')),
        captured.join("\n"),
      );
      const everything = [
        ...captured,
        ...[refreshError, fetchError, throttledError].flatMap((e) => [
          e.message,
          inspect(e, { depth: 6 }),
          JSON.stringify(e),
        ]),
      ].join("\n");
      assert.ok(!everything.includes("value-of-"), "a secret value leaked");
    });

    it("util.inspect, console.log and JSON.stringify of a cache show names, never a value", async () => {
      const vault = new FakeVault();
      vault.seed(3);
      const cache = track(cacheOf(vault));
      const fetching = cache.getOrFetch("s000");
      await fetching;
      await cache.load();
      const printed: string[] = [];
      const originalConsoleLog = console.log;
      console.log = (...args: unknown[]) => printed.push(format(...args));
      try {
        console.log(cache);
        console.log("%o", cache);
      } finally {
        console.log = originalConsoleLog;
      }
      const shown = [
        ...printed,
        inspect(cache),
        inspect(cache, { depth: Infinity, showHidden: true }),
        inspect({ nested: cache }, { depth: Infinity }),
        JSON.stringify(cache),
        JSON.stringify({ cache }),
        String(cache),
      ];
      for (const text of shown) assert.ok(!text.includes("value-of-"), `a value in: ${text}`);
      assert.match(inspect(cache), /SecretCache .*loaded: true.*size: 3/s);
      assert.match(inspect(cache), /s001/);
      assert.deepEqual(JSON.parse(JSON.stringify(cache)), {
        loaded: true,
        size: 3,
        secretNames: ["s000", "s001", "s002"],
      });
    });
  });
});
