/**
 * Reading and checking request bodies against the service's limits, with its messages.
 */
import type { SecretAttributesWire } from "../../api/wireTypes.js";
import {
  bodyNotJson,
  bodyNotObject,
  invalidProperty,
  missingValue,
  valueTooLong,
} from "./errors.js";
import type { SetFields, UpdateFields } from "../state/storeTypes.js";

/** Longest secret value the service accepts, in characters. */
export const maxValueLength = 25600;
/** Longest `contentType`. */
export const maxContentTypeLength = 255;
/** Most tags per secret. */
export const maxTags = 15;
/** Longest tag name or value. */
export const maxTagLength = 512;
/** Longest secret name. */
export const maxNameLength = 127;

/**
 * Latest `nbf`/`exp` the vault accepts: 9999-12-31T23:59:59Z, in Unix seconds. Source: the wire
 * facts are silent on the service's range; the REST spec types both as Unix seconds (`unixtime`),
 * and the service takes and lists an expiry of 9999-12-31 23:59:59 (Azure/azure-powershell#13469),
 * the last second of the four-digit ISO 8601 years that seed files (and .NET's DateTime) hold.
 * The vault refuses later dates (an `exp` of 1e13 is no JavaScript date at all, and blanked the
 * page) with the answer the facts record for other property values the service cannot take: 400
 * `BadParameter` `Property has invalid value`.
 */
export const latestDateSeconds = 253_402_300_799;

const namePattern = /^[0-9a-zA-Z-]+$/;

/**
 * Whether a date is one the vault accepts: whole Unix seconds from 1970 to the end of 9999.
 * @param seconds - the date, in Unix seconds
 * @returns true when valid
 */
export function isServiceDate(seconds: unknown): seconds is number {
  return (
    typeof seconds === "number" &&
    Number.isInteger(seconds) &&
    seconds >= 0 &&
    seconds <= latestDateSeconds
  );
}

/**
 * Whether a secret name is one the service accepts.
 * @param name - the decoded name
 * @returns true when valid
 */
export function isValidName(name: string): boolean {
  return name.length >= 1 && name.length <= maxNameLength && namePattern.test(name);
}

/**
 * Parses a JSON request body.
 * @param text - the raw body
 * @returns the object it holds
 * @throws VaultError 400 `BadParameter` when it is not a JSON object
 */
export function parseJsonObject(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw bodyNotJson();
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw bodyNotObject();
  }
  return parsed as Record<string, unknown>;
}

/**
 * Checks the body of a set request.
 * @param body - the parsed body
 * @returns the fields to store
 * @throws VaultError 400 for a missing value or a limit exceeded
 */
export function readSetBody(body: Record<string, unknown>): SetFields {
  const { value } = body;
  if (value === undefined || value === null) throw missingValue();
  if (typeof value !== "string") throw invalidProperty();
  if (value.length > maxValueLength) throw valueTooLong(maxValueLength);
  return { value, ...readUpdateBody(body) };
}

/**
 * Checks the body of an update request (a `value` in it is ignored: it cannot change).
 * @param body - the parsed body
 * @returns the fields to change
 * @throws VaultError 400 when a limit is exceeded
 */
export function readUpdateBody(body: Record<string, unknown>): UpdateFields {
  const fields: UpdateFields = {};
  const { contentType, tags, attributes } = body;
  if (contentType !== undefined && contentType !== null) {
    if (typeof contentType !== "string" || contentType.length > maxContentTypeLength) {
      throw invalidProperty();
    }
    fields.contentType = contentType;
  }
  if (tags !== undefined && tags !== null) fields.tags = readTags(tags);
  if (attributes !== undefined && attributes !== null) {
    if (typeof attributes !== "object" || Array.isArray(attributes)) throw invalidProperty();
    const { enabled, nbf, exp } = attributes as SecretAttributesWire;
    if (enabled !== undefined && enabled !== null) {
      if (typeof enabled !== "boolean") throw invalidProperty();
      fields.enabled = enabled;
    }
    if (nbf !== undefined && nbf !== null) fields.nbf = readDate(nbf);
    if (exp !== undefined && exp !== null) fields.exp = readDate(exp);
  }
  return fields;
}

/**
 * Checks the body of a restore request.
 * @param body - the parsed body
 * @returns the blob
 * @throws VaultError 400 when `value` is missing
 */
export function readRestoreBody(body: Record<string, unknown>): string {
  const { value } = body;
  if (typeof value !== "string" || value === "") throw missingValue();
  return value;
}

function readTags(tags: unknown): Record<string, string> {
  if (typeof tags !== "object" || tags === null || Array.isArray(tags)) throw invalidProperty();
  const entries = Object.entries(tags);
  if (entries.length > maxTags) throw invalidProperty();
  const result: Record<string, string> = {};
  for (const [name, value] of entries) {
    if (typeof value !== "string" || name.length > maxTagLength || value.length > maxTagLength) {
      throw invalidProperty();
    }
    // Any string is a tag name, `__proto__` and `constructor` included: an own property each.
    Object.defineProperty(result, name, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return result;
}

function readDate(value: unknown): number {
  if (!isServiceDate(value)) throw invalidProperty();
  return value;
}
