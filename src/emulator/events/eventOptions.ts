/**
 * The options of the local vault's events: event subscriptions (from `startLocalVault`, the
 * command line and the control route alike) and the timing of events and deliveries, with their
 * checks (one place for all three sources).
 */
import {
  eventSchemas,
  keyVaultSecretEventTypes,
  type EventSchema,
  type KeyVaultSecretEventType,
} from "../../events/keyVaultEvents.js";
import { isRecord } from "../../util/guards.js";

/** A webhook that receives the vault's events, as Event Grid's event subscriptions do. */
export interface LocalVaultEventSubscription {
  /**
   * The webhook: an `http` or `https` URL (no user name or password). Before any event, it gets
   * Event Grid's handshake: a `Microsoft.EventGrid.SubscriptionValidationEvent` whose
   * `validationCode` it echoes as `{ "validationResponse": code }` (Event Grid schema), or an
   * `OPTIONS` request whose `WebHook-Request-Origin` it allows in `WebHook-Allowed-Origin`
   * (CloudEvents).
   */
  endpoint: string;
  /**
   * The event types to send, by their full names (`Microsoft.KeyVault.SecretNewVersionCreated`,
   * `Microsoft.KeyVault.SecretNearExpiry`, `Microsoft.KeyVault.SecretExpired`).
   * @default all three
   */
  eventTypes?: string[];
  /**
   * The delivery schema: `"EventGridSchema"` (an array holding one event per request) or
   * `"CloudEventSchemaV1_0"` (one structured CloudEvent per request).
   * @default "EventGridSchema"
   */
  schema?: "EventGridSchema" | "CloudEventSchemaV1_0";
}

/** When the vault's events happen and how they are delivered. */
export interface LocalVaultEventOptions {
  /**
   * Milliseconds ahead of a current version's `exp` at which `SecretNearExpiry` is sent (on the
   * vault clock, which `advanceClock` moves).
   * @default 2592000000 (30 days, as the service)
   */
  nearExpiryInMs?: number;
  /**
   * Factor applied to Event Grid's retry delays (10 s, 30 s, 1 min, 5 min, 10 min, 30 min, then
   * hourly), above 0 and at most 1: `0.001` makes them 10 ms, 30 ms, 60 ms, ... for tests.
   * @default 1
   */
  retryDelayScale?: number;
  /**
   * Attempts to deliver an event (and to complete a handshake) before it goes to the dead letters.
   * @default 30 (as Event Grid)
   */
  maxDeliveryAttempts?: number;
  /**
   * The vault's name in events (`data.VaultName`, and the end of `topic`): 3 to 24 letters,
   * digits and dashes, starting with a letter.
   * @default "localvault"
   */
  vaultName?: string;
}

/** A subscription after its checks. */
export interface CheckedEventSubscription {
  endpoint: URL;
  eventTypes: KeyVaultSecretEventType[];
  schema: EventSchema;
}

/** Default of `nearExpiryInMs`: the service's 30 days. */
export const defaultNearExpiryInMs = 30 * 86_400_000;
/** Longest `nearExpiryInMs`: 10 years. */
export const maxNearExpiryInMs = 3650 * 86_400_000;
/** Most subscriptions one vault holds, from every source together. */
export const maxEventSubscriptions = 16;
/** Longest endpoint URL. */
const maxEndpointLength = 2048;
/** Vault names, as Azure takes them: 3 to 24 letters, digits and dashes, starting with a letter. */
export const vaultNamePattern = /^[A-Za-z][A-Za-z0-9-]{2,23}$/;

/**
 * Checks one subscription (from the options, the command line or the control route).
 * @param value - the subscription as given
 * @param label - how it is named in messages, e.g. `eventSubscriptions[0]`
 * @returns the subscription with its defaults
 * @throws TypeError for a value of the wrong type, RangeError for a value the vault does not take
 */
export function checkEventSubscription(value: unknown, label: string): CheckedEventSubscription {
  if (!isRecord(value)) {
    throw new TypeError(
      `${label} must be an object such as { endpoint: "http://127.0.0.1:7071/" }.`,
    );
  }
  return {
    endpoint: checkEndpoint(value.endpoint, `${label}.endpoint`),
    eventTypes: checkEventTypes(value.eventTypes, `${label}.eventTypes`),
    schema: checkSchema(value.schema, `${label}.schema`),
  };
}

/**
 * Checks the subscriptions given to a vault at start (options or command line).
 * @param value - `eventSubscriptions` as given
 * @param label - how the option is named in messages
 * @returns the subscriptions with their defaults
 * @throws TypeError for a value of the wrong type, RangeError for a value the vault does not take
 */
export function checkEventSubscriptions(value: unknown, label: string): CheckedEventSubscription[] {
  const list = value ?? [];
  if (!Array.isArray(list)) throw new TypeError(`${label} must be an array of subscriptions.`);
  if (list.length > maxEventSubscriptions) {
    throw new RangeError(
      `${label} holds ${list.length} subscriptions; a vault takes at most ${maxEventSubscriptions}.`,
    );
  }
  return list.map((item, index) => checkEventSubscription(item, `${label}[${index}]`));
}

/**
 * Checks an endpoint URL. The message never repeats the URL: its query may hold a key (an Azure
 * Function's `code`).
 */
function checkEndpoint(value: unknown, label: string): URL {
  if (typeof value !== "string" || value === "") {
    throw new TypeError(`${label} must be the webhook's URL, e.g. "http://127.0.0.1:7071/events".`);
  }
  if (value.length > maxEndpointLength) {
    throw new RangeError(`${label} is longer than ${maxEndpointLength} characters.`);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`${label} is not a URL; give an absolute http or https URL.`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new RangeError(`${label} must be an http or https URL, not ${url.protocol}.`);
  }
  if (url.username !== "" || url.password !== "") {
    throw new RangeError(`${label} must not hold a user name or password.`);
  }
  url.hash = "";
  return url;
}

function checkEventTypes(value: unknown, label: string): KeyVaultSecretEventType[] {
  if (value === undefined) return [...keyVaultSecretEventTypes];
  if (!Array.isArray(value) || value.length === 0) {
    throw new TypeError(
      `${label} must be a non-empty array of event types (or left out for all of them).`,
    );
  }
  const chosen = new Set<KeyVaultSecretEventType>();
  for (const item of value) {
    const known = keyVaultSecretEventTypes.find(
      (type) => typeof item === "string" && type.toLowerCase() === item.toLowerCase(),
    );
    if (known === undefined) {
      throw new RangeError(
        `${label}: "${String(item).slice(0, 80)}" is not a secret event type; use ${keyVaultSecretEventTypes.join(", ")}.`,
      );
    }
    chosen.add(known);
  }
  return [...chosen];
}

function checkSchema(value: unknown, label: string): EventSchema {
  if (value === undefined) return "EventGridSchema";
  const known = eventSchemas.find((schema) => schema === value);
  if (known === undefined) {
    throw new RangeError(
      `${label} must be one of ${eventSchemas.join(", ")}, got "${String(value).slice(0, 80)}".`,
    );
  }
  return known;
}
