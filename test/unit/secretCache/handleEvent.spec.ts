import assert from "node:assert/strict";
import { EventGridDeserializer } from "@azure/eventgrid";
import {
  SecretCache,
  SecretCacheError,
  type SecretCacheOptions,
} from "../../../src/secretCache/index.js";
import { cacheOf, FakeVault, rejection, trackCaches, vaultUrl } from "./secretCacheKit.js";

const newVersionCreated = "Microsoft.KeyVault.SecretNewVersionCreated";
const nearExpiry = "Microsoft.KeyVault.SecretNearExpiry";
const expired = "Microsoft.KeyVault.SecretExpired";

/** A secret event in the Event Grid schema, as the service sends it. */
function eventGridEvent(
  type: string,
  name: string,
  version: string,
  vault: string = vaultUrl,
): Record<string, unknown> {
  return {
    id: `${name}-${version}-${type}`,
    topic: "/subscriptions/0/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/myvault",
    subject: name,
    eventType: type,
    eventTime: "2026-01-01T00:00:00Z",
    data: {
      Id: `${vault}/secrets/${name}/${version}`,
      VaultName: new URL(vault).hostname.split(".")[0],
      ObjectType: "Secret",
      ObjectName: name,
      Version: version,
      NBF: null,
      EXP: null,
    },
    dataVersion: "1",
    metadataVersion: "1",
  };
}

/** The same event as a CloudEvent. */
function cloudEvent(type: string, name: string, version: string): Record<string, unknown> {
  const { id, topic, subject, data } = eventGridEvent(type, name, version);
  return { specversion: "1.0", id, source: topic, type, subject, time: "2026-01-01T00:00Z", data };
}

describe("SecretCache.handleEvent", () => {
  const track = trackCaches();

  async function loadedCache(vault: FakeVault, options: SecretCacheOptions = {}) {
    // No wait between reads of a name: each test reads what it needs at once.
    const cache = track(cacheOf(vault, { minRefreshIntervalInMs: 0, ...options }));
    await cache.load();
    vault.gets.length = 0;
    vault.pageRequests.length = 0;
    return cache;
  }

  /** A rotation in the fake vault, and the event the service sends for it. */
  function rotate(vault: FakeVault, name: string): Record<string, unknown> {
    vault.set(name, `rotated-${name}`);
    return eventGridEvent(newVersionCreated, name, vault.versions()[name]!);
  }

  it("reads exactly the named secret again on SecretNewVersionCreated: one get, no listing", async () => {
    const vault = new FakeVault();
    vault.seed(4);
    const cache = await loadedCache(vault);
    const changes: string[][] = [];
    cache.on("change", ({ updated }) => changes.push(updated));
    const result = await cache.handleEvent([rotate(vault, "s002")]);
    assert.deepEqual(
      { ...result, change: result.change.updated },
      {
        refreshed: ["s002"],
        refreshedAll: false,
        nearExpiry: [],
        upToDate: [],
        ignored: 0,
        change: ["s002"],
      },
    );
    assert.deepEqual(
      vault.gets.map((get) => get.name),
      ["s002"],
    );
    assert.equal(vault.pageRequests.length, 0);
    assert.equal(cache.get("s002"), "rotated-s002");
    assert.deepEqual(changes, [["s002"]]);
  });

  it("takes one event or a batch, in either schema, as text, parsed, or deserialized by @azure/eventgrid", async () => {
    const vault = new FakeVault();
    vault.seed(3);
    const cache = await loadedCache(vault);
    const deserializer = new EventGridDeserializer();
    const forms: Array<(event: Record<string, unknown>) => Promise<unknown> | unknown> = [
      (event) => event,
      (event) => [event],
      (event) => JSON.stringify([event]),
      (event) => deserializer.deserializeEventGridEvents(JSON.stringify([event])),
    ];
    for (const form of forms) {
      const event = rotate(vault, "s001");
      const result = await cache.handleEvent(await form(event));
      assert.deepEqual(result.change.updated, ["s001"]);
      assert.equal(cache.get("s001"), "rotated-s001");
    }
    vault.set("s000", "cloud");
    const cloud = cloudEvent(newVersionCreated, "s000", vault.versions()["s000"]!);
    const deserialized = await deserializer.deserializeCloudEvents(JSON.stringify(cloud));
    const batch = [cloud, cloudEvent(newVersionCreated, "s002", "0")];
    const read = [];
    for (const given of [cloud, batch, deserialized]) read.push(await cache.handleEvent(given));
    // The first read the new version; the others found it held.
    assert.deepEqual(
      read.map(({ refreshed, upToDate }) => [refreshed, upToDate]),
      [
        [["s000"], []],
        [["s002"], ["s000"]],
        [[], ["s000"]],
      ],
    );
    assert.equal(cache.get("s000"), "cloud");
  });

  it("ignores other vaults' events (by the host of data.Id), other objects', and names outside its filters", async () => {
    const vault = new FakeVault();
    vault.seed(2, "app-");
    vault.seed(1, "other-");
    const cache = await loadedCache(vault, { prefix: "app-" });
    const version = vault.versions()["app-000"]!;
    const keyEvent = {
      ...eventGridEvent(newVersionCreated, "app-000", version),
      eventType: "Microsoft.KeyVault.KeyNewVersionCreated",
      data: { Id: `${vaultUrl}/keys/app-000/${version}`, ObjectType: "Key" },
    };
    const result = await cache.handleEvent([
      eventGridEvent(newVersionCreated, "app-000", "1", "https://othervault.vault.azure.net"),
      eventGridEvent(newVersionCreated, "app-000", "1", `${vaultUrl}:8443`),
      eventGridEvent(newVersionCreated, "app-000", "1", "https://myvault.vault.azure.net.evil"),
      keyEvent,
      eventGridEvent(newVersionCreated, "other-000", "1"),
    ]);
    assert.deepEqual(
      { ...result, change: undefined },
      {
        refreshed: [],
        refreshedAll: false,
        nearExpiry: [],
        upToDate: [],
        ignored: 5,
        change: undefined,
      },
    );
    assert.equal(vault.gets.length + vault.pageRequests.length, 0, "no request");
  });

  it("names the vault by host alone: a default port written out and the host's case are the same vault", async () => {
    const vault = new FakeVault();
    vault.seed(1);
    const cache = await loadedCache(vault);
    vault.set("s000", "rotated");
    const version = vault.versions()["s000"]!;
    const result = await cache.handleEvent([
      eventGridEvent(newVersionCreated, "s000", version, "https://MyVault.vault.azure.net:443"),
    ]);
    assert.deepEqual(result.refreshed, ["s000"]);
  });

  it("reads nothing for SecretNearExpiry (listed to act on); SecretExpired reads the secret, which an expired one leaves", async () => {
    const vault = new FakeVault();
    vault.seed(2);
    const cache = await loadedCache(vault);
    const versions = vault.versions();
    const near = await cache.handleEvent([eventGridEvent(nearExpiry, "s000", versions["s000"]!)]);
    assert.deepEqual(near.nearExpiry, ["s000"]);
    assert.deepEqual(near.refreshed, []);
    assert.equal(vault.gets.length, 0);

    vault.secrets.get("s001")!.expiresOn = new Date(Date.now() - 1000);
    const gone = await cache.handleEvent([eventGridEvent(expired, "s001", versions["s001"]!)]);
    assert.deepEqual(gone.refreshed, ["s001"]);
    assert.deepEqual(gone.change.removed, ["s001"]);
    assert.equal(gone.change.details[0]?.reason, "expired");
    assert.equal(cache.has("s001"), false);
  });

  it("reads nothing for a SecretNewVersionCreated of the version it holds (a repeated delivery)", async () => {
    const vault = new FakeVault();
    vault.seed(1);
    const cache = await loadedCache(vault);
    const event = rotate(vault, "s000");
    await cache.handleEvent([event]);
    vault.gets.length = 0;
    const again = await cache.handleEvent([event]);
    assert.deepEqual([again.upToDate, again.refreshed], [["s000"], []]);
    assert.equal(vault.gets.length, 0);
    // An invalidated secret holds no version: the event reads it.
    cache.invalidate("s000");
    const afterInvalidate = await cache.handleEvent([event]);
    assert.deepEqual(afterInvalidate.refreshed, ["s000"]);
    assert.equal(cache.get("s000"), "rotated-s000");
  });

  it("takes a new secret in with one listing, however many names a delivery brings; a cache filled by getOrFetch ignores it", async () => {
    const vault = new FakeVault();
    vault.seed(2);
    const cache = await loadedCache(vault);
    vault.set("brand-new", "new-value");
    const forged = Array.from({ length: 200 }, (_, index) =>
      eventGridEvent(newVersionCreated, `random-${index}`, "1"),
    );
    const result = await cache.handleEvent([
      eventGridEvent(newVersionCreated, "brand-new", vault.versions()["brand-new"]!),
      ...forged,
    ]);
    assert.equal(result.refreshedAll, true);
    assert.deepEqual(result.change.added, ["brand-new"]);
    assert.deepEqual(
      vault.gets.map((get) => get.name),
      ["brand-new"],
      "the listing reads what changed; no read per name",
    );
    assert.equal(vault.pageRequests.length, 1);

    const lazy = track(cacheOf(vault));
    assert.equal(await lazy.getOrFetch("s000"), "value-of-s000");
    const ignored = await lazy.handleEvent([
      eventGridEvent(newVersionCreated, "brand-new", vault.versions()["brand-new"]!),
    ]);
    assert.deepEqual([ignored.ignored, ignored.refreshedAll], [1, false]);
    assert.equal(lazy.has("brand-new"), false);
  });

  it("refuses what is not Key Vault's events with a TypeError before any request, never repeating it", async () => {
    const vault = new FakeVault();
    vault.seed(1);
    const cache = await loadedCache(vault);
    const hostile = "<script>never-echoed</script>";
    const malformed: Array<[unknown, RegExp]> = [
      [undefined, /is not an object/],
      ["{not json", /the body is not JSON/],
      [[], /holds no event/],
      [[42], /event 0: the event is not an object/],
      [[{ ...eventGridEvent(newVersionCreated, "s000", "1"), subject: hostile }], /subject/],
      [[eventGridEvent(newVersionCreated, hostile, "1")], /data.ObjectName is not a secret name/],
      [
        [
          {
            ...eventGridEvent(newVersionCreated, "s000", "1"),
            data: { ObjectType: "Secret", ObjectName: "s000", Version: "1", Id: hostile },
          },
        ],
        /data.Id is not the identifier/,
      ],
      [
        [
          {
            eventType: "Microsoft.EventGrid.SubscriptionValidationEvent",
            data: { validationCode: "code" },
          },
        ],
        /subscription validation, not an event; answer it/,
      ],
    ];
    for (const [body, message] of malformed) {
      const error = await rejection(cache.handleEvent(body));
      assert.ok(error instanceof TypeError, `${String(error)} for ${JSON.stringify(body)}`);
      assert.match(error.message, message);
      assert.ok(!error.message.includes("never-echoed"), error.message);
    }
    assert.equal(vault.gets.length + vault.pageRequests.length, 0);
  });

  it("refuses events when its client has no vaultUrl: it cannot tell its vault's from others'", async () => {
    const vault = new FakeVault();
    vault.seed(1);
    const cache = track(
      new SecretCache({
        listPropertiesOfSecrets: (options) => vault.listPropertiesOfSecrets(options),
        getSecret: (name, options) => vault.getSecret(name, options),
      }),
    );
    await cache.load();
    const error = await rejection(
      cache.handleEvent([eventGridEvent(newVersionCreated, "s000", "1")]),
    );
    assert.ok(error instanceof TypeError);
    assert.match(error.message, /has no vaultUrl/);
  });

  it("a failed read changes nothing and rejects with SecretCacheError naming the secret", async () => {
    const vault = new FakeVault();
    vault.seed(1);
    const cache = await loadedCache(vault);
    const event = rotate(vault, "s000");
    vault.getHook = () => new Error("connection refused");
    const error = await rejection(cache.handleEvent([event]));
    assert.ok(error instanceof SecretCacheError);
    assert.deepEqual(
      error.failures.map((failure) => failure.secretName),
      ["s000"],
    );
    assert.equal(cache.get("s000"), "value-of-s000");
  });

  it("rejects after close()", async () => {
    const vault = new FakeVault();
    vault.seed(1);
    const cache = await loadedCache(vault);
    cache.close();
    const error = await rejection(cache.handleEvent([rotate(vault, "s000")]));
    assert.match(error.message, /handleEvent\(\) was called after close\(\)/);
  });
});
