/**
 * Compaction of the journal: when it is due, and the rewrite of the journal from a snapshot of
 * the live state (also how a new, empty journal is written).
 */

import type { FileHandle } from "node:fs/promises";
import { encodeLine, headerLine, journalFormatVersion, type JournalRecord } from "./fileFormat.js";
import { replaceFile } from "./privateFiles.js";

/**
 * The journal is rewritten from the live state once its records take more than twice the bytes
 * they took after the last rewrite, and more than this (so small vaults are never rewritten).
 */
const compactMinBytes = 1024 * 1024;

/**
 * Whether the journal is due for a rewrite.
 * @param recordBytes - bytes of records in the journal now
 * @param base - bytes of records right after the last rewrite
 * @returns true once the records take more than twice their base, and more than 1 MiB
 */
export function isCompactionDue(recordBytes: number, base: number): boolean {
  return recordBytes > compactMinBytes && recordBytes > 2 * base;
}

/** Writes a new journal holding `records` in place of the current one; see {@link replaceFile}. */
export async function writeJournal(
  filePath: string,
  records: readonly JournalRecord[],
): Promise<{ handle: FileHandle; size: number; base: number; headerBytes: number }> {
  const body = Buffer.concat(records.map(encodeLine));
  const header = Buffer.from(
    `${headerLine("journal", journalFormatVersion, ` base=${body.length}`)}\n`,
    "latin1",
  );
  const handle = await replaceFile(filePath, Buffer.concat([header, body]));
  return {
    handle,
    size: header.length + body.length,
    base: body.length,
    headerBytes: header.length,
  };
}
