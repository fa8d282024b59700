import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EventGridDeserializer, isSystemEvent } from "@azure/eventgrid";
import { openJournal } from "../../src/emulator/persistence/persistence.js";
import { SecretStore } from "../../src/emulator/state/store.js";
import { VaultClock } from "../../src/emulator/state/vaultClock.js";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import type { LocalVaultOptions } from "../../src/emulator/options.js";
import { EventReceiver } from "./eventReceiver.js";
import { callVault } from "./localVaultTestKit.js";

const nearExpiry = "Microsoft.KeyVault.SecretNearExpiry" as const;
const expired = "Microsoft.KeyVault.SecretExpired" as const;
const newVersionCreated = "Microsoft.KeyVault.SecretNewVersionCreated";
const dayMs = 86_400_000;
const secretValue = "expiring-value-never-in-an-event";

describe("local vault: expiry events", () => {
  let receiver: EventReceiver;
  let location: string;
  const vaults: LocalVault[] = [];

  beforeEach(async () => {
    receiver = await EventReceiver.start();
    location = await mkdtemp(join(tmpdir(), "kv-events-"));
  });
  afterEach(async () => {
    await Promise.all(vaults.splice(0).map((vault) => vault.close()));
    await receiver.close();
    await rm(location, { recursive: true, force: true });
  });

  async function vaultWith(options: LocalVaultOptions = {}): Promise<LocalVault> {
    const vault = await startLocalVault({
      eventSubscriptions: [{ endpoint: receiver.url() }],
      ...options,
    });
    vaults.push(vault);
    return vault;
  }

  /** Closes a vault started by {@link vaultWith} (a restart follows). */
  async function closeVault(vault: LocalVault): Promise<void> {
    vaults.splice(vaults.indexOf(vault), 1);
    await vault.close();
  }

  /** The types of the events received about a secret, in arrival order. */
  const typesFor = (name: string): string[] =>
    receiver
      .events()
      .filter((e) => e.subject === name)
      .map((e) => e.eventType);

  /**
   * Sets a secret without an expiry and waits for its event: every event made before it has
   * arrived (one subscription delivers in order), so nothing more about earlier changes is due.
   */
  async function sentinel(vault: LocalVault, name: string): Promise<void> {
    await callVault(vault, "PUT", `/secrets/${name}`, { body: { value: "s" } });
    await receiver.until(() => typesFor(name).length === 1);
  }

  const nowSeconds = () => Math.floor(Date.now() / 1000);

  it("sends near-expiry, then expired, once each, as the vault clock passes them", async () => {
    const vault = await vaultWith();
    const exp = nowSeconds() + 40 * 86_400;
    const set = await callVault(vault, "PUT", "/secrets/rotating", {
      body: { value: secretValue, attributes: { exp } },
    });
    await receiver.until(() => typesFor("rotating").length === 1);

    vault.advanceClock(11 * dayMs);
    await receiver.until(() => typesFor("rotating").length === 2);
    vault.advanceClock(dayMs);
    await sentinel(vault, "first");
    assert.deepEqual(typesFor("rotating"), [newVersionCreated, nearExpiry]);

    // Through the control route, as a test in another process would.
    const moved = await callVault(vault, "POST", "/__local/clock", {
      apiVersion: null,
      body: { advanceMs: 30 * dayMs },
    });
    assert.equal(moved.status, 200);
    await receiver.until(() => typesFor("rotating").length === 3);
    vault.advanceClock(dayMs);
    await sentinel(vault, "second");
    assert.deepEqual(typesFor("rotating"), [newVersionCreated, nearExpiry, expired]);

    const bodies = receiver.deliveries().map((d) => d.body);
    assert.ok(bodies.every((body) => !body.includes(secretValue)));
    const events = await new EventGridDeserializer().deserializeEventGridEvents(
      `[${bodies.map((b) => b.slice(1, -1)).join(",")}]`,
    );
    const version = set.body.id.split("/").pop();
    for (const type of [nearExpiry, expired] as const) {
      const event = events.find((e) => e.eventType === type);
      assert.ok(event !== undefined && isSystemEvent(type, event));
      // @azure/eventgrid types the data in camelCase; the wire's PascalCase fields stay as sent.
      const data = event.data as unknown as Record<string, unknown>;
      assert.equal(data.Version, version);
      assert.equal(data.EXP, exp);
    }
  });

  it("watches each new version on its own, and a version whose expiry moved once more", async () => {
    const vault = await vaultWith({ events: { nearExpiryInMs: dayMs } });
    const exp = nowSeconds() + 10 * 86_400;
    const first = await callVault(vault, "PUT", "/secrets/versioned", {
      body: { value: secretValue, attributes: { exp } },
    });
    vault.advanceClock(9 * dayMs + 60_000);
    await receiver.until(() => typesFor("versioned").length === 2);
    const second = await callVault(vault, "PUT", "/secrets/versioned", {
      body: { value: secretValue, attributes: { exp } },
    });
    await receiver.until(() => typesFor("versioned").length === 4);
    // Moving the expiry of the current version makes its moment anew.
    await callVault(vault, "PATCH", `/secrets/versioned/${second.body.id.split("/").pop()}`, {
      body: { attributes: { exp: exp + 60 } },
    });
    await receiver.until(() => typesFor("versioned").length === 5);
    await sentinel(vault, "after");
    const seen = receiver
      .events()
      .filter((e) => e.subject === "versioned")
      .map((e) => [e.eventType, e.data.Version, e.data.EXP]);
    const [v1, v2] = [first, second].map((answer) => answer.body.id.split("/").pop());
    assert.deepEqual(seen, [
      [newVersionCreated, v1, exp],
      [nearExpiry, v1, exp],
      [newVersionCreated, v2, exp],
      [nearExpiry, v2, exp],
      [nearExpiry, v2, exp + 60],
    ]);
  });

  it("sends a moment passed while the vault was down once, on start, and never again", async () => {
    // Near expiry a day ahead: the first run makes no near-expiry event for a secret 10 days out.
    const first = await vaultWith({ location, events: { nearExpiryInMs: dayMs } });
    await callVault(first, "PUT", "/secrets/watched", {
      body: { value: secretValue, attributes: { exp: nowSeconds() + 10 * 86_400 } },
    });
    await sentinel(first, "one");
    assert.deepEqual(typesFor("watched"), [newVersionCreated]);
    await closeVault(first);

    // With the default 30 days, the moment has passed: sent on start.
    const second = await vaultWith({ location });
    await receiver.until(() => typesFor("watched").length === 2);
    await sentinel(second, "two");
    assert.deepEqual(typesFor("watched"), [newVersionCreated, nearExpiry]);
    await closeVault(second);

    // Journaled before it went out: a third start does not repeat it.
    const third = await vaultWith({ location });
    await sentinel(third, "three");
    assert.deepEqual(typesFor("watched"), [newVersionCreated, nearExpiry]);
    third.advanceClock(11 * dayMs);
    await receiver.until(() => typesFor("watched").length === 3);
    await sentinel(third, "four");
    assert.deepEqual(typesFor("watched"), [newVersionCreated, nearExpiry, expired]);
  });

  it("keeps the notices in a compacted journal's snapshot", () => {
    const settings = {
      recoveryLevel: "Recoverable+Purgeable",
      recoverableDays: 90,
      delayMs: 0,
      restoreConflictAfterPurgeInMs: 0,
    };
    const store = new SecretStore(settings, new VaultClock());
    const { record } = store.set("noticed", { value: secretValue, exp: 1_000_000_000 });
    const version = record.type === "set" ? record.version : "";
    for (const kind of ["nearExpiry", "expired"] as const) {
      store.apply({
        type: "notice",
        key: "noticed",
        name: "noticed",
        version,
        kind,
        exp: 1_000_000_000,
      });
    }
    const rebuilt = new SecretStore(settings, new VaultClock());
    for (const replayed of store.snapshot()) rebuilt.apply(replayed);
    assert.deepEqual(rebuilt.currentVersions("noticed")[0].sent, {
      version,
      nearExpiry: 1_000_000_000,
      expired: 1_000_000_000,
    });
  });

  it("sends both expiry events once for a version that expired while no vault ran", async () => {
    const journal = await openJournal(location);
    const at = nowSeconds() - 2 * 86_400;
    await journal.append({
      type: "set",
      key: "lapsed",
      name: "lapsed",
      version: "0123456789abcdef0123456789abcdef",
      at,
      value: secretValue,
      exp: at + 86_400,
    });
    await journal.close();

    const first = await vaultWith({ location });
    await receiver.until(() => typesFor("lapsed").length === 2);
    await sentinel(first, "one");
    assert.deepEqual(typesFor("lapsed"), [nearExpiry, expired]);
    await closeVault(first);

    const second = await vaultWith({ location });
    await sentinel(second, "two");
    assert.deepEqual(typesFor("lapsed"), [nearExpiry, expired]);
    assert.ok(receiver.deliveries().every((d) => !d.body.includes(secretValue)));
  });
});
