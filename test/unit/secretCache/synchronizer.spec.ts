import assert from "node:assert/strict";
import { cacheOf, FakeVault, trackCaches } from "./secretCacheKit.js";

describe("SecretCache synchronizer", () => {
  const track = trackCaches();

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
});
