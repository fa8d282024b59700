/**
 * The vault's state file: its keys, identity header and certificates, kept apart from the journal.
 */

import * as path from "node:path";
import { headerLine, readHeader } from "./fileFormat.js";
import { locationError, openExistingFile, replaceFile } from "./privateFiles.js";

/** Name of the file that keeps the vault's keys and certificates, apart from the journal. */
const stateFileName = "state";
const stateFileFormatVersion = 1;

/**
 * Reads the vault's state file (keys, identity header, certificates): a header line, then one JSON
 * line. Owner-only like every file of the vault.
 * @param directory - the vault's directory (already prepared by `openJournal`)
 * @returns the JSON value, or `undefined` when there is no state file yet
 * @throws Error for a link, a foreign file or a file that does not parse
 */
export async function readStateFile(directory: string): Promise<unknown> {
  const filePath = path.join(path.resolve(directory), stateFileName);
  const handle = await openExistingFile(filePath);
  if (handle === undefined) return undefined;
  let content: Buffer;
  try {
    content = await handle.readFile();
  } finally {
    await handle.close();
  }
  const header = readHeader(content, stateFileName, stateFileFormatVersion, filePath);
  try {
    return JSON.parse(content.subarray(header.length).toString("utf8")) as unknown;
  } catch {
    throw new Error(
      `The local vault's state file ${filePath} is damaged (its JSON does not parse). Restore ` +
        `it from a copy or remove it (the vault then makes new keys).`,
    );
  }
}

/**
 * Replaces the vault's state file atomically (owner-only, never through a link).
 * @param directory - the vault's directory
 * @param value - a JSON-serialisable value
 */
export async function writeStateFile(directory: string, value: unknown): Promise<void> {
  const root = path.resolve(directory);
  const content = Buffer.from(
    `${headerLine(stateFileName, stateFileFormatVersion)}\n${JSON.stringify(value)}\n`,
    "utf8",
  );
  try {
    await (await replaceFile(path.join(root, stateFileName), content)).close();
  } catch (error) {
    throw locationError(root, error);
  }
}
