/**
 * Seed files of the local vault: the JSON format that `--seed` loads and `keyvault-emulator export`
 * writes, its checks, and loading a seed into a store before the vault answers.
 */
import { readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import {
  isServiceDate,
  isValidName,
  maxContentTypeLength,
  maxTagLength,
  maxTags,
  maxValueLength,
} from "../wire/requests.js";
import type { SecretStore } from "./store.js";
import type { SetFields, StoreRecord } from "./storeTypes.js";

/**
 * One version of a secret in a seed file. Entries that share a name (compared without case) are
 * versions of one secret, oldest first; the last one is the current version.
 */
export interface LocalVaultSeedSecret {
  /** Secret name: 1 to 127 letters, digits and dashes. */
  name: string;
  /** The value, at most 25,600 characters. */
  value: string;
  /** Content type, at most 255 characters. */
  contentType?: string;
  /** Up to 15 tags, names and values at most 512 characters. */
  tags?: Record<string, string>;
  /**
   * Whether the version is enabled.
   * @default true
   */
  enabled?: boolean;
  /** Not valid before this time: ISO 8601 with a time zone, e.g. `"2026-01-01T00:00:00Z"`. */
  notBefore?: string;
  /** Expires at this time: ISO 8601 with a time zone, e.g. `"2027-01-01T00:00:00Z"`. */
  expiresOn?: string;
}

/**
 * The content of a seed file (what `keyvault-emulator export` writes and `--seed` reads).
 * @example
 * ```ts
 * const seed: LocalVaultSeed = {
 *   secrets: [
 *     { name: "db-password", value: "old", enabled: false },
 *     { name: "db-password", value: "current", expiresOn: "2027-01-01T00:00:00Z" },
 *   ],
 * };
 * const vault = await startLocalVault({ seed });
 * ```
 */
export interface LocalVaultSeed {
  /** Every version of every secret, oldest version of each name first. */
  secrets: LocalVaultSeedSecret[];
}

/** A seed version checked and converted to what a set request stores (dates in Unix seconds). */
export interface SeedVersion extends SetFields {
  name: string;
}

/** Largest seed file read, in bytes (a full vault of 25,600-character values is far smaller). */
export const maxSeedFileBytes = 64 * 1024 * 1024;

const entryKeys = new Set([
  "name",
  "value",
  "contentType",
  "tags",
  "enabled",
  "notBefore",
  "expiresOn",
]);
/** ISO 8601 date and time with a time zone (`Z` or an offset); fractions of a second allowed. */
const isoDateTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Reads and checks a seed file.
 * @param file - path of the file
 * @returns the versions to load, in file order
 * @throws TypeError naming the file, the entry and the reason when the file cannot be read or is
 *   not a valid seed; secret values are never part of the message
 */
export function readSeedFile(file: string): SeedVersion[] {
  const label = `Seed file "${path.resolve(file)}"`;
  let text: string;
  try {
    // A link is followed (the user named it), but the target must be a plain file of bounded size.
    const target = statSync(file);
    if (!target.isFile()) throw new TypeError("it is not a regular file");
    if (target.size > maxSeedFileBytes) {
      throw new TypeError(`it is larger than ${maxSeedFileBytes} bytes`);
    }
    text = readFileSync(file, "utf8");
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === "ENOENT"
        ? "it does not exist"
        : (error as Error).message;
    throw new TypeError(`${label} cannot be read: ${reason}.`, { cause: error });
  }
  return parseSeed(text, label);
}

/**
 * Parses and checks the text of a seed file.
 * @param text - the JSON text
 * @param label - how messages name the source, e.g. `Seed file "/path/seed.json"`
 * @returns the versions to load, in file order
 * @throws TypeError naming the source, the entry and the reason
 */
export function parseSeed(text: string, label = "Seed"): SeedVersion[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (error) {
    // JSON.parse's message may quote the text around the error, which can be a secret value:
    // only the position is reported.
    const position = /position (\d+)/.exec((error as Error).message)?.[1];
    const where = position === undefined ? "" : ` at ${lineAndColumn(text, Number(position))}`;
    // No `cause` either: it would carry that message along.
    // eslint-disable-next-line preserve-caught-error
    throw new TypeError(`${label} is not valid JSON${where}.`);
  }
  return checkSeed(parsed, label);
}

/**
 * Checks a seed given as an object (the `seed` option of `startLocalVault`).
 * @param seed - the seed
 * @param label - how messages name the source
 * @returns the versions to load, in order
 * @throws TypeError naming the source, the entry and the reason
 */
export function checkSeed(seed: unknown, label = "Seed"): SeedVersion[] {
  if (typeof seed !== "object" || seed === null || Array.isArray(seed)) {
    throw new TypeError(`${label} must be a JSON object with a "secrets" array.`);
  }
  for (const key of Object.keys(seed)) {
    if (key !== "secrets" && key !== "$schema") {
      throw new TypeError(
        `${label} has an unknown property "${printable(key)}"; expected "secrets".`,
      );
    }
  }
  const secrets = (seed as { secrets?: unknown }).secrets;
  if (!Array.isArray(secrets)) {
    throw new TypeError(`${label} must have a "secrets" array.`);
  }
  return secrets.map((entry: unknown, index) => checkEntry(entry, `${label}, entry ${index + 1}`));
}

function checkEntry(entry: unknown, where: string): SeedVersion {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
    throw new TypeError(`${where}: must be an object with "name" and "value".`);
  }
  const fields = entry as Record<string, unknown>;
  const { name } = fields;
  if (typeof name !== "string") {
    throw new TypeError(`${where}: "name" is missing or not a string.`);
  }
  if (!isValidName(name)) {
    throw new TypeError(
      `${where} ("${printable(name)}"): "name" must be 1 to 127 letters, digits and dashes.`,
    );
  }
  const fail = (reason: string): never => {
    throw new TypeError(`${where} ("${name}"): ${reason}`);
  };
  for (const key of Object.keys(fields)) {
    if (!entryKeys.has(key)) {
      fail(`unknown property "${printable(key)}"; expected ${[...entryKeys].join(", ")}.`);
    }
  }
  const { value, contentType, tags, enabled, notBefore, expiresOn } = fields;
  if (typeof value !== "string") fail(`"value" is missing or not a string.`);
  if ((value as string).length > maxValueLength) {
    fail(`"value" is longer than ${maxValueLength} characters.`);
  }
  const version: SeedVersion = { name, value: value as string };
  if (contentType !== undefined) {
    if (typeof contentType !== "string" || contentType.length > maxContentTypeLength) {
      fail(`"contentType" must be a string of at most ${maxContentTypeLength} characters.`);
    }
    version.contentType = contentType as string;
  }
  if (tags !== undefined) version.tags = checkTags(tags, fail);
  if (enabled !== undefined) {
    if (typeof enabled !== "boolean") fail(`"enabled" must be true or false.`);
    version.enabled = enabled as boolean;
  }
  if (notBefore !== undefined) version.nbf = checkDate("notBefore", notBefore, fail);
  if (expiresOn !== undefined) version.exp = checkDate("expiresOn", expiresOn, fail);
  return version;
}

function checkTags(tags: unknown, fail: (reason: string) => never): Record<string, string> {
  if (typeof tags !== "object" || tags === null || Array.isArray(tags)) {
    fail(`"tags" must be an object of string values.`);
  }
  const entries = Object.entries(tags as object);
  if (entries.length > maxTags) fail(`"tags" has ${entries.length} tags; at most ${maxTags}.`);
  for (const [key, value] of entries) {
    if (typeof value !== "string") fail(`tag "${printable(key)}" must have a string value.`);
    if (key.length > maxTagLength || (value as string).length > maxTagLength) {
      fail(`tag "${printable(key)}": names and values are at most ${maxTagLength} characters.`);
    }
  }
  // fromEntries defines own properties, so a tag named "__proto__" stays a tag.
  return Object.fromEntries(entries) as Record<string, string>;
}

function checkDate(field: string, text: unknown, fail: (reason: string) => never): number {
  const ms = typeof text === "string" && isoDateTime.test(text) ? Date.parse(text) : NaN;
  // The service keeps whole seconds.
  const seconds = Math.floor(ms / 1000);
  if (!isServiceDate(seconds)) {
    fail(
      `"${field}" must be an ISO 8601 date and time with a time zone, from 1970 to 9999 in UTC, such as "2026-01-01T00:00:00Z".`,
    );
  }
  return seconds;
}

/**
 * Converts a date to a seed date.
 * @param date - the date
 * @returns the ISO 8601 text, in whole seconds; undefined for a date that a seed cannot hold
 * (outside 1970 to 9999, or invalid), which the vault refuses and an older vault may have kept
 */
export function seedDate(date: Date): string | undefined {
  const seconds = Math.floor(date.getTime() / 1000);
  if (!isServiceDate(seconds)) return undefined;
  return new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
}

function lineAndColumn(text: string, position: number): string {
  const before = text.slice(0, position);
  const line = before.split("\n").length;
  const column = position - before.lastIndexOf("\n");
  return `line ${line}, column ${column}`;
}

/** A name or key for a message: bounded, control characters shown as `?`. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, "?");
  return clean.length > 60 ? `${clean.slice(0, 57)}...` : clean;
}

/** What loading a seed did. */
export interface SeedResult {
  /** Versions added. */
  added: number;
  /** Names left as they were because the vault already held them (active or deleted). */
  kept: string[];
}

/**
 * Loads checked seed versions into a store. A name the vault already holds (from `location`,
 * active or deleted) is left untouched, so restarting a persisted vault with the same seed adds
 * nothing twice; new names in the file are added.
 * @param store - the vault's store
 * @param versions - the versions from {@link readSeedFile} or {@link checkSeed}
 * @param persist - makes each change durable (undefined without a journal)
 * @returns what was added and kept
 */
export async function loadSeed(
  store: Pick<SecretStore, "exportSecret" | "getDeleted" | "set">,
  versions: SeedVersion[],
  persist: ((record: StoreRecord) => Promise<void>) | undefined,
): Promise<SeedResult> {
  const kept = new Map<string, string>();
  const seen = new Set<string>();
  for (const version of versions) {
    const key = version.name.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    if (holds(store, version.name)) kept.set(key, version.name);
  }
  // The versions of one name are created a second apart, ending now: the service lists versions
  // by id, so creation times are what keeps their order (in an export, for one).
  const remaining = new Map<string, number>();
  for (const { name } of versions) {
    const key = name.toLowerCase();
    remaining.set(key, (remaining.get(key) ?? 0) + 1);
  }
  let added = 0;
  for (const { name, ...fields } of versions) {
    const key = name.toLowerCase();
    const later = (remaining.get(key) ?? 1) - 1;
    remaining.set(key, later);
    if (kept.has(key)) continue;
    const mutation = store.set(name, fields, later);
    await persist?.(mutation.record);
    added += 1;
  }
  return { added, kept: [...kept.values()] };
}

function holds(store: Pick<SecretStore, "exportSecret" | "getDeleted">, name: string): boolean {
  for (const read of [() => store.exportSecret(name), () => store.getDeleted(name)]) {
    try {
      read();
      return true;
    } catch (error) {
      // Not found (404) means the vault does not hold it; a deleted secret that was disabled
      // cannot be read (403) but is held; anything else is a real failure.
      const status = (error as { status?: unknown }).status;
      if (status === 403) return true;
      if (status !== 404) throw error;
    }
  }
  return false;
}
