import assert from "node:assert/strict";
import { format, inspect } from "node:util";
import { AzureLogger, getLogLevel, setLogLevel } from "@azure/logger";
import {
  EnvironmentKeyCollisionError,
  SecretCache,
  toEnvironmentKey,
} from "../../../src/secretCache/index.js";
import { cacheOf, FakeVault, trackCaches } from "./secretCacheKit.js";

describe("SecretCache environment", () => {
  const track = trackCaches();

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
});
