/**
 * Key Vault's secret events as Event Grid delivers them to a webhook: the event types, the two
 * envelopes (the Event Grid schema and CloudEvents 1.0), the data, and the check of a delivery
 * a webhook received. Shared by the local vault, which sends these events, and the client, which
 * receives them; it imports neither. A webhook is reachable by anyone: every delivery is hostile
 * input until this check has passed.
 */
import { isRecord } from "../util/guards.js";

/** A new secret or a new version of a secret was created. */
export const secretNewVersionCreatedEventType = "Microsoft.KeyVault.SecretNewVersionCreated";
/** The current version of a secret expires soon (30 days ahead, by default). */
export const secretNearExpiryEventType = "Microsoft.KeyVault.SecretNearExpiry";
/** The current version of a secret has expired. */
export const secretExpiredEventType = "Microsoft.KeyVault.SecretExpired";

/** The secret event types, by their full Event Grid names. */
export const keyVaultSecretEventTypes = [
  secretNewVersionCreatedEventType,
  secretNearExpiryEventType,
  secretExpiredEventType,
] as const;

/** One of the secret event types. */
export type KeyVaultSecretEventType = (typeof keyVaultSecretEventTypes)[number];

/** The event Event Grid sends to a new webhook (Event Grid schema) to prove it wants events. */
export const subscriptionValidationEventType = "Microsoft.EventGrid.SubscriptionValidationEvent";

/** The delivery schemas of an event subscription, as Event Grid names them. */
export const eventSchemas = ["EventGridSchema", "CloudEventSchemaV1_0"] as const;

/** A delivery schema: the Event Grid schema (the default) or CloudEvents 1.0. */
export type EventSchema = (typeof eventSchemas)[number];

/**
 * The origin named in the CloudEvents webhook handshake (`OPTIONS` with `WebHook-Request-Origin`);
 * a webhook that accepts it answers it (or `*`) in `WebHook-Allowed-Origin`.
 */
export const eventGridOrigin = "eventgrid.azure.net";

/** `data` of a secret event on the wire: PascalCase, dates in Unix seconds (null when unset). */
export interface KeyVaultSecretEventDataJson {
  /** The version's identifier, `https://{vault}/secrets/{name}/{version}`. */
  Id: string;
  VaultName: string;
  ObjectType: "Secret";
  ObjectName: string;
  Version: string;
  NBF: number | null;
  EXP: number | null;
}

/** An event in the Event Grid schema, as JSON. */
export interface EventGridEventJson<Data> {
  id: string;
  /** The source's resource id (for Key Vault, the vault's). */
  topic: string;
  subject: string;
  eventType: string;
  /** ISO 8601, UTC. */
  eventTime: string;
  data: Data;
  dataVersion: string;
  metadataVersion: "1";
}

/** An event in the CloudEvents 1.0 schema (structured JSON), as JSON. */
export interface CloudEventJson<Data> {
  specversion: "1.0";
  id: string;
  /** The source's resource id (for Key Vault, the vault's). */
  source: string;
  type: string;
  subject?: string;
  /** ISO 8601, UTC. */
  time?: string;
  data: Data;
}

/** A secret event, checked and read from either schema. */
export interface KeyVaultSecretEvent {
  /** The event's id; at-least-once delivery may bring the same id twice. */
  id: string;
  type: KeyVaultSecretEventType;
  /** The vault's resource id (Event Grid `topic`, CloudEvents `source`). */
  source: string;
  /** The secret's name, as Key Vault sets it. */
  subject: string;
  /** When the event happened. */
  time: Date;
  /** The version's identifier (`data.Id`), `https://{vault}/secrets/{name}/{version}`. */
  secretId: string;
  /** The vault's name (`data.VaultName`). */
  vaultName: string;
  /** The secret's name (`data.ObjectName`). */
  name: string;
  /** The version (`data.Version`). */
  version: string;
  /** `data.NBF`, when the version has one. */
  notBefore?: Date;
  /** `data.EXP`, when the version has one. */
  expiresOn?: Date;
}

/** What a webhook received: a handshake to answer, or events. */
export type KeyVaultEventDelivery =
  | {
      kind: "validation";
      /**
       * The code to echo: answer 200 with `{ "validationResponse": validationCode }`.
       */
      validationCode: string;
      /** Where Event Grid accepts a manual validation (GET), when it offers one. */
      validationUrl?: string;
    }
  | {
      kind: "events";
      schema: EventSchema;
      /** The secret events, in the order received. */
      events: KeyVaultSecretEvent[];
      /** Events of other types (keys, certificates, ...), skipped as Event Grid advises. */
      ignored: number;
    };

/** Most events one delivery may carry (Event Grid batches up to 5,000). */
export const maxEventsPerDelivery = 5000;
/** Longest string field read from an event. */
const maxFieldLength = 2048;
/** Secret names: letters, digits and dashes, 1 to 127 characters (the service's rule). */
const secretNamePattern = /^[0-9a-zA-Z-]{1,127}$/;
/** Versions: letters and digits (the service makes 32 lowercase hex digits). */
const versionPattern = /^[0-9a-zA-Z]{1,64}$/;

/**
 * Checks a delivery a webhook received and reads it: an Event Grid subscription validation, or
 * Key Vault secret events in the Event Grid schema (one event or an array) or CloudEvents 1.0 (one
 * event or an array), as JSON text, as the value it parses to, or as `@azure/eventgrid`'s
 * deserializers give them (dates as `Date`). Events of other types are counted, not read. Nothing is trusted that was not checked:
 * every field has its type and bound, the secret's name the service's rule, and `data.Id` names
 * the same secret and version.
 * @param body - the request body: its JSON text, or the value it parses to (or events
 *   `@azure/eventgrid` deserialized)
 * @returns the validation to answer, or the events
 * @throws TypeError naming what is wrong; answer such a delivery 400 (Event Grid does not retry it)
 * @example
 * ```ts
 * const delivery = parseKeyVaultEventDelivery(bodyText);
 * if (delivery.kind === "validation") {
 *   respond(200, { validationResponse: delivery.validationCode });
 * } else {
 *   for (const event of delivery.events) console.log(event.type, event.name, event.version);
 * }
 * ```
 */
export function parseKeyVaultEventDelivery(body: unknown): KeyVaultEventDelivery {
  const items = asEventList(typeof body === "string" ? parseJsonText(body) : body);
  const first = items[0];
  if (isRecord(first) && first.eventType === subscriptionValidationEventType) {
    return readValidation(first);
  }
  const schema: EventSchema =
    isRecord(first) && "specversion" in first ? "CloudEventSchemaV1_0" : "EventGridSchema";
  const events: KeyVaultSecretEvent[] = [];
  let ignored = 0;
  items.forEach((item, index) => {
    const event = readEnvelope(item, schema, index);
    if (event === undefined) ignored += 1;
    else events.push(event);
  });
  return { kind: "events", schema, events, ignored };
}

function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw deliveryError("the body is not JSON");
  }
}

function asEventList(value: unknown): unknown[] {
  const items = Array.isArray(value) ? value : [value];
  if (items.length === 0) throw deliveryError("it holds no event");
  if (items.length > maxEventsPerDelivery) {
    throw deliveryError(`it holds more than ${maxEventsPerDelivery} events`);
  }
  return items;
}

function readValidation(event: Record<string, unknown>): KeyVaultEventDelivery {
  const data = event.data;
  if (!isRecord(data)) throw deliveryError("the validation event has no data object");
  const validationCode = boundedString(data.validationCode, "data.validationCode");
  const delivery: KeyVaultEventDelivery = { kind: "validation", validationCode };
  if (data.validationUrl !== undefined && data.validationUrl !== null) {
    delivery.validationUrl = boundedString(data.validationUrl, "data.validationUrl");
  }
  return delivery;
}

/** Reads one event's envelope; undefined for an event of another type. */
function readEnvelope(
  item: unknown,
  schema: EventSchema,
  index: number,
): KeyVaultSecretEvent | undefined {
  const at = (field: string): string => `event ${index}: ${field}`;
  if (!isRecord(item)) throw deliveryError(`${at("the event")} is not an object`);
  const cloud = schema === "CloudEventSchemaV1_0";
  if (cloud && item.specversion !== "1.0") {
    throw deliveryError(
      `${at("specversion")} is not "1.0" (every event of a delivery shares one schema)`,
    );
  }
  if (!cloud && item.metadataVersion !== "1") {
    throw deliveryError(
      `${at("metadataVersion")} is not "1" (every event of a delivery shares one schema)`,
    );
  }
  const type = boundedString(cloud ? item.type : item.eventType, at(cloud ? "type" : "eventType"));
  const known = keyVaultSecretEventTypes.find((name) => name === type);
  if (known === undefined) return undefined;
  const timeField = cloud ? "time" : "eventTime";
  const time = readTime(item[timeField], at(timeField));
  const event: KeyVaultSecretEvent = {
    id: boundedString(item.id, at("id")),
    type: known,
    source: boundedString(cloud ? item.source : item.topic, at(cloud ? "source" : "topic")),
    subject: boundedString(item.subject, at("subject")),
    time,
    ...readSecretData(item.data, at),
  };
  if (event.subject !== event.name) {
    throw deliveryError(`${at("subject")} does not name the secret of data.ObjectName`);
  }
  return event;
}

type SecretData = Pick<
  KeyVaultSecretEvent,
  "secretId" | "vaultName" | "name" | "version" | "notBefore" | "expiresOn"
>;

function readSecretData(data: unknown, at: (field: string) => string): SecretData {
  if (!isRecord(data)) throw deliveryError(`${at("data")} is not an object`);
  if (data.ObjectType !== "Secret") throw deliveryError(`${at("data.ObjectType")} is not "Secret"`);
  const name = boundedString(data.ObjectName, at("data.ObjectName"));
  if (!secretNamePattern.test(name)) {
    throw deliveryError(`${at("data.ObjectName")} is not a secret name (letters, digits, dashes)`);
  }
  const version = boundedString(data.Version, at("data.Version"));
  if (!versionPattern.test(version)) {
    throw deliveryError(`${at("data.Version")} is not a version (letters and digits)`);
  }
  const secretId = boundedString(data.Id, at("data.Id"));
  if (!namesVersion(secretId, name, version)) {
    throw deliveryError(`${at("data.Id")} is not the identifier of that secret's version`);
  }
  const read: SecretData = {
    secretId,
    vaultName: boundedString(data.VaultName, at("data.VaultName")),
    name,
    version,
  };
  const notBefore = readDate(data.NBF, at("data.NBF"));
  if (notBefore !== undefined) read.notBefore = notBefore;
  const expiresOn = readDate(data.EXP, at("data.EXP"));
  if (expiresOn !== undefined) read.expiresOn = expiresOn;
  return read;
}

/** Whether `id` is `http(s)://{host}/secrets/{name}/{version}` (names compare case-insensitively). */
function namesVersion(id: string, name: string, version: string): boolean {
  let url: URL;
  try {
    url = new URL(id);
  } catch {
    return false;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return false;
  if (url.search !== "" || url.hash !== "" || url.username !== "" || url.password !== "") {
    return false;
  }
  const segments = url.pathname.split("/");
  return (
    segments.length === 4 &&
    segments[1] === "secrets" &&
    segments[2].toLowerCase() === name.toLowerCase() &&
    segments[3].toLowerCase() === version.toLowerCase()
  );
}

/** An ISO 8601 string as on the wire, or a Date (`@azure/eventgrid`'s deserializers make one). */
function readTime(value: unknown, field: string): Date {
  const time =
    value instanceof Date ? new Date(value.getTime()) : new Date(boundedString(value, field));
  if (Number.isNaN(time.getTime())) throw deliveryError(`${field} is not a date`);
  return time;
}

/** Unix seconds as the service sends them: a number, null or absent (also a numeric string). */
function readDate(value: unknown, field: string): Date | undefined {
  if (value === undefined || value === null) return undefined;
  const seconds = typeof value === "string" && /^\d{1,12}$/.test(value) ? Number(value) : value;
  if (typeof seconds !== "number" || !Number.isInteger(seconds) || seconds < 0) {
    throw deliveryError(`${field} is not a date in Unix seconds`);
  }
  const date = new Date(seconds * 1000);
  if (Number.isNaN(date.getTime())) throw deliveryError(`${field} is not a date in Unix seconds`);
  return date;
}

function boundedString(value: unknown, field: string): string {
  if (typeof value !== "string" || value === "") {
    throw deliveryError(`${field} is not a non-empty string`);
  }
  if (value.length > maxFieldLength) {
    throw deliveryError(`${field} is longer than ${maxFieldLength} characters`);
  }
  return value;
}

/** The one error of a delivery that is not what Key Vault sends; it never repeats the field. */
function deliveryError(problem: string): TypeError {
  return new TypeError(
    `The event delivery is not one Key Vault sends: ${problem}. Answer it 400 (Event Grid does ` +
      `not retry a 400) and check the sender.`,
  );
}
