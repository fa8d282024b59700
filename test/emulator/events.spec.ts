import assert from "node:assert/strict";
import { EventGridDeserializer, isSystemEvent } from "@azure/eventgrid";
import { parseKeyVaultEventDelivery } from "../../src/events/keyVaultEvents.js";
import { parseCliArguments } from "../../src/emulator/cli/cliArguments.js";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import type { LocalVaultOptions } from "../../src/emulator/options.js";
import { EventReceiver } from "./eventReceiver.js";
import { assertVaultError, callVault, pause } from "./localVaultTestKit.js";

const newVersionCreated = "Microsoft.KeyVault.SecretNewVersionCreated";
const topicPattern =
  /^\/subscriptions\/[0-9a-f-]{36}\/resourceGroups\/[^/]+\/providers\/Microsoft\.KeyVault\/vaults\/localvault$/;
/** A value no event may carry. */
const secretValue = "value-that-never-leaves-the-vault";

/**
 * An event's `data` as it came: @azure/eventgrid types Key Vault's data in camelCase, but leaves
 * the wire's PascalCase fields as they are.
 */
function wireData(event: { data?: unknown }): Record<string, unknown> {
  return event.data as Record<string, unknown>;
}

/** A token the vault issued (the only kind that may add a subscription). */
async function issuedToken(vault: LocalVault): Promise<string> {
  return (await vault.credential.getToken("https://vault.azure.net/.default"))?.token ?? "";
}

/** Waits until a control route's answer satisfies the condition (short pauses, no timing). */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    await pause(5);
  }
}

describe("local vault: events", () => {
  let receiver: EventReceiver;
  const vaults: LocalVault[] = [];

  beforeEach(async () => {
    receiver = await EventReceiver.start();
  });
  afterEach(async () => {
    await Promise.all(vaults.splice(0).map((vault) => vault.close()));
    await receiver.close();
  });

  async function vaultWith(options: LocalVaultOptions): Promise<LocalVault> {
    const vault = await startLocalVault({ delayMs: 0, ...options });
    vaults.push(vault);
    return vault;
  }

  const status = (vault: LocalVault) =>
    callVault(vault, "GET", "/__local/events", { apiVersion: null });
  const deadLetters = (vault: LocalVault) =>
    callVault(vault, "GET", "/__local/events/deadletters", { apiVersion: null });

  it("sends SecretNewVersionCreated in the Event Grid schema, read by @azure/eventgrid, without the value", async () => {
    const vault = await vaultWith({ eventSubscriptions: [{ endpoint: receiver.url() }] });
    const set = await callVault(vault, "PUT", "/secrets/Greeting", {
      body: { value: secretValue, attributes: { nbf: 1_700_000_000, exp: 4_000_000_000 } },
    });
    assert.equal(set.status, 200);
    await receiver.until((r) => r.deliveries().length === 1);

    const [delivery] = receiver.deliveries();
    assert.equal(delivery.method, "POST");
    assert.equal(delivery.path, "/events");
    assert.equal(delivery.headers["content-type"], "application/json; charset=utf-8");
    assert.equal(delivery.headers["aeg-event-type"], "Notification");
    assert.equal(delivery.headers["aeg-delivery-count"], "0");
    assert.ok(!delivery.body.includes(secretValue));
    const [event] = await new EventGridDeserializer().deserializeEventGridEvents(delivery.body);
    assert.ok(isSystemEvent(newVersionCreated, event));
    const version = set.body.id.split("/").pop();
    assert.match(event.topic ?? "", topicPattern);
    assert.equal(event.subject, "Greeting");
    assert.equal(event.dataVersion, "1");
    assert.ok(event.eventTime instanceof Date && !Number.isNaN(event.eventTime.getTime()));
    assert.deepEqual(wireData(event), {
      Id: `${vault.vaultUrl}/secrets/Greeting/${version}`,
      VaultName: "localvault",
      ObjectType: "Secret",
      ObjectName: "Greeting",
      Version: version,
      NBF: 1_700_000_000,
      EXP: 4_000_000_000,
    });
    // The client's reader takes it too.
    const read = parseKeyVaultEventDelivery(delivery.body);
    assert.equal(read.kind, "events");
    assert.equal(read.kind === "events" && read.events[0].version, version);
  });

  it("sends one for a restore (the version it makes current), with null dates when unset", async () => {
    const vault = await vaultWith({
      eventSubscriptions: [{ endpoint: receiver.url() }],
      restoreConflictAfterPurgeInMs: 0,
    });
    const set = await callVault(vault, "PUT", "/secrets/kept", { body: { value: secretValue } });
    const backup = await callVault(vault, "POST", "/secrets/kept/backup");
    await callVault(vault, "DELETE", "/secrets/kept");
    await eventually(
      () => callVault(vault, "DELETE", "/deletedsecrets/kept"),
      (answer) => answer.status === 204,
    );
    const restored = await callVault(vault, "POST", "/secrets/restore", {
      body: { value: backup.body.value },
    });
    assert.equal(restored.status, 200);
    await receiver.until((r) => r.deliveries().length === 2);

    const events = await new EventGridDeserializer().deserializeEventGridEvents(
      `[${receiver
        .events()
        .map((e) => JSON.stringify(e))
        .join(",")}]`,
    );
    assert.deepEqual(
      events.map((e) => [e.eventType, wireData(e).Version, wireData(e).NBF, wireData(e).EXP]),
      [
        [newVersionCreated, set.body.id.split("/").pop(), null, null],
        [newVersionCreated, set.body.id.split("/").pop(), null, null],
      ],
    );
    assert.notEqual(events[0].id, events[1].id);
    assert.ok(receiver.deliveries().every((d) => !d.body.includes(secretValue)));
  });

  it("names the vault in data.Id as its clients do: by its first extra name when it has one", async () => {
    const vault = await vaultWith({
      hostnames: ["keyvault"],
      eventSubscriptions: [{ endpoint: receiver.url() }],
    });
    const set = await callVault(vault, "PUT", "/secrets/named", { body: { value: secretValue } });
    await receiver.until((r) => r.deliveries().length === 1);
    const port = new URL(vault.vaultUrl).port;
    const version = set.body.id.split("/").pop();
    assert.equal(receiver.events()[0].data.Id, `http://keyvault:${port}/secrets/named/${version}`);
  });

  it("sends CloudEvents 1.0 after the OPTIONS handshake, read by @azure/eventgrid", async () => {
    const vault = await vaultWith({
      eventSubscriptions: [{ endpoint: receiver.url(), schema: "CloudEventSchemaV1_0" }],
    });
    await callVault(vault, "PUT", "/secrets/cloudy", { body: { value: secretValue } });
    await receiver.until((r) => r.deliveries().length === 1);

    const [handshake] = receiver.handshakes();
    assert.equal(handshake.method, "OPTIONS");
    assert.equal(handshake.headers["webhook-request-origin"], "eventgrid.azure.net");
    const [delivery] = receiver.deliveries();
    assert.equal(delivery.headers["content-type"], "application/cloudevents+json; charset=utf-8");
    assert.ok(!delivery.body.includes(secretValue));
    const [event] = await new EventGridDeserializer().deserializeCloudEvents(delivery.body);
    assert.ok(isSystemEvent(newVersionCreated, event));
    assert.equal((event as { specversion?: string }).specversion, "1.0");
    assert.match(event.source, topicPattern);
    assert.equal(event.subject, "cloudy");
    assert.equal(wireData(event).ObjectName, "cloudy");
    assert.equal(event.extensionAttributes, undefined);
  });

  it("sends nothing but the handshake until the webhook echoes the code, then the events that waited", async () => {
    receiver.handshake = false;
    const vault = await vaultWith({
      eventSubscriptions: [{ endpoint: receiver.url() }],
      events: { retryDelayScale: 0.001 },
    });
    await callVault(vault, "PUT", "/secrets/early", { body: { value: secretValue } });
    await receiver.until((r) => r.handshakes().length >= 2);
    assert.equal(receiver.deliveries().length, 0);
    const pending = await status(vault);
    assert.equal(pending.body.subscriptions[0].state, "pending");
    assert.equal(pending.body.subscriptions[0].queued, 1);
    assert.equal(
      pending.body.subscriptions[0].handshakeOutcome,
      "HTTP 200 without the validation code as validationResponse",
    );
    // Each attempt carries the same code; the webhook did not echo it.
    const codes = receiver.handshakes().map((h) => JSON.parse(h.body)[0].data.validationCode);
    assert.equal(new Set(codes).size, 1);

    receiver.handshake = true;
    await receiver.until((r) => r.deliveries().length === 1);
    assert.equal(receiver.events()[0].subject, "early");
    const validated = await status(vault);
    assert.equal(validated.body.subscriptions[0].state, "validated");
    assert.equal(validated.body.subscriptions[0].handshakeOutcome, undefined);
  });

  it("gives up a webhook whose handshake never succeeds: its events go to the dead letters", async () => {
    receiver.handshake = false;
    const vault = await vaultWith({
      eventSubscriptions: [{ endpoint: receiver.url() }],
      events: { retryDelayScale: 0.001, maxDeliveryAttempts: 2 },
    });
    await eventually(
      () => status(vault),
      (answer) => answer.body.subscriptions[0].state === "failed",
    );
    await callVault(vault, "PUT", "/secrets/lost", { body: { value: secretValue } });
    const letters = await eventually(
      () => deadLetters(vault),
      (answer) => answer.body.value.length === 1,
    );
    assert.equal(letters.body.value[0].deadLetterReason, "SubscriptionValidationFailed");
    assert.equal(letters.body.value[0].event.subject, "lost");
    assert.equal(receiver.handshakes().length, 2);
    assert.equal(receiver.deliveries().length, 0);
  });

  it("retries a failing webhook on Event Grid's schedule, then dead-letters the event", async () => {
    receiver.statusFor = () => 500;
    const scale = 0.005;
    const vault = await vaultWith({
      eventSubscriptions: [{ endpoint: `${receiver.url()}?code=function-key` }],
      events: { retryDelayScale: scale, maxDeliveryAttempts: 4 },
    });
    await callVault(vault, "PUT", "/secrets/retried", { body: { value: secretValue } });
    const letters = await eventually(
      () => deadLetters(vault),
      (answer) => answer.body.value.length === 1,
    );

    const attempts = receiver.deliveries();
    assert.equal(attempts.length, 4);
    assert.deepEqual(
      attempts.map((a) => a.headers["aeg-delivery-count"]),
      ["0", "1", "2", "3"],
    );
    assert.equal(new Set(receiver.events().map((e) => e.id)).size, 1);
    // 10 s, 30 s, 1 min, scaled: each retry waits at least its step (a timer may fire 1 ms early).
    [10_000, 30_000, 60_000].forEach((step, index) => {
      const waited = attempts[index + 1].atMs - attempts[index].atMs;
      assert.ok(waited >= step * scale - 2, `retry ${index + 1} waited ${waited} ms`);
    });
    const [letter] = letters.body.value;
    assert.equal(letter.deadLetterReason, "MaxDeliveryAttemptsExceeded");
    assert.equal(letter.deliveryAttempts, 4);
    assert.equal(letter.lastHttpStatusCode, 500);
    assert.equal(letter.event.id, receiver.events()[0].id);
    assert.equal(letter.endpoint, receiver.url());
    assert.ok(!letters.text.includes(secretValue));
    assert.ok(!letters.text.includes("function-key"));
  });

  it("dead-letters at once what the webhook refuses with 400, as Event Grid does", async () => {
    receiver.statusFor = () => 400;
    const vault = await vaultWith({
      eventSubscriptions: [{ endpoint: receiver.url() }],
      events: { retryDelayScale: 0.001 },
    });
    await callVault(vault, "PUT", "/secrets/refused", { body: { value: secretValue } });
    const letters = await eventually(
      () => deadLetters(vault),
      (answer) => answer.body.value.length === 1,
    );
    assert.equal(letters.body.value[0].deadLetterReason, "NonRetriableStatus");
    assert.equal(letters.body.value[0].deliveryAttempts, 1);
    assert.equal(receiver.deliveries().length, 1);
  });

  it("answers the request that made an event before the webhook answers, and close() ends the delivery", async () => {
    receiver.hang = true;
    const vault = await startLocalVault({ eventSubscriptions: [{ endpoint: receiver.url() }] });
    try {
      const set = await callVault(vault, "PUT", "/secrets/quick", { body: { value: "x" } });
      assert.equal(set.status, 200);
      await receiver.until((r) => r.deliveries().length === 1);
    } finally {
      // Resolves although the webhook never answers; the socket run fails on any handle left.
      await vault.close();
    }
  });

  it("adds a subscription only for a token the vault issued", async () => {
    const vault = await vaultWith({});
    const body = { endpoint: receiver.url() };
    const add = (token: string | null) =>
      callVault(vault, "POST", "/__local/events/subscriptions", { apiVersion: null, token, body });
    assertVaultError(await add(null), 401, "Unauthorized", /token/);
    // The vault takes any bearer token for its data (strictAuth is off), but not here.
    const foreign = await add("any-token");
    assert.equal(foreign.status, 401, foreign.text);
    assert.equal((await status(vault)).body.subscriptions.length, 0);
    assert.equal(receiver.requests.length, 0);

    const added = await add(await issuedToken(vault));
    assert.equal(added.status, 201, added.text);
    assert.deepEqual(added.body, {
      name: "local-1",
      endpoint: receiver.url(),
      schema: "EventGridSchema",
      eventTypes: [
        newVersionCreated,
        "Microsoft.KeyVault.SecretNearExpiry",
        "Microsoft.KeyVault.SecretExpired",
      ],
      state: "pending",
      queued: 0,
    });
    await receiver.until((r) => r.handshakes().length === 1);
    await callVault(vault, "PUT", "/secrets/later", { body: { value: secretValue } });
    await receiver.until((r) => r.deliveries().length === 1);
  });

  it("adds a subscription at a named host with a token for the resource it challenges with", async () => {
    const vault = await vaultWith({});
    const port = new URL(vault.vaultUrl).port;
    const resource = `http://localhost:${port}`;
    const add = async (scope: string | null) =>
      callVault(vault, "POST", "/__local/events/subscriptions", {
        apiVersion: null,
        token: scope === null ? null : ((await vault.credential.getToken(scope))?.token ?? ""),
        headers: { host: `myvault.localhost:${port}` },
        body: { endpoint: receiver.url() },
      });
    const missing = await add(null);
    assert.equal(missing.status, 401, missing.text);
    assert.match(
      missing.headers.get("www-authenticate") ?? "",
      /resource="http:\/\/localhost:\d+"/,
    );
    // Issued by the vault, but for another resource: refused, although strictAuth is off.
    assertVaultError(
      await add("https://localhost:1/.default"),
      401,
      "Unauthorized",
      `AKV10022: Invalid audience. Expected ${resource}, found: https://localhost:1.`,
    );
    assert.equal((await add(`${resource}/.default`)).status, 201);
    assert.equal((await add("https://vault.azure.net/.default")).status, 201);
  });

  it("sends a subscription only the event types it takes", async () => {
    const vault = await vaultWith({
      eventSubscriptions: [
        { endpoint: receiver.url(), eventTypes: ["Microsoft.KeyVault.SecretExpired"] },
        { endpoint: receiver.url("/all") },
      ],
    });
    await callVault(vault, "PUT", "/secrets/filtered", { body: { value: secretValue } });
    await receiver.until((r) => r.deliveries().length === 1);
    await callVault(vault, "PUT", "/secrets/filtered", {
      body: { value: secretValue, attributes: { exp: 1_000_000_000 } },
    });
    await receiver.until((r) => r.deliveries().length === 5);
    const byPath = (path: string) =>
      receiver
        .deliveries()
        .filter((d) => d.path === path)
        .map((d) => JSON.parse(d.body)[0].eventType);
    assert.deepEqual(byPath("/events"), ["Microsoft.KeyVault.SecretExpired"]);
    assert.deepEqual(byPath("/all"), [
      newVersionCreated,
      newVersionCreated,
      "Microsoft.KeyVault.SecretNearExpiry",
      "Microsoft.KeyVault.SecretExpired",
    ]);
  });

  it("refuses a subscription it cannot take, saying why and never repeating the URL's query", async () => {
    const vault = await vaultWith({});
    const token = await issuedToken(vault);
    const add = (body: unknown) =>
      callVault(vault, "POST", "/__local/events/subscriptions", { apiVersion: null, token, body });
    assertVaultError(
      await add({ endpoint: "ftp://127.0.0.1/?code=hidden-key" }),
      400,
      "BadParameter",
      "The subscription.endpoint must be an http or https URL, not ftp:.",
    );
    assertVaultError(
      await add({ endpoint: "http://user:hidden-key@127.0.0.1/" }),
      400,
      "BadParameter",
      "The subscription.endpoint must not hold a user name or password.",
    );
    assertVaultError(
      await add({ endpoint: receiver.url(), schema: "CustomInputSchema" }),
      400,
      "BadParameter",
      /schema must be one of EventGridSchema, CloudEventSchemaV1_0/,
    );
    assertVaultError(
      await add({ endpoint: receiver.url(), eventTypes: ["Microsoft.KeyVault.KeyExpired"] }),
      400,
      "BadParameter",
      /is not a secret event type/,
    );
    await assert.rejects(
      startLocalVault({ eventSubscriptions: [{ endpoint: "not a url?code=hidden-key" }] }),
      (error: Error) =>
        error instanceof TypeError &&
        /eventSubscriptions\[0\]\.endpoint is not a URL/.test(error.message) &&
        !error.message.includes("hidden-key"),
    );
    await assert.rejects(
      startLocalVault({ events: { retryDelayScale: 0 } }),
      /events\.retryDelayScale must be above 0 and at most 1, got 0/,
    );
    assert.equal(receiver.requests.length, 0);
  });

  it("reads the events' flags and their variable", () => {
    const parsed = parseCliArguments(
      [
        "--event-subscription",
        receiver.url(),
        "--event-schema",
        "CloudEventSchemaV1_0",
        "--near-expiry-days",
        "7",
      ],
      { KEYVAULT_EMULATOR_EVENT_SUBSCRIPTION: "http://127.0.0.1:1/a,http://127.0.0.1:2/b" },
    );
    assert.ok(!parsed.help);
    assert.deepEqual(parsed.help || parsed.options.eventSubscriptions, [
      { endpoint: receiver.url(), schema: "CloudEventSchemaV1_0" },
    ]);
    assert.deepEqual(parsed.help || parsed.options.events, { nearExpiryInMs: 7 * 86_400_000 });
    const fromEnvironment = parseCliArguments([], {
      KEYVAULT_EMULATOR_EVENT_SUBSCRIPTION: "http://127.0.0.1:1/a,http://127.0.0.1:2/b",
    });
    assert.deepEqual(fromEnvironment.help || fromEnvironment.options.eventSubscriptions, [
      { endpoint: "http://127.0.0.1:1/a" },
      { endpoint: "http://127.0.0.1:2/b" },
    ]);
    assert.throws(
      () => parseCliArguments(["--event-subscription", "mailto:someone@example.com"]),
      /--event-subscription\[0\]\.endpoint must be an http or https URL/,
    );
    assert.throws(() => parseCliArguments(["--event-schema", "EventGridSchema"]), /name one/);
    assert.throws(
      () => parseCliArguments(["--near-expiry-days", "4000"]),
      /--near-expiry-days must be from 0 to 3650, got 4000/,
    );
  });
});
