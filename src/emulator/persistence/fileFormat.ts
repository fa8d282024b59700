/**
 * The vault's file formats: the header line every file of the vault starts with, and the journal's
 * checksummed record lines, so that a write torn by a crash is recognised and dropped when the
 * journal is reopened.
 *
 * Journal line format: `crc32 (8 lowercase hex digits of the UTF-8 JSON) TAB json LF`.
 */

import * as zlib from "node:zlib";

/** One record of the journal: an opaque JSON object written by the store. */
export interface JournalRecord {
  /** What the record describes; interpreted only by the store. */
  type: string;
  /** Any further JSON-serialisable fields. */
  [key: string]: unknown;
}

/** Every file of the vault starts with this, then the kind of file and its format version. */
const headerPrefix = "keyvault-secrets local vault";
export const journalFormatVersion = 1;

const crcTable = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) {
      c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    }
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE 802.3), as used by zip and PNG, in JavaScript (for Node.js before 20.15). */
function crc32InScript(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) {
    crc = crcTable[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** CRC-32 (IEEE 802.3); zlib's native one is many times faster, which start-up time needs. */
const crc32: (data: Uint8Array) => number =
  (zlib as { crc32?: (data: Uint8Array) => number }).crc32 ?? crc32InScript;

function checksum(json: Uint8Array): string {
  return crc32(json).toString(16).padStart(8, "0");
}

/** Encodes one record as a journal line (terminated by LF). */
export function encodeLine(record: JournalRecord): Buffer {
  if (record === null || typeof record !== "object" || typeof record.type !== "string") {
    throw new TypeError("A journal record must be an object with a string `type`.");
  }
  // JSON.stringify without indentation never emits a raw LF, so a line holds exactly one record.
  const json = Buffer.from(JSON.stringify(record), "utf8");
  return Buffer.concat([Buffer.from(`${checksum(json)}\t`, "ascii"), json, Buffer.from("\n")]);
}

/** Decodes one line (without its LF); `undefined` when the line is damaged. */
function decodeLine(line: Buffer): JournalRecord | undefined {
  // 8 hex digits, a TAB, then at least "{}".
  if (line.length < 11 || line[8] !== 0x09) {
    return undefined;
  }
  const json = line.subarray(9);
  if (line.subarray(0, 8).toString("latin1") !== checksum(json)) {
    return undefined;
  }
  try {
    const record: unknown = JSON.parse(json.toString("utf8"));
    if (
      record !== null &&
      typeof record === "object" &&
      !Array.isArray(record) &&
      typeof (record as JournalRecord).type === "string"
    ) {
      return record as JournalRecord;
    }
  } catch {
    // A checksum collision on garbage; treated as damage like any other bad line.
  }
  return undefined;
}

/**
 * Parses the journal's records (after its header). Damage after the last good record is a torn
 * tail (a crash in the middle of a write) and is dropped; damage followed by a good record is
 * corruption and is an error.
 */
export function parseJournal(
  content: Buffer,
  headerLength: number,
  filePath: string,
): { records: JournalRecord[]; goodLength: number } {
  const records: JournalRecord[] = [];
  let goodLength = headerLength;
  let firstBadLine: number | undefined;
  let start = headerLength;
  // Line 1 is the header.
  let lineNumber = 1;
  while (start < content.length) {
    lineNumber++;
    const end = content.indexOf(0x0a, start);
    // A last line without its LF was never completely written.
    const record = end === -1 ? undefined : decodeLine(content.subarray(start, end));
    if (record === undefined) {
      firstBadLine ??= lineNumber;
    } else {
      if (firstBadLine !== undefined) {
        throw new Error(
          `The local vault's journal ${filePath} is corrupt at line ${firstBadLine}: the line ` +
            `fails its checksum but later records are intact. Repair or remove the file to continue.`,
        );
      }
      records.push(record);
      goodLength = end + 1;
    }
    if (end === -1) {
      break;
    }
    start = end + 1;
  }
  return { records, goodLength };
}

/** The first line of a vault file of `kind`, without its LF. */
export function headerLine(kind: string, formatVersion: number, extra = ""): string {
  return `${headerPrefix} ${kind} v${formatVersion}${extra}`;
}

/**
 * Checks that `content` starts with the header of a vault file of `kind` in a format this version
 * reads; returns the header's length (with its LF) and its trailing fields.
 */
export function readHeader(
  content: Buffer,
  kind: string,
  formatVersion: number,
  filePath: string,
): { length: number; fields: string } {
  const end = content.indexOf(0x0a);
  const first = end === -1 ? "" : content.subarray(0, Math.min(end, 200)).toString("latin1");
  const match = new RegExp(`^${headerPrefix} ${kind} v(\\d+)(.*)$`).exec(first);
  if (match === null) {
    throw new Error(
      `The local vault refuses ${filePath}: the file is not the vault's own (its first line is ` +
        `not the "${headerPrefix} ${kind}" header), and it is left untouched. Move it away or ` +
        `choose another --location.`,
    );
  }
  if (Number(match[1]) !== formatVersion) {
    throw new Error(
      `The local vault refuses ${filePath}: it is in format v${match[1]}, and this version of ` +
        `the vault reads v${formatVersion} only. The file is left untouched.`,
    );
  }
  return { length: end + 1, fields: match[2] ?? "" };
}
