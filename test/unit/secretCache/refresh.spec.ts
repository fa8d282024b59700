import assert from "node:assert/strict";
import { format, inspect } from "node:util";
import { AzureLogger, getLogLevel, setLogLevel, type AzureLogLevel } from "@azure/logger";
import { RestError } from "@azure/core-rest-pipeline";
import {
  type SecretCache,
  SecretCacheError,
  type SecretCacheChange,
  type SecretCacheOptions,
} from "../../../src/secretCache/index.js";
import {
  cacheOf,
  FakeVault,
  nextEvent,
  nothingChanged,
  pause,
  rejection,
  restError,
  throttled,
  trackCaches,
} from "./secretCacheKit.js";

describe("SecretCache refresh", () => {
  const track = trackCaches();

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
      const before = vault.versions();
      vault.set("s001", "rotated");
      vault.secrets.delete("s002");
      vault.secrets.get("s003")!.enabled = false;
      vault.set("new-one", "fresh");
      const change = await cache.refresh();
      const after = vault.versions();
      const expected = {
        added: ["new-one"],
        updated: ["s001"],
        removed: ["s002", "s003"],
        skipped: [],
        details: [
          {
            secretName: "new-one",
            kind: "added",
            reason: "newVersion",
            previousVersion: undefined,
            version: after["new-one"],
          },
          {
            secretName: "s001",
            kind: "updated",
            reason: "newVersion",
            previousVersion: before["s001"],
            version: after["s001"],
          },
          {
            secretName: "s002",
            kind: "removed",
            reason: "deleted",
            previousVersion: before["s002"],
            version: undefined,
          },
          {
            secretName: "s003",
            kind: "removed",
            reason: "disabled",
            previousVersion: before["s003"],
            version: undefined,
          },
        ],
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
      assert.deepEqual(await cache.refresh(), nothingChanged);
      assert.equal(emitted, 0);
      assert.equal(vault.gets.length, 0);
    });

    it("does not report a secret whose properties changed but whose version did not", async () => {
      const vault = new FakeVault();
      vault.seed(2);
      const cache = await loaded(vault);
      vault.secrets.get("s000")!.updatedOn = new Date(vault.clockMs + 5000); // tags updated
      assert.deepEqual(await cache.refresh(), nothingChanged);
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
      const change = await cache.refresh();
      assert.deepEqual(
        { ...change, details: undefined },
        { added: [], updated: ["s000"], removed: ["s001"], skipped: [], details: undefined },
      );
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

    it("applyPartialRefresh: applies what it could read and keeps the last value of a secret that failed", async () => {
      const vault = new FakeVault();
      vault.seed(4);
      const cache = await loaded(vault, { applyPartialRefresh: true });
      vault.set("s000", "rotated");
      vault.set("s001", "rotated too");
      vault.getHook = (name) => (name === "s001" ? restError(500, "InternalError") : undefined);
      const changes: SecretCacheChange[] = [];
      cache.on("change", (change) => changes.push(change));
      const error = (await rejection(cache.refresh())) as SecretCacheError;
      assert.match(error.message, /could not read 1 of 2 secrets: "s001" \(500 InternalError/);
      assert.match(error.message, /their last good values are kept\.$/);
      assert.deepEqual(
        changes.map((change) => change.updated),
        [["s000"]],
      );
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
      assert.deepEqual((await changed).updated, ["s002"]);
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

  /** A loaded cache whose request counts start at zero. */
  async function loadedCache(vault: FakeVault, options: SecretCacheOptions = {}) {
    const cache = track(cacheOf(vault, options));
    await cache.load();
    vault.gets.length = 0;
    vault.pageRequests.length = 0;
    return cache;
  }

  function changesOf(cache: SecretCache): SecretCacheChange[] {
    const changes: SecretCacheChange[] = [];
    cache.on("change", (change) => changes.push(change));
    return changes;
  }

  describe("all or nothing", () => {
    const failures: Array<[string, () => Error, RegExp]> = [
      ["500", () => restError(500, "InternalError"), /"s001" \(500 InternalError: /],
      ["403", () => restError(403, "Forbidden"), /"s001" \(403 Forbidden: /],
      [
        "429",
        () => throttled({ "retry-after-ms": "1" }),
        /"s001" \(still throttled \(429\) after 2 attempts/,
      ],
    ];
    for (const [status, failure, reason] of failures) {
      it(`a ${status} on one read swaps nothing: every last good value stays, the error names the secret and why`, async () => {
        const vault = new FakeVault();
        vault.seed(4);
        const cache = await loadedCache(vault, { maxAttempts: 2 });
        const changes = changesOf(cache);
        vault.set("s000", "rotated");
        vault.set("s001", "rotated too");
        vault.secrets.delete("s002");
        vault.set("added", "new");
        vault.getHook = (name) => (name === "s001" ? failure() : undefined);
        const error = (await rejection(cache.refresh())) as SecretCacheError;
        assert.ok(error instanceof SecretCacheError);
        assert.match(error.message, /^SecretCache.refresh\(\) could not read 1 of 3 secrets: /);
        assert.match(error.message, reason);
        assert.match(
          error.message,
          /Nothing was changed: the cache keeps every last good value\.$/,
        );
        assert.deepEqual(
          error.failures.map((f) => f.secretName),
          ["s001"],
        );
        assert.deepEqual(changes, [], "no change event");
        assert.equal(cache.get("s000"), "value-of-s000", "a secret read fine is not swapped in");
        assert.equal(cache.get("s001"), "value-of-s001");
        assert.equal(cache.get("s002"), "value-of-s002", "a deletion is not applied either");
        assert.equal(cache.get("added"), undefined);
        vault.getHook = undefined;
        const change = await cache.refresh();
        assert.deepEqual(
          [change.added, change.updated, change.removed],
          [["added"], ["s000", "s001"], ["s002"]],
          "the next good refresh applies everything",
        );
      });
    }

    it("a secret deleted or disabled between the listing and its read is removed with that reason, not failed", async () => {
      const vault = new FakeVault();
      vault.seed(3);
      const cache = await loadedCache(vault);
      const before = vault.versions();
      vault.set("s000", "rotated");
      vault.set("s001", "rotated");
      vault.getHook = (name) => {
        if (name === "s000") vault.secrets.delete("s000");
        if (name === "s001") vault.secrets.get("s001")!.enabled = false;
        return undefined;
      };
      const change = await cache.refresh();
      assert.deepEqual(
        change.details.map((d) => [d.secretName, d.kind, d.reason, d.previousVersion]),
        [
          ["s000", "removed", "deleted", before["s000"]],
          ["s001", "removed", "disabled", before["s001"]],
        ],
      );
    });

    it("a secret the filters no longer keep is removed as filteredOut", async () => {
      const vault = new FakeVault();
      vault.set("a", "1", { tags: { app: "x" } });
      vault.set("b", "2", { tags: { app: "x" } });
      const cache = await loadedCache(vault, { tag: { name: "app", value: "x" } });
      vault.secrets.get("b")!.tags = { app: "y" };
      const change = await cache.refresh();
      assert.deepEqual(
        change.details.map((d) => [d.secretName, d.kind, d.reason]),
        [["b", "removed", "filteredOut"]],
      );
      assert.equal(vault.gets.length, 0);
    });

    it("freshness: when the values were last all read, and since when refreshes fail", async () => {
      const vault = new FakeVault();
      vault.seed(2);
      const cache = track(cacheOf(vault));
      // Read through a function: an assertion on freshness() would narrow its type for good.
      const freshness = () => cache.freshness;
      assert.deepEqual(freshness(), { refreshedAt: undefined, staleSince: undefined });
      const beforeLoad = Date.now();
      await cache.load();
      const loadedAt = freshness().refreshedAt!;
      assert.ok(loadedAt.getTime() >= beforeLoad);
      assert.equal(freshness().staleSince, undefined);
      vault.pageHook = () => restError(503, "ServiceUnavailable");
      await rejection(cache.refresh());
      const { refreshedAt, staleSince } = freshness();
      assert.equal(refreshedAt, loadedAt, "a failed refresh does not move refreshedAt");
      assert.ok(staleSince !== undefined && staleSince.getTime() >= loadedAt.getTime());
      vault.pageHook = undefined;
      vault.set("s000", "rotated");
      vault.getHook = () => restError(500, "InternalError");
      await rejection(cache.refresh());
      assert.equal(freshness().staleSince, staleSince, "stale since the first failure");
      vault.getHook = undefined;
      await cache.refresh();
      assert.equal(freshness().staleSince, undefined);
      assert.ok(freshness().refreshedAt!.getTime() >= staleSince.getTime());
    });

    it("a refresh of 1,000 unchanged secrets sends only the list pages", async () => {
      const vault = new FakeVault();
      vault.pageSize = 25;
      vault.getDelayMs = 0;
      vault.seed(1000);
      const cache = await loadedCache(vault);
      assert.deepEqual(await cache.refresh(), nothingChanged);
      assert.equal(vault.pageRequests.length, 40);
      assert.equal(vault.gets.length, 0);
    });
  });

  describe("refreshNow", () => {
    it("reads the named secrets now, one request each and no listing, and emits the change", async () => {
      const vault = new FakeVault();
      vault.seed(5);
      const cache = await loadedCache(vault);
      const changes = changesOf(cache);
      const before = vault.versions();
      vault.set("s001", "rotated");
      vault.set("s003", "rotated");
      const change = await cache.refreshNow(["S001", "s002", "s001"]);
      assert.deepEqual(change, {
        added: [],
        updated: ["s001"],
        removed: [],
        skipped: [],
        details: [
          {
            secretName: "s001",
            kind: "updated",
            reason: "newVersion",
            previousVersion: before["s001"],
            version: vault.versions()["s001"],
          },
        ],
      });
      assert.deepEqual(changes, [change]);
      assert.deepEqual(vault.gets.map((g) => g.name).sort(), ["S001", "s002"]);
      assert.equal(vault.pageRequests.length, 0, "no listing");
      assert.equal(cache.get("s001"), "rotated");
      assert.equal(cache.get("s003"), "value-of-s003", "only the named ones");
    });

    it("concurrent calls share one request per name", async () => {
      const vault = new FakeVault();
      vault.seed(3);
      vault.getDelayMs = 20;
      const cache = await loadedCache(vault);
      vault.set("s000", "rotated");
      const [first, second, third] = await Promise.all([
        cache.refreshNow(["s000"]),
        cache.refreshNow(["S000", "s001"]),
        cache.getOrFetch("s002"),
      ]);
      assert.deepEqual(vault.gets.map((g) => g.name).sort(), ["s000", "s001"]);
      // Whichever applied the shared read first reports it; the other finds nothing new.
      assert.deepEqual([...first.updated, ...second.updated], ["s000"]);
      assert.equal(third, "value-of-s002");
    });

    it("reads a name at most once per minRefreshIntervalInMs: a call that comes sooner waits, and callers share that read", async () => {
      const vault = new FakeVault();
      vault.seed(2);
      const cache = await loadedCache(vault, { minRefreshIntervalInMs: 120 });
      await cache.refreshNow(["s000"]);
      const firstEnded = Date.now();
      vault.set("s000", "rotated");
      const [late, later] = await Promise.all([
        cache.refreshNow(["s000"]),
        cache.refreshNow(["s000"]),
      ]);
      assert.equal(vault.getsOf("s000"), 2, "one more read, shared by both callers");
      assert.ok(
        vault.gets[1]!.at - firstEnded >= 110,
        `the second read waited for the interval (${vault.gets[1]!.at - firstEnded} ms)`,
      );
      assert.deepEqual(late.updated, ["s000"]);
      assert.deepEqual(later.updated, []);
      assert.equal(cache.get("s000"), "rotated");
      // Another name is not held back by the first one's interval.
      await cache.refreshNow(["s001"]);
      assert.equal(vault.getsOf("s001"), 1);
    });

    it("errors reach the caller, and the swap is all or nothing", async () => {
      const vault = new FakeVault();
      vault.seed(3);
      const cache = await loadedCache(vault);
      vault.set("s000", "rotated");
      vault.set("s001", "rotated");
      vault.getHook = (name) => (name === "s001" ? restError(403, "Forbidden") : undefined);
      const error = (await rejection(cache.refreshNow(["s000", "s001"]))) as SecretCacheError;
      assert.equal(
        error.message,
        'SecretCache.refreshNow() could not read 1 of 2 secrets: "s001" (403 Forbidden: Forbidden (fake vault)). Nothing was changed: the cache keeps every last good value.',
      );
      assert.equal(cache.get("s000"), "value-of-s000");
      const partial = track(
        cacheOf(vault, { applyPartialRefresh: true, minRefreshIntervalInMs: 0 }),
      );
      await partial.load().catch(() => undefined);
      vault.getHook = undefined;
      await partial.load();
      vault.set("s000", "again");
      vault.getHook = (name) => (name === "s001" ? restError(403, "Forbidden") : undefined);
      await assert.rejects(partial.refreshNow(["s000", "s001"]), /their last good values are kept/);
      assert.equal(partial.get("s000"), "again");
    });

    it("removes a secret the vault lacks, holds disabled or the filters exclude, and says why", async () => {
      const vault = new FakeVault();
      vault.seed(4);
      const past = new Date(Date.now() - 60_000);
      const cache = await loadedCache(vault, { filter: (p) => p.tags?.["hide"] === undefined });
      vault.secrets.delete("s000");
      vault.secrets.get("s001")!.enabled = false;
      vault.set("s002", "x", { tags: { hide: "yes" } });
      vault.set("s003", "x", { expiresOn: past });
      const change = await cache.refreshNow(["s000", "s001", "s002", "s003", "never-existed"]);
      assert.deepEqual(
        change.details.map((d) => [d.secretName, d.kind, d.reason]),
        [
          ["s000", "removed", "deleted"],
          ["s001", "removed", "disabled"],
          ["s002", "removed", "filteredOut"],
          ["s003", "removed", "expired"],
        ],
      );
      assert.deepEqual(change.skipped, [{ secretName: "s003", reason: "expired", date: past }]);
      assert.equal(cache.size, 0);
    });

    it("checks names before any request: TypeError for bad names, SecretCacheError for names the filters exclude", async () => {
      const vault = new FakeVault();
      vault.seed(2);
      const cache = await loadedCache(vault, { prefix: "s" });
      await assert.rejects(cache.refreshNow("s000" as unknown as string[]), {
        name: "TypeError",
        message:
          "SecretCache.refreshNow(names): names must be an array of secret names (or omitted for every secret), got string.",
      });
      await assert.rejects(cache.refreshNow(["a/b"]), {
        name: "TypeError",
        message: /"a\/b" cannot/,
      });
      await assert.rejects(cache.refreshNow([""]), TypeError);
      await assert.rejects(cache.refreshNow(["s000", "other"]), {
        name: "SecretCacheError",
        message:
          'SecretCache.refreshNow(): the cache\'s names or prefix filter excludes "other"; nothing was read.',
      });
      await assert.rejects(cache.refreshNow(["s000"], { abortSignal: AbortSignal.abort() }), {
        name: "AbortError",
      });
      assert.deepEqual(await cache.refreshNow([]), nothingChanged);
      assert.equal(vault.gets.length, 0);
      cache.close();
      await assert.rejects(cache.refreshNow(["s000"]), /refreshNow\(\) was called after close/);
    });

    it("without names refreshes every secret (listing), sharing one refresh and keeping the minimum interval", async () => {
      const vault = new FakeVault();
      vault.seed(3);
      const cache = await loadedCache(vault, { minRefreshIntervalInMs: 100 });
      const loadEnded = Date.now();
      vault.set("new-one", "x");
      const [first, second] = await Promise.all([cache.refreshNow(), cache.refreshNow()]);
      assert.deepEqual(first.added, ["new-one"]);
      assert.equal(second, first, "one shared refresh");
      assert.equal(vault.pageRequests.length, 2, "one listing of 2 pages");
      assert.ok(Date.now() - loadEnded >= 80, "it waited for the minimum interval after the load");
    });

    it("in a cache that was not loaded, reads and caches the named secret", async () => {
      const vault = new FakeVault();
      vault.seed(2);
      const cache = track(cacheOf(vault));
      const change = await cache.refreshNow(["s001"]);
      assert.deepEqual(change.added, ["s001"]);
      assert.equal(cache.get("s001"), "value-of-s001");
      assert.equal(vault.pageRequests.length, 0);
    });
  });

  describe("invalidate", () => {
    it("get throws until a read, has is false, toEnv throws; getOrFetch reads it again", async () => {
      const vault = new FakeVault();
      vault.seed(3);
      const cache = await loadedCache(vault);
      cache.invalidate("S001");
      assert.throws(() => cache.get("s001"), {
        message:
          'SecretCache.get("s001"): the secret was invalidated and has not been read since. Use await cache.getOrFetch("s001") or await cache.refreshNow(["s001"]) to read it again.',
      });
      assert.equal(cache.has("s001"), false);
      assert.deepEqual(cache.secretNames(), ["s000", "s001", "s002"]);
      assert.throws(() => cache.toEnv(), /"s001" was invalidated and not read since/);
      assert.equal(cache.get("s000"), "value-of-s000", "other secrets are untouched");
      const changes = changesOf(cache);
      assert.equal(await cache.getOrFetch("s001"), "value-of-s001");
      assert.equal(vault.getsOf("s001"), 1);
      assert.deepEqual(changes, [], "the same version again is no change");
      assert.equal(cache.get("s001"), "value-of-s001");
      cache.invalidate("not-cached"); // nothing to do
      assert.throws(() => cache.invalidate("a/b"), TypeError);
    });

    it("getOrFetch of an invalidated secret that rotated reports the update", async () => {
      const vault = new FakeVault();
      vault.seed(2);
      const cache = await loadedCache(vault);
      const changes = changesOf(cache);
      vault.set("s000", "rotated");
      cache.invalidate("s000");
      assert.equal(await cache.getOrFetch("s000"), "rotated");
      assert.deepEqual(
        changes.map((c) => c.details.map((d) => [d.secretName, d.kind, d.reason])),
        [[["s000", "updated", "newVersion"]]],
      );
    });

    it("the next refresh fetches an invalidated secret even though the list shows no change", async () => {
      const vault = new FakeVault();
      vault.seed(3);
      const cache = await loadedCache(vault);
      cache.invalidate("s002");
      assert.deepEqual(await cache.refresh(), nothingChanged);
      assert.deepEqual(
        vault.gets.map((g) => g.name),
        ["s002"],
      );
      assert.equal(cache.get("s002"), "value-of-s002");
    });

    it("a read sent before invalidate() does not restore the value: one sent after it does", async () => {
      const vault = new FakeVault();
      vault.seed(2);
      vault.getDelayMs = 30;
      const cache = await loadedCache(vault, { minRefreshIntervalInMs: 50 });
      const changes = changesOf(cache);
      const early = cache.refreshNow(["s000"]);
      await pause(5);
      cache.invalidate("s000");
      vault.set("s000", "rotated after the read was sent");
      const fetching = cache.getOrFetch("s000");
      await early;
      assert.equal(await fetching, "rotated after the read was sent");
      assert.deepEqual(
        changes.map((change) => change.updated),
        [["s000"]],
      );
      assert.equal(cache.get("s000"), "rotated after the read was sent");
      assert.equal(vault.getsOf("s000"), 2, "the callers shared the second read");
      assert.ok(
        vault.gets[1]!.at - vault.gets[0]!.at >= 30 + 45,
        "the second read kept the minimum interval",
      );
    });
  });

  describe("refreshIntervalsInMs (per secret)", () => {
    it("reads a secret on its own interval, one request each time and no listing", async () => {
      const vault = new FakeVault();
      vault.seed(3);
      const cache = await loadedCache(vault, {
        minRefreshIntervalInMs: 0,
        refreshIntervalsInMs: { S001: 15 },
      });
      const changed = nextEvent<SecretCacheChange>(cache, "change");
      vault.set("s001", "rotated");
      assert.deepEqual((await changed).updated, ["s001"]);
      assert.equal(cache.get("s001"), "rotated");
      assert.equal(vault.pageRequests.length, 0, "no listing");
      assert.ok(
        vault.gets.every((g) => g.name === "S001"),
        "only the secret with an interval",
      );
    });

    it("beside the cache-wide interval; errors go to the error event; close() stops both", async () => {
      const vault = new FakeVault();
      vault.seed(2);
      const cache = await loadedCache(vault, {
        minRefreshIntervalInMs: 0,
        refreshIntervalInMs: 1000_000,
        refreshIntervalsInMs: { s000: 10 },
      });
      const failed = nextEvent<Error>(cache, "error");
      vault.getHook = () => restError(500, "InternalError");
      const error = await failed;
      assert.match(
        error.message,
        /^SecretCache's refresh of "s000" \(refreshIntervalsInMs\) could not read 1 of 1 secrets: "s000" \(500 InternalError/,
      );
      assert.equal(cache.get("s000"), "value-of-s000");
      cache.close();
      await pause(15);
      const gets = vault.gets.length;
      await pause(40);
      assert.equal(vault.gets.length, gets);
    });

    it("without a load, starts once the secret was first read", async () => {
      const vault = new FakeVault();
      vault.seed(2);
      const cache = track(
        cacheOf(vault, { minRefreshIntervalInMs: 0, refreshIntervalsInMs: { s000: 10 } }),
      );
      await pause(30);
      assert.equal(vault.gets.length, 0, "nothing read before the secret was asked for");
      await cache.getOrFetch("s000");
      const changed = nextEvent<SecretCacheChange>(cache, "change");
      vault.set("s000", "rotated");
      assert.deepEqual((await changed).updated, ["s000"]);
    });
  });

  describe("the change event", () => {
    it("carries names, version ids and reasons, never a value, also through util.inspect and JSON", async () => {
      const vault = new FakeVault();
      vault.seed(3);
      const cache = await loadedCache(vault);
      const changes = changesOf(cache);
      vault.set("s000", "value-of-s000-rotated");
      vault.secrets.delete("s001");
      vault.set("s003", "value-of-s003");
      await cache.refresh();
      await cache.refreshNow(["s002"]);
      cache.invalidate("s002");
      vault.set("s002", "value-of-s002-rotated");
      await cache.getOrFetch("s002");
      assert.equal(changes.length, 2);
      for (const change of changes) {
        const shown = [
          inspect(change, { depth: Infinity, showHidden: true }),
          JSON.stringify(change),
          format("%o", change),
        ].join("\n");
        assert.ok(!shown.includes("value-of-"), `a value in: ${shown}`);
        assert.match(shown, /newVersion/);
      }
    });
  });
});
