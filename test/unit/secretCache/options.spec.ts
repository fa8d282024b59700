import assert from "node:assert/strict";
import { SecretClient, type SecretProperties } from "../../../src/index.js";
import {
  SecretCache,
  SecretCacheError,
  type SecretCacheClient,
  type SecretCacheOptions,
} from "../../../src/secretCache/index.js";
import { cacheOf, FakeVault, rejection, trackCaches, vaultUrl } from "./secretCacheKit.js";

describe("SecretCache options", () => {
  const track = trackCaches();

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

    it("checks the rotation options: minRefreshIntervalInMs, refreshIntervalsInMs, applyPartialRefresh", () => {
      const rangeErrors: Array<[SecretCacheOptions, string]> = [
        [
          { minRefreshIntervalInMs: -1 },
          "options.minRefreshIntervalInMs must be a finite number of milliseconds, 0 or more, got -1.",
        ],
        [
          { minRefreshIntervalInMs: 2 ** 31 },
          "options.minRefreshIntervalInMs must be at most 2147483647, got 2147483648.",
        ],
        [
          { refreshIntervalsInMs: { db: 0 } },
          'options.refreshIntervalsInMs["db"] must be a number of milliseconds above 0 and at most 2147483647, got 0.',
        ],
        [
          { refreshIntervalsInMs: { db: 500 } },
          'options.refreshIntervalsInMs["db"] (500) must not be less than minRefreshIntervalInMs (1000); raise it or lower minRefreshIntervalInMs.',
        ],
        [
          { refreshIntervalsInMs: { db: 5000, DB: 6000 } },
          'options.refreshIntervalsInMs names one secret twice ("db" and "DB"; names compare case-insensitively): keep one.',
        ],
        [
          { prefix: "app-", refreshIntervalsInMs: { "other-db": 5000 } },
          'options.refreshIntervalsInMs["other-db"]: the cache\'s names or prefix filter excludes "other-db"; add it to names (or fix the prefix), or remove its interval.',
        ],
        [
          { names: ["a"], refreshIntervalsInMs: { b: 5000 } },
          'options.refreshIntervalsInMs["b"]: the cache\'s names or prefix filter excludes "b"; add it to names (or fix the prefix), or remove its interval.',
        ],
      ];
      for (const [options, message] of rangeErrors) {
        assert.throws(() => new SecretCache(vault, options), { name: "RangeError", message });
      }
      const typeErrors: Array<[unknown, RegExp]> = [
        [{ refreshIntervalsInMs: [5000] }, /options.refreshIntervalsInMs must be an object/],
        [{ refreshIntervalsInMs: "db" }, /options.refreshIntervalsInMs must be an object/],
        [{ refreshIntervalsInMs: { "a/b": 5000 } }, /options.refreshIntervalsInMs "a\/b" cannot/],
        [{ applyPartialRefresh: "yes" }, /options.applyPartialRefresh must be a boolean/],
      ];
      for (const [options, message] of typeErrors) {
        assert.throws(() => new SecretCache(vault, options as SecretCacheOptions), {
          name: "TypeError",
          message,
        });
      }
      // In range: accepted.
      new SecretCache(vault, {
        minRefreshIntervalInMs: 0,
        refreshIntervalsInMs: { "app-db": 1 },
        prefix: "app-",
        applyPartialRefresh: true,
      }).close();
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
});
