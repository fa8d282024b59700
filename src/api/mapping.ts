/**
 * Wire JSON <-> public models. Every reader checks the type of what it takes, so a malformed body
 * becomes a ResponseShapeError naming the field, never an unrelated TypeError further on.
 */
import { parseKeyVaultSecretIdentifier } from "../identifier.js";
import type { DeletedSecret, KeyVaultSecret, SecretProperties } from "../models.js";
import { isRecord } from "../util/guards.js";
import { ResponseShapeError } from "./errors.js";
import type {
  SecretAttributesWire,
  SecretSetParametersWire,
  SecretUpdateParametersWire,
} from "./wireTypes.js";

type Json = Record<string, unknown>;

function optional<T>(
  source: Json,
  field: string,
  type: "string" | "number" | "boolean",
  path: string,
): T | undefined {
  const value = source[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== type) {
    throw new ResponseShapeError(`"${path}${field}" is a ${typeof value}, expected a ${type}.`);
  }
  return value as T;
}

function optionalDate(source: Json, field: string, path: string): Date | undefined {
  const seconds = optional<number>(source, field, "number", path);
  return seconds === undefined ? undefined : new Date(seconds * 1000);
}

function tagsOf(source: Json): Record<string, string> | undefined {
  const tags = source.tags;
  if (tags === undefined || tags === null) return undefined;
  if (!isRecord(tags)) throw new ResponseShapeError(`"tags" is not an object.`);
  for (const key of Object.keys(tags)) {
    if (typeof tags[key] !== "string") {
      throw new ResponseShapeError(`tag "${key}" is a ${typeof tags[key]}, expected a string.`);
    }
  }
  return tags as Record<string, string>;
}

/** Checks that a parsed body is a JSON object. */
export function asObject(body: unknown, what: string): Json {
  if (!isRecord(body)) throw new ResponseShapeError(`the body is not a JSON object (${what}).`);
  return body;
}

/** The properties shared by bundles and list items. */
export function toSecretProperties(source: Json): SecretProperties {
  const id = optional<string>(source, "id", "string", "");
  if (id === undefined) throw new ResponseShapeError(`the secret has no "id".`);
  let parsed;
  try {
    parsed = parseKeyVaultSecretIdentifier(id);
  } catch {
    throw new ResponseShapeError(`"id" (${JSON.stringify(id)}) is not a secret identifier.`);
  }
  const rawAttributes = source.attributes ?? undefined;
  if (rawAttributes !== undefined && !isRecord(rawAttributes)) {
    throw new ResponseShapeError(`"attributes" is not an object.`);
  }
  const attributes: Json = rawAttributes ?? {};
  const p = "attributes.";
  // Every key is an own key, holding undefined when the service sent nothing, in 4.x's order:
  // code written for 4.x compares these objects with deep equality and prints them.
  return {
    expiresOn: optionalDate(attributes, "exp", p),
    createdOn: optionalDate(attributes, "created", p),
    updatedOn: optionalDate(attributes, "updated", p),
    enabled: optional<boolean>(attributes, "enabled", "boolean", p),
    notBefore: optionalDate(attributes, "nbf", p),
    recoverableDays: optional<number>(attributes, "recoverableDays", "number", p),
    recoveryLevel: optional<string>(attributes, "recoveryLevel", "string", p),
    id,
    contentType: optional<string>(source, "contentType", "string", ""),
    tags: tagsOf(source),
    managed: optional<boolean>(source, "managed", "boolean", ""),
    previousVersion: optional<string>(source, "previousVersion", "string", ""),
    vaultUrl: parsed.vaultUrl,
    version: parsed.version,
    name: parsed.name,
    certificateKeyId: optional<string>(source, "kid", "string", ""),
  };
}

/** A SecretBundle as a KeyVaultSecret. */
export function toKeyVaultSecret(body: unknown): KeyVaultSecret {
  const source = asObject(body, "secret bundle");
  const properties = toSecretProperties(source);
  return {
    value: optional<string>(source, "value", "string", ""),
    name: properties.name,
    properties,
  };
}

/** A DeletedSecretBundle or DeletedSecretItem as a DeletedSecret. */
export function toDeletedSecret(body: unknown): DeletedSecret {
  const source = asObject(body, "deleted secret");
  const properties: DeletedSecret["properties"] = toSecretProperties(source);
  const deleted: DeletedSecret = {
    value: optional<string>(source, "value", "string", ""),
    name: properties.name,
    properties,
  };
  const recoveryId = optional<string>(source, "recoveryId", "string", "");
  const scheduledPurgeDate = optionalDate(source, "scheduledPurgeDate", "");
  const deletedOn = optionalDate(source, "deletedDate", "");
  // As 4.x: the deletion fields are own keys (on the secret and on its properties) exactly when
  // the service sent a recovery id, i.e. on a vault with soft delete.
  if (recoveryId) {
    properties.recoveryId = deleted.recoveryId = recoveryId;
    properties.scheduledPurgeDate = deleted.scheduledPurgeDate = scheduledPurgeDate;
    properties.deletedOn = deleted.deletedOn = deletedOn;
  }
  return deleted;
}

/** A SecretItem as SecretProperties. */
export function toSecretItemProperties(item: unknown): SecretProperties {
  return toSecretProperties(asObject(item, "secret item"));
}

/** The writable attributes of set and update, in wire form; undefined when none is given. */
export function toWireAttributes(options: {
  enabled?: boolean;
  notBefore?: Date;
  expiresOn?: Date;
}): SecretAttributesWire | undefined {
  const attributes: SecretAttributesWire = {};
  let any = false;
  if (options.enabled !== undefined) {
    attributes.enabled = options.enabled;
    any = true;
  }
  if (options.notBefore !== undefined) {
    attributes.nbf = toUnixSeconds(options.notBefore, "notBefore");
    any = true;
  }
  if (options.expiresOn !== undefined) {
    attributes.exp = toUnixSeconds(options.expiresOn, "expiresOn");
    any = true;
  }
  return any ? attributes : undefined;
}

function toUnixSeconds(date: Date, name: string): number {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
    throw new TypeError(`${name} must be a valid Date.`);
  }
  return Math.floor(date.getTime() / 1000);
}

/** The body of update: only what the caller gave. */
export function toUpdateBody(options: {
  contentType?: string;
  tags?: Record<string, string>;
  enabled?: boolean;
  notBefore?: Date;
  expiresOn?: Date;
}): SecretUpdateParametersWire {
  const body: SecretUpdateParametersWire = {};
  if (options.contentType !== undefined) body.contentType = options.contentType;
  const attributes = toWireAttributes(options);
  if (attributes !== undefined) body.attributes = attributes;
  if (options.tags !== undefined) body.tags = options.tags;
  return body;
}

/** The body of set: the value, and only the properties the caller gave. */
export function toSetBody(
  value: string,
  options: Parameters<typeof toUpdateBody>[0],
): SecretSetParametersWire {
  return { value, ...toUpdateBody(options) };
}
