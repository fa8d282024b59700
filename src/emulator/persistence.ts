/**
 * The local vault's durable journal: an append-only file of JSON records, each line guarded by a
 * checksum so that a write torn by a crash is recognised and dropped when the journal is reopened.
 *
 * Line format: `crc32 (8 lowercase hex digits of the UTF-8 JSON) TAB json LF`.
 */

import { randomBytes } from "node:crypto";
import { promises as fs, constants as fsConstants } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import * as path from "node:path";

/** One record of the journal: an opaque JSON object written by the store. */
export interface JournalRecord {
  /** What the record describes; interpreted only by the store. */
  type: string;
  /** Any further JSON-serialisable fields. */
  [key: string]: unknown;
}

/**
 * An append-only, durable journal of store records, opened with {@link openJournal}.
 */
export interface Journal {
  /** Every record appended before this open, in order (complete records only). */
  readonly records: readonly JournalRecord[];
  /**
   * Appends a record; resolves once it is durable on disk (fdatasync). Concurrent appends are
   * group-committed: one write and one sync for all records waiting. Appends resolve in order.
   * @param record - the record; must be JSON-serialisable
   */
  append(record: JournalRecord): Promise<void>;
  /** Flushes pending appends and closes the journal. Further appends reject. */
  close(): Promise<void>;
}

/** Name of the journal file inside the vault's directory. */
const journalFileName = "journal.log";
/** Name of the lock file (holding the owner's pid) inside the vault's directory. */
const lockFileName = "journal.lock";

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

/** CRC-32 (IEEE 802.3), as used by zip and PNG. */
function crc32(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) {
    crc = crcTable[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function checksum(json: Uint8Array): string {
  return crc32(json).toString(16).padStart(8, "0");
}

/** Encodes one record as a journal line (terminated by LF). */
function encodeLine(record: JournalRecord): Buffer {
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
 * Parses the journal's content. Damage after the last good record is a torn tail (a crash in the
 * middle of a write) and is dropped; damage followed by a good record is corruption and is an error.
 */
function parseJournal(
  content: Buffer,
  filePath: string,
): { records: JournalRecord[]; goodLength: number } {
  const records: JournalRecord[] = [];
  let goodLength = 0;
  let firstBadLine: number | undefined;
  let start = 0;
  let lineNumber = 0;
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

function isErrnoException(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return !isErrnoException(error, "ESRCH");
  }
}

/** Takes the directory's lock file, taking over a lock left by a process that no longer runs. */
async function acquireLock(lockPath: string, directory: string): Promise<void> {
  // The lock appears with its content at once (written aside, then linked), so a reader never
  // mistakes a lock being written for an empty, stale one.
  const candidate = `${lockPath}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  await fs.writeFile(candidate, `${process.pid}\n`);
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await fs.link(candidate, lockPath);
        return;
      } catch (error) {
        if (!isErrnoException(error, "EEXIST")) {
          throw error;
        }
      }
      await removeStaleLock(lockPath, directory);
    }
  } finally {
    await fs.rm(candidate, { force: true });
  }
  throw new Error(
    `Could not take the lock ${lockPath}: another process keeps taking it. Choose another location.`,
  );
}

/** Removes the lock when its process no longer runs; throws when it does. */
async function removeStaleLock(lockPath: string, directory: string): Promise<void> {
  let owner: number;
  try {
    owner = Number.parseInt((await fs.readFile(lockPath, "utf8")).trim(), 10);
  } catch (error) {
    if (!isErrnoException(error, "ENOENT")) {
      throw error;
    }
    return; // released in the meantime
  }
  if (Number.isInteger(owner) && owner > 0 && (owner === process.pid || isProcessAlive(owner))) {
    throw new Error(
      `The local vault directory ${directory} is in use by process ${owner}` +
        `${owner === process.pid ? " (this process)" : ""}. Stop that vault or choose another location.`,
    );
  }
  // Stale (its process is gone) or unreadable: take it over.
  await fs.rm(lockPath, { force: true });
}

async function syncDirectory(directory: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await fs.open(directory, fsConstants.O_RDONLY);
    await handle.sync();
  } catch {
    // Some platforms (Windows) cannot open or sync a directory; the file's own sync still holds.
  } finally {
    await handle?.close();
  }
}

interface PendingAppend {
  line: Buffer;
  resolve: () => void;
  reject: (error: Error) => void;
}

class FileJournal implements Journal {
  private pending: PendingAppend[] = [];
  private flushing: Promise<void> | undefined;
  private closed = false;
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    readonly records: readonly JournalRecord[],
    private readonly handle: FileHandle,
    private readonly lockPath: string,
  ) {}

  append(record: JournalRecord): Promise<void> {
    if (this.closed) {
      return Promise.reject(new Error("The journal is closed."));
    }
    if (this.failure) {
      return Promise.reject(this.failure);
    }
    let line: Buffer;
    try {
      line = encodeLine(record);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new TypeError(String(error)));
    }
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ line, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  /** Writes and syncs batches until nothing waits: each batch is one write and one sync. */
  private async flush(): Promise<void> {
    // Let the appends issued in the same tick join the first batch.
    await Promise.resolve();
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      try {
        if (this.failure) {
          throw this.failure;
        }
        const data = Buffer.concat(batch.map((item) => item.line));
        let written = 0;
        while (written < data.length) {
          const { bytesWritten } = await this.handle.write(data, written, data.length - written);
          written += bytesWritten;
        }
        await this.handle.datasync();
        for (const item of batch) {
          item.resolve();
        }
      } catch (error) {
        // What reached the disk is unknown: refuse every later append rather than leave a gap.
        this.failure ??= new Error(
          `The local vault's journal could not be written: ${(error as Error).message}`,
          { cause: error },
        );
        for (const item of batch) {
          item.reject(this.failure);
        }
      }
    }
    this.flushing = undefined;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      while (this.flushing) {
        await this.flushing;
      }
      await this.handle.close();
      await fs.rm(this.lockPath, { force: true });
    })();
    return this.closing;
  }
}

/**
 * Opens the journal in `directory` (created when missing), reads every complete record and takes
 * the directory's lock so that no other vault writes there until {@link Journal.close}.
 *
 * A record torn by a crash at the end of the file is dropped (and the file truncated to the last
 * complete record); a damaged record followed by intact ones is reported as corruption.
 *
 * @param directory - directory holding the journal and its lock file
 * @returns the opened journal with the records found
 * @throws Error when another live process holds the directory or the journal is corrupt
 * @example
 * ```ts
 * const journal = await openJournal("./vault-data");
 * await journal.append({ type: "set", name: "greeting" });
 * await journal.close();
 * ```
 */
export async function openJournal(directory: string): Promise<Journal> {
  const root = path.resolve(directory);
  await fs.mkdir(root, { recursive: true });
  const lockPath = path.join(root, lockFileName);
  await acquireLock(lockPath, root);
  let handle: FileHandle | undefined;
  try {
    const filePath = path.join(root, journalFileName);
    let content: Buffer;
    let created = false;
    try {
      content = await fs.readFile(filePath);
    } catch (error) {
      if (!isErrnoException(error, "ENOENT")) {
        throw error;
      }
      content = Buffer.alloc(0);
      created = true;
    }
    const { records, goodLength } = parseJournal(content, filePath);
    handle = await fs.open(filePath, "a");
    if (goodLength < content.length) {
      await handle.truncate(goodLength);
      await handle.datasync();
    }
    if (created) {
      await syncDirectory(root);
    }
    return new FileJournal(Object.freeze(records), handle, lockPath);
  } catch (error) {
    await handle?.close();
    await fs.rm(lockPath, { force: true });
    throw error;
  }
}
