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
  const properties: {
    -readonly [K in keyof SecretProperties]: SecretProperties[K];
  } = { vaultUrl: parsed.vaultUrl, name: parsed.name, id };
  if (parsed.version !== undefined) properties.version = parsed.version;

  const contentType = optional<string>(source, "contentType", "string", "");
  if (contentType !== undefined) properties.contentType = contentType;
  const tags = tagsOf(source);
  if (tags !== undefined) properties.tags = tags;
  const kid = optional<string>(source, "kid", "string", "");
  if (kid !== undefined) properties.certificateKeyId = kid;
  const managed = optional<boolean>(source, "managed", "boolean", "");
  if (managed !== undefined) properties.managed = managed;
  const previousVersion = optional<string>(source, "previousVersion", "string", "");
  if (previousVersion !== undefined) properties.previousVersion = previousVersion;

  const rawAttributes = source.attributes;
  if (rawAttributes !== undefined && rawAttributes !== null) {
    if (!isRecord(rawAttributes)) throw new ResponseShapeError(`"attributes" is not an object.`);
    const p = "attributes.";
    const enabled = optional<boolean>(rawAttributes, "enabled", "boolean", p);
    if (enabled !== undefined) properties.enabled = enabled;
    const notBefore = optionalDate(rawAttributes, "nbf", p);
    if (notBefore !== undefined) properties.notBefore = notBefore;
    const expiresOn = optionalDate(rawAttributes, "exp", p);
    if (expiresOn !== undefined) properties.expiresOn = expiresOn;
    const createdOn = optionalDate(rawAttributes, "created", p);
    if (createdOn !== undefined) properties.createdOn = createdOn;
    const updatedOn = optionalDate(rawAttributes, "updated", p);
    if (updatedOn !== undefined) properties.updatedOn = updatedOn;
    const recoveryLevel = optional<string>(rawAttributes, "recoveryLevel", "string", p);
    if (recoveryLevel !== undefined) properties.recoveryLevel = recoveryLevel;
    const recoverableDays = optional<number>(rawAttributes, "recoverableDays", "number", p);
    if (recoverableDays !== undefined) properties.recoverableDays = recoverableDays;
  }
  return properties;
}

/** A SecretBundle as a KeyVaultSecret. */
export function toKeyVaultSecret(body: unknown): KeyVaultSecret {
  const source = asObject(body, "secret bundle");
  const properties = toSecretProperties(source);
  const secret: KeyVaultSecret = { name: properties.name, properties };
  const value = optional<string>(source, "value", "string", "");
  if (value !== undefined) secret.value = value;
  return secret;
}

/** A DeletedSecretBundle or DeletedSecretItem as a DeletedSecret. */
export function toDeletedSecret(body: unknown): DeletedSecret {
  const source = asObject(body, "deleted secret");
  const properties: DeletedSecret["properties"] = toSecretProperties(source);
  const deleted: DeletedSecret = { name: properties.name, properties };
  const value = optional<string>(source, "value", "string", "");
  if (value !== undefined) deleted.value = value;
  const recoveryId = optional<string>(source, "recoveryId", "string", "");
  if (recoveryId !== undefined) deleted.recoveryId = properties.recoveryId = recoveryId;
  const deletedOn = optionalDate(source, "deletedDate", "");
  if (deletedOn !== undefined) deleted.deletedOn = properties.deletedOn = deletedOn;
  const scheduledPurgeDate = optionalDate(source, "scheduledPurgeDate", "");
  if (scheduledPurgeDate !== undefined) {
    deleted.scheduledPurgeDate = properties.scheduledPurgeDate = scheduledPurgeDate;
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
