import assert from "node:assert/strict";
import { EventGridDeserializer } from "@azure/eventgrid";
import {
  maxEventsPerDelivery,
  parseKeyVaultEventDelivery,
} from "../../../src/events/keyVaultEvents.js";

const version = "0c7751761b5a4ca09f3deec5fba4af83";
const topic =
  "/subscriptions/0afdd038-221b-4938-8564-5c62d1399393/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv";

/** A secret event in the Event Grid schema, as the service sends it. */
function eventGridEvent(
  overrides: Record<string, unknown> = {},
  data: Record<string, unknown> = {},
) {
  return {
    id: "0a09caf8-8056-4a4b-9de4-4452cf7ad05b",
    topic,
    subject: "secret1",
    eventType: "Microsoft.KeyVault.SecretNewVersionCreated",
    eventTime: "2024-04-01T16:21:21.2932321Z",
    data: {
      Id: `https://kv.vault.azure.net/secrets/secret1/${version}`,
      VaultName: "kv",
      ObjectType: "Secret",
      ObjectName: "secret1",
      Version: version,
      NBF: null,
      EXP: null,
      ...data,
    },
    dataVersion: "1",
    metadataVersion: "1",
    ...overrides,
  };
}

/** The same event as a CloudEvent. */
function cloudEvent(overrides: Record<string, unknown> = {}) {
  const { topic: source, eventType: type, eventTime: time, data, id, subject } = eventGridEvent();
  return { id, source, specversion: "1.0", type, subject, time, data, ...overrides };
}

/** Asserts that a delivery is refused with a TypeError whose message matches. */
function assertRefused(body: unknown, message: RegExp): void {
  assert.throws(
    () => parseKeyVaultEventDelivery(body),
    (error: Error) => {
      assert.ok(error instanceof TypeError, String(error));
      assert.match(error.message, /^The event delivery is not one Key Vault sends: /);
      assert.match(error.message, message);
      assert.match(error.message, /Answer it 400/);
      return true;
    },
  );
}

describe("parseKeyVaultEventDelivery", () => {
  it("reads Event Grid's subscription validation", () => {
    const delivery = parseKeyVaultEventDelivery(
      JSON.stringify([
        {
          id: "2d1781af-3a4c-4d7c-bd0c-e34b19da4e66",
          topic,
          subject: "",
          data: {
            validationCode: "512d38b6-c7b8-40c8-89fe-f46f9e9622b6",
            validationUrl:
              "https://rp-eastus2.eventgrid.azure.net:553/eventsubscriptions/x/validate",
          },
          eventType: "Microsoft.EventGrid.SubscriptionValidationEvent",
          eventTime: "2018-01-25T22:12:19.4556811Z",
          metadataVersion: "1",
          dataVersion: "1",
        },
      ]),
    );
    assert.deepEqual(delivery, {
      kind: "validation",
      validationCode: "512d38b6-c7b8-40c8-89fe-f46f9e9622b6",
      validationUrl: "https://rp-eastus2.eventgrid.azure.net:553/eventsubscriptions/x/validate",
    });
  });

  it("reads secret events of the Event Grid schema, from text or parsed JSON", () => {
    const body = [
      eventGridEvent(),
      eventGridEvent(
        { eventType: "Microsoft.KeyVault.SecretNearExpiry" },
        { EXP: 1_800_000_000, NBF: 1_700_000_000 },
      ),
    ];
    for (const given of [body, JSON.stringify(body)]) {
      const delivery = parseKeyVaultEventDelivery(given);
      assert.equal(delivery.kind, "events");
      if (delivery.kind !== "events") return;
      assert.equal(delivery.schema, "EventGridSchema");
      assert.equal(delivery.ignored, 0);
      assert.deepEqual(delivery.events[0], {
        id: "0a09caf8-8056-4a4b-9de4-4452cf7ad05b",
        type: "Microsoft.KeyVault.SecretNewVersionCreated",
        source: topic,
        subject: "secret1",
        time: new Date("2024-04-01T16:21:21.293Z"),
        secretId: `https://kv.vault.azure.net/secrets/secret1/${version}`,
        vaultName: "kv",
        name: "secret1",
        version,
      });
      assert.equal(delivery.events[1].type, "Microsoft.KeyVault.SecretNearExpiry");
      assert.deepEqual(delivery.events[1].expiresOn, new Date(1_800_000_000_000));
      assert.deepEqual(delivery.events[1].notBefore, new Date(1_700_000_000_000));
    }
  });

  it("reads a CloudEvent, alone or in a batch", () => {
    for (const given of [cloudEvent(), [cloudEvent(), cloudEvent({ id: "second" })]]) {
      const delivery = parseKeyVaultEventDelivery(given);
      assert.ok(delivery.kind === "events");
      assert.equal(delivery.schema, "CloudEventSchemaV1_0");
      assert.equal(delivery.events[0].name, "secret1");
      assert.equal(delivery.events[0].source, topic);
    }
  });

  it("reads events as @azure/eventgrid's deserializers give them (times as Date)", async () => {
    const deserializer = new EventGridDeserializer();
    const given = [
      await deserializer.deserializeEventGridEvents(JSON.stringify([eventGridEvent()])),
      await deserializer.deserializeCloudEvents(JSON.stringify([cloudEvent()])),
    ];
    for (const events of given) {
      assert.ok(events[0] !== undefined);
      const delivery = parseKeyVaultEventDelivery(events);
      assert.ok(delivery.kind === "events");
      assert.deepEqual(delivery.events[0].time, new Date("2024-04-01T16:21:21.293Z"));
      assert.equal(delivery.events[0].version, version);
    }
    assertRefused([eventGridEvent({ eventTime: new Date(Number.NaN) })], /eventTime is not a date/);
  });

  it("takes the dates as the documentation's sample writes them (numeric strings)", () => {
    const delivery = parseKeyVaultEventDelivery([
      eventGridEvent({}, { NBF: "1559081980", EXP: "1559082102" }),
    ]);
    assert.ok(delivery.kind === "events");
    assert.deepEqual(delivery.events[0].expiresOn, new Date(1_559_082_102_000));
  });

  it("counts events of other types without reading them", () => {
    const delivery = parseKeyVaultEventDelivery([
      eventGridEvent(
        { eventType: "Microsoft.KeyVault.KeyNewVersionCreated" },
        { ObjectType: "Key" },
      ),
      eventGridEvent(),
    ]);
    assert.ok(delivery.kind === "events");
    assert.equal(delivery.ignored, 1);
    assert.equal(delivery.events.length, 1);
  });

  const refused: Array<[string, unknown, RegExp]> = [
    ["a body that is not JSON", "{not json", /the body is not JSON/],
    ["an empty batch", [], /it holds no event/],
    [
      "a batch too large",
      Array.from({ length: maxEventsPerDelivery + 1 }, () => eventGridEvent()),
      /more than 5000 events/,
    ],
    ["an event that is not an object", [42], /event 0: the event is not an object/],
    [
      "a validation without its code",
      [{ eventType: "Microsoft.EventGrid.SubscriptionValidationEvent", data: {} }],
      /data\.validationCode is not a non-empty string/,
    ],
    [
      "an event without metadataVersion",
      [eventGridEvent({ metadataVersion: undefined })],
      /event 0: metadataVersion is not "1"/,
    ],
    [
      "a CloudEvent batch mixing schemas",
      [cloudEvent(), eventGridEvent()],
      /event 1: specversion is not "1\.0"/,
    ],
    [
      "an event time that is no date",
      [eventGridEvent({ eventTime: "yesterday" })],
      /event 0: eventTime is not a date/,
    ],
    [
      "an event without an id",
      [eventGridEvent({ id: 7 })],
      /event 0: id is not a non-empty string/,
    ],
    [
      "a field of a megabyte",
      [eventGridEvent({ topic: "x".repeat(1 << 20) })],
      /event 0: topic is longer than 2048 characters/,
    ],
    [
      "another object type",
      [eventGridEvent({}, { ObjectType: "Key" })],
      /data\.ObjectType is not "Secret"/,
    ],
    [
      "a name that breaks a path",
      [eventGridEvent({ subject: "../etc" }, { ObjectName: "../etc" })],
      /data\.ObjectName is not a secret name/,
    ],
    [
      "a version that is not one",
      [eventGridEvent({}, { Version: "v/1" })],
      /data\.Version is not a version/,
    ],
    [
      "an id naming another secret",
      [eventGridEvent({}, { Id: `https://kv.vault.azure.net/secrets/other/${version}` })],
      /data\.Id is not the identifier of that secret's version/,
    ],
    [
      "an id with a query",
      [eventGridEvent({}, { Id: `https://kv.vault.azure.net/secrets/secret1/${version}?x=1` })],
      /data\.Id is not the identifier/,
    ],
    [
      "an id that is no URL",
      [eventGridEvent({}, { Id: "secret1" })],
      /data\.Id is not the identifier/,
    ],
    [
      "a subject naming another secret",
      [eventGridEvent({ subject: "other" })],
      /subject does not name the secret/,
    ],
    [
      "a negative expiry",
      [eventGridEvent({}, { EXP: -1 })],
      /data\.EXP is not a date in Unix seconds/,
    ],
    [
      "a fractional expiry",
      [eventGridEvent({}, { EXP: 1.5 })],
      /data\.EXP is not a date in Unix seconds/,
    ],
    [
      "an expiry beyond any date",
      [eventGridEvent({}, { EXP: 1e300 })],
      /data\.EXP is not a date in Unix seconds/,
    ],
  ];
  for (const [what, body, message] of refused) {
    it(`refuses ${what}`, () => assertRefused(body, message));
  }

  it("never repeats what the sender wrote in its message", () => {
    const hostile = "<script>alert(1)</script>";
    for (const body of [
      [eventGridEvent({ subject: hostile }, { ObjectName: hostile })],
      [eventGridEvent({ eventTime: hostile })],
      [eventGridEvent({}, { Id: hostile })],
    ]) {
      assert.throws(
        () => parseKeyVaultEventDelivery(body),
        (error: Error) => !error.message.includes(hostile),
      );
    }
  });
});
