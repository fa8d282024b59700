/**
 * The vault's events as the service shapes them: what happened (a {@link VaultEvent}, decided once
 * and shared by every subscription, so all of them see the same id), rendered in the Event Grid
 * schema or as a CloudEvent. An event names a secret's version and its dates, never its value.
 */
import { randomUUID } from "node:crypto";
import type {
  CloudEventJson,
  EventGridEventJson,
  EventSchema,
  KeyVaultSecretEventDataJson,
  KeyVaultSecretEventType,
} from "../../events/keyVaultEvents.js";

/** One event of the vault, before it is rendered for a subscription. */
export interface VaultEvent {
  id: string;
  type: KeyVaultSecretEventType;
  /** The secret's name, as the vault keeps it. */
  name: string;
  version: string;
  nbf?: number;
  exp?: number;
  /** Vault-clock milliseconds of the event. */
  timeMs: number;
}

/** Who sends the events: the vault as Event Grid names it. */
export interface VaultIdentity {
  /** `https://host:port` of the vault, the start of every `data.Id`. */
  vaultUrl: string;
  vaultName: string;
}

/** An event as a subscription receives it. */
export type RenderedEvent =
  EventGridEventJson<KeyVaultSecretEventDataJson> | CloudEventJson<KeyVaultSecretEventDataJson>;

/**
 * A new event about one version.
 * @param type - the event type
 * @param version - the secret's name, version and dates (no value)
 * @param timeMs - vault-clock milliseconds
 * @returns the event, with a fresh id
 */
export function newVaultEvent(
  type: KeyVaultSecretEventType,
  version: { name: string; version: string; nbf?: number; exp?: number },
  timeMs: number,
): VaultEvent {
  const event: VaultEvent = {
    id: randomUUID(),
    type,
    name: version.name,
    version: version.version,
    timeMs,
  };
  if (version.nbf !== undefined) event.nbf = version.nbf;
  if (version.exp !== undefined) event.exp = version.exp;
  return event;
}

/**
 * The vault's resource id, as `topic` (Event Grid) and `source` (CloudEvents) name it.
 * @param vaultName - the vault's name
 * @returns `/subscriptions/{id}/resourceGroups/{group}/providers/Microsoft.KeyVault/vaults/{name}`
 */
export function vaultResourceId(vaultName: string): string {
  return (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local/providers/" +
    `Microsoft.KeyVault/vaults/${vaultName}`
  );
}

/**
 * A time as Event Grid writes it: ISO 8601 with seven fractional digits.
 * @param ms - milliseconds since the epoch
 * @returns e.g. `2024-04-01T16:21:21.2930000Z`
 */
export function eventTimeText(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, "0000Z");
}

/**
 * Renders an event in a subscription's schema.
 * @param event - the event
 * @param schema - the subscription's schema
 * @param identity - the vault
 * @returns the JSON a webhook receives (Event Grid: one element of the array it is sent in)
 */
export function renderEvent(
  event: VaultEvent,
  schema: EventSchema,
  identity: VaultIdentity,
): RenderedEvent {
  const data: KeyVaultSecretEventDataJson = {
    Id: `${identity.vaultUrl}/secrets/${event.name}/${event.version}`,
    VaultName: identity.vaultName,
    ObjectType: "Secret",
    ObjectName: event.name,
    Version: event.version,
    NBF: event.nbf ?? null,
    EXP: event.exp ?? null,
  };
  const source = vaultResourceId(identity.vaultName);
  const time = eventTimeText(event.timeMs);
  if (schema === "CloudEventSchemaV1_0") {
    return {
      id: event.id,
      source,
      specversion: "1.0",
      type: event.type,
      subject: event.name,
      time,
      data,
    };
  }
  return {
    id: event.id,
    topic: source,
    subject: event.name,
    eventType: event.type,
    eventTime: time,
    data,
    dataVersion: "1",
    metadataVersion: "1",
  };
}
