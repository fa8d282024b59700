import assert from "node:assert/strict";
import { format, inspect } from "node:util";
import { AzureLogger, getLogLevel, setLogLevel, type AzureLogLevel } from "@azure/logger";
import { RestError } from "@azure/core-rest-pipeline";
import { SecretCacheError } from "../../../src/secretCache/index.js";
import {
  cacheOf,
  FakeVault,
  pause,
  rejection,
  restError,
  throttled,
  trackCaches,
} from "./secretCacheKit.js";

describe("SecretCache", () => {
  const track = trackCaches();

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
      const change = await cache.refresh();
      assert.deepEqual(change.removed, ["soon"]);
      assert.deepEqual(change.skipped, [
        { secretName: "soon", reason: "expired", date: expiredOn },
      ]);
      assert.deepEqual(
        change.details.map((d) => [d.secretName, d.kind, d.reason]),
        [["soon", "removed", "expired"]],
      );
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

    it("never puts a value into a log line or an error, through load, throttling, refresh, refreshNow, invalidate and failures", async () => {
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
      const refreshNowError = await rejection(cache.refreshNow(["s000", "s002"]));
      cache.invalidate("s003");
      const invalidatedError = await rejection(Promise.resolve().then(() => cache.get("s003")));
      const envError = await rejection(Promise.resolve().then(() => cache.toEnv()));
      assert.ok(
        captured.some((line) => line.includes('"s001" was throttled')),
        captured.join("\n"),
      );
      const everything = [
        ...captured,
        ...[
          refreshError,
          fetchError,
          throttledError,
          refreshNowError,
          invalidatedError,
          envError,
        ].flatMap((e) => [e.message, inspect(e, { depth: 6 }), JSON.stringify(e)]),
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
