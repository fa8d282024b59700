import assert from "node:assert/strict";
import { format } from "node:util";
import { AzureLogger, getLogLevel, setLogLevel, type AzureLogLevel } from "@azure/logger";
import { RestError } from "@azure/core-rest-pipeline";
import {
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
});
