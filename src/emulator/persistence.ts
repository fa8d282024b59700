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
import * as zlib from "node:zlib";

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
  /** The vault's directory (absolute). */
  readonly directory: string;
  /** Bytes in the journal file now. */
  readonly size: number;
  /**
   * Appends a record; resolves once it is durable on disk (fdatasync). Concurrent appends are
   * group-committed: one write and one sync for all records waiting. Appends resolve in order.
   * @param record - the record; must be JSON-serialisable
   * @param onDurable - called synchronously once the record is durable, before any later record
   *   is written or the journal is rewritten (the place to make the change visible to readers)
   */
  append(record: JournalRecord, onDurable?: () => void): Promise<void>;
  /**
   * Hands the journal the live state, as records that rebuild it: from now on the journal is
   * rewritten from it atomically whenever its records take more than twice their size after the
   * last rewrite (and more than 1 MiB), checked now and after every batch, so the file's size
   * follows the live data. The snapshot must describe
   * exactly the records reported durable so far.
   * @param snapshot - returns records that rebuild the live state from nothing
   * @returns a promise that resolves once a rewrite due now is done
   */
  compactFrom(snapshot: () => readonly JournalRecord[]): Promise<void>;
  /** Flushes pending appends and closes the journal. Further appends reject. */
  close(): Promise<void>;
}

/** Name of the journal file inside the vault's directory. */
const journalFileName = "journal.log";
/** Name of the lock file (holding the owner's pid) inside the vault's directory. */
const lockFileName = "journal.lock";
/** Files the vault creates are its owner's alone, whatever the umask. */
const privateFileMode = 0o600;
/** A directory the vault creates is its owner's alone. */
const privateDirectoryMode = 0o700;
/** `O_NOFOLLOW` where the platform has it (not on Windows, which has no such links to plant). */
const noFollow = fsConstants.O_NOFOLLOW ?? 0;
/** Opening a planted FIFO must not block the start. */
const noBlock = fsConstants.O_NONBLOCK ?? 0;
/** Every file of the vault starts with this, then the kind of file and its format version. */
const headerPrefix = "keyvault-secrets local vault";
const journalFormatVersion = 1;
const stateFileFormatVersion = 1;
/**
 * The journal is rewritten from the live state once its records take more than twice the bytes
 * they took after the last rewrite, and more than this (so small vaults are never rewritten).
 */
const compactMinBytes = 1024 * 1024;

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
 * Parses the journal's records (after its header). Damage after the last good record is a torn
 * tail (a crash in the middle of a write) and is dropped; damage followed by a good record is
 * corruption and is an error.
 */
function parseJournal(
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
function headerLine(kind: string, formatVersion: number, extra = ""): string {
  return `${headerPrefix} ${kind} v${formatVersion}${extra}`;
}

/**
 * Checks that `content` starts with the header of a vault file of `kind` in a format this version
 * reads; returns the header's length (with its LF) and its trailing fields.
 */
function readHeader(
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

function isErrnoException(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

const locationProblems: Record<string, string> = {
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "the file system is read-only",
  ENOTDIR: "a part of the path is not a directory",
  EEXIST: "a part of the path is not a directory",
  ENOSPC: "no space is left on the device",
  EDQUOT: "the disk quota is exhausted",
};

/**
 * The error for a location the vault cannot create or write: it names the option and the
 * directory, never one of the vault's temporary files.
 */
function locationError(root: string, error: unknown): Error {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const problem =
    (code === undefined ? undefined : locationProblems[code]) ?? code ?? "unknown error";
  return new Error(
    `The local vault cannot write to its directory ${root} (the --location flag, or the ` +
      `location option): ${problem}. Choose a directory it can create and write to.`,
    { cause: error },
  );
}

function linkRefused(filePath: string): Error {
  return new Error(
    `The local vault refuses ${filePath}: it is a symbolic link, and the vault never follows ` +
      `links it did not create. The link and its target are left untouched; remove the link or ` +
      `choose another --location.`,
  );
}

/**
 * Makes sure the vault's directory exists: created owner-only (0700) when missing; an existing one
 * must be a real directory, not a link to one.
 */
async function prepareDirectory(root: string): Promise<void> {
  let stats;
  try {
    stats = await fs.lstat(root);
  } catch (error) {
    if (!isErrnoException(error, "ENOENT")) {
      throw locationError(root, error);
    }
    try {
      await fs.mkdir(root, { recursive: true, mode: privateDirectoryMode });
      // mkdir's mode is filtered by the umask; the directory's own mode must not be.
      await fs.chmod(root, privateDirectoryMode);
    } catch (mkdirError) {
      throw locationError(root, mkdirError);
    }
    return;
  }
  if (stats.isSymbolicLink()) {
    throw new Error(
      `The local vault refuses the directory ${root}: it is a symbolic link, and the vault never ` +
        `follows links it did not create. Give the real directory as --location.`,
    );
  }
  if (!stats.isDirectory()) {
    throw locationError(root, Object.assign(new Error("not a directory"), { code: "ENOTDIR" }));
  }
}

/** Creates `filePath` exclusively (never through a link), owner-only, for reading and appending. */
async function createPrivateFile(filePath: string): Promise<FileHandle> {
  const flags =
    fsConstants.O_RDWR | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_APPEND | noFollow;
  const handle = await fs.open(filePath, flags, privateFileMode);
  try {
    await handle.chmod(privateFileMode);
  } catch (error) {
    await handle.close();
    throw error;
  }
  return handle;
}

/**
 * Opens an existing vault file for reading and appending, without following a link and without
 * blocking on a planted FIFO; `undefined` when it does not exist. Anything but a regular file is
 * refused, and a file others could read is made owner-only.
 */
async function openExistingFile(filePath: string): Promise<FileHandle | undefined> {
  let handle: FileHandle;
  try {
    handle = await fs.open(
      filePath,
      fsConstants.O_RDWR | fsConstants.O_APPEND | noFollow | noBlock,
    );
  } catch (error) {
    if (isErrnoException(error, "ENOENT")) return undefined;
    // Linux answers ELOOP for a final link under O_NOFOLLOW; some BSDs EMLINK.
    if (isErrnoException(error, "ELOOP") || isErrnoException(error, "EMLINK")) {
      throw linkRefused(filePath);
    }
    // A link to a directory, a socket, ...: check what it is without following it.
    const stats = await fs.lstat(filePath).catch(() => undefined);
    if (stats?.isSymbolicLink()) throw linkRefused(filePath);
    throw error;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      throw new Error(
        `The local vault refuses ${filePath}: it is not a regular file, and it is left untouched.`,
      );
    }
    if ((stats.mode & 0o077) !== 0) {
      await handle.chmod(privateFileMode);
    }
    return handle;
  } catch (error) {
    await handle.close();
    throw error;
  }
}

async function writeAll(handle: FileHandle, data: Buffer): Promise<void> {
  let written = 0;
  while (written < data.length) {
    const { bytesWritten } = await handle.write(data, written, data.length - written);
    written += bytesWritten;
  }
}

/** A fresh name for a file written aside before it is renamed into place. */
function temporaryPath(filePath: string): string {
  return `${filePath}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
}

/** Temporary files of an interrupted rewrite (never the lock's, which another process may own). */
const temporaryNamePattern = /^(journal\.log|state)\.\d+\.[0-9a-f]{8}\.tmp$/;

async function removeLeftoverTemporaries(root: string): Promise<void> {
  for (const name of await fs.readdir(root)) {
    if (temporaryNamePattern.test(name)) {
      // rm removes a link itself, never its target.
      await fs.rm(path.join(root, name), { force: true });
    }
  }
}

/**
 * Writes `content` to `filePath` atomically: aside (owner-only, created exclusively), synced, then
 * renamed into place (which replaces a link rather than following it) and the directory synced.
 * @returns the handle of the new file, open for appending
 */
async function replaceFile(filePath: string, content: Buffer): Promise<FileHandle> {
  const temporary = temporaryPath(filePath);
  const handle = await createPrivateFile(temporary);
  try {
    await writeAll(handle, content);
    await handle.sync();
    await fs.rename(temporary, filePath);
  } catch (error) {
    await handle.close();
    await fs.rm(temporary, { force: true });
    throw error;
  }
  await syncDirectory(path.dirname(filePath));
  return handle;
}

/** Name of the file that keeps the vault's keys and certificates, apart from the journal. */
const stateFileName = "state";

/**
 * Reads the vault's state file (keys, identity header, certificates): a header line, then one JSON
 * line. Owner-only like every file of the vault.
 * @param directory - the vault's directory (already prepared by {@link openJournal})
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

/**
 * Writes a file the vault hands to others (the CA certificate) atomically and owner-only, never
 * through a link planted at `filePath`.
 * @param filePath - where to write
 * @param content - the file's content
 */
export async function writePrivateFile(filePath: string, content: string): Promise<void> {
  await (await replaceFile(path.resolve(filePath), Buffer.from(content, "utf8"))).close();
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
  const candidate = temporaryPath(lockPath);
  try {
    const handle = await createPrivateFile(candidate);
    try {
      await writeAll(handle, Buffer.from(`${process.pid}\n`));
    } finally {
      await handle.close();
    }
  } catch (error) {
    await fs.rm(candidate, { force: true });
    throw locationError(directory, error);
  }
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        // link() never follows a link planted at lockPath: it fails with EEXIST.
        await fs.link(candidate, lockPath);
        return;
      } catch (error) {
        if (!isErrnoException(error, "EEXIST")) {
          throw locationError(directory, error);
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
    const handle = await fs.open(lockPath, fsConstants.O_RDONLY | noFollow | noBlock);
    try {
      owner = Number.parseInt((await handle.readFile("utf8")).trim(), 10);
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (isErrnoException(error, "ENOENT")) {
      return; // released in the meantime
    }
    // A link or something unreadable planted as the lock: never a live vault's lock.
    owner = Number.NaN;
  }
  if (Number.isInteger(owner) && owner > 0 && (owner === process.pid || isProcessAlive(owner))) {
    throw new Error(
      `The local vault directory ${directory} is in use by process ${owner}` +
        `${owner === process.pid ? " (this process)" : ""}. Stop that vault or choose another location.`,
    );
  }
  // Stale (its process is gone) or unreadable: take it over (rm removes a link, not its target).
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

/** Writes a new journal holding `records` in place of the current one; see {@link replaceFile}. */
async function writeJournal(
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

interface PendingAppend {
  line: Buffer;
  onDurable: (() => void) | undefined;
  resolve: () => void;
  reject: (error: Error) => void;
}

class FileJournal implements Journal {
  private pending: PendingAppend[] = [];
  private flushing: Promise<void> | undefined;
  private closed = false;
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;
  private snapshot: (() => readonly JournalRecord[]) | undefined;
  private compactionWaiters: Array<() => void> | undefined;

  constructor(
    readonly records: readonly JournalRecord[],
    readonly directory: string,
    private handle: FileHandle,
    private bytes: number,
    /** Bytes of records right after the last rewrite. */
    private base: number,
    private headerBytes: number,
    private readonly lockPath: string,
  ) {}

  get size(): number {
    return this.bytes;
  }

  append(record: JournalRecord, onDurable?: () => void): Promise<void> {
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
      this.pending.push({ line, onDurable, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  compactFrom(snapshot: () => readonly JournalRecord[]): Promise<void> {
    this.snapshot = snapshot;
    if (this.closed || !this.dueForCompaction()) {
      return Promise.resolve();
    }
    return this.requestCompaction();
  }

  private dueForCompaction(): boolean {
    const recordBytes = this.bytes - this.headerBytes;
    return (
      this.snapshot !== undefined &&
      this.failure === undefined &&
      recordBytes > compactMinBytes &&
      recordBytes > 2 * this.base
    );
  }

  private requestCompaction(): Promise<void> {
    return new Promise<void>((resolve) => {
      (this.compactionWaiters ??= []).push(resolve);
      this.flushing ??= this.flush();
    });
  }

  /**
   * Rewrites the journal from the snapshot. Runs between batches, when every record written so
   * far has been reported durable (`onDurable`) and no other is: the snapshot describes exactly
   * the records it replaces.
   */
  private async compact(): Promise<void> {
    const waiters = this.compactionWaiters ?? [];
    this.compactionWaiters = undefined;
    try {
      if (this.snapshot === undefined || this.failure !== undefined) return;
      const rewritten = await writeJournal(
        path.join(this.directory, journalFileName),
        this.snapshot(),
      );
      const old = this.handle;
      this.handle = rewritten.handle;
      this.bytes = rewritten.size;
      this.base = rewritten.base;
      this.headerBytes = rewritten.headerBytes;
      await old.close();
    } catch {
      // The old journal is intact and stays in use; try again once it has doubled once more.
      this.base = Math.max(this.base, this.bytes - this.headerBytes);
    } finally {
      for (const resolve of waiters) resolve();
    }
  }

  /** Writes and syncs batches until nothing waits: each batch is one write and one sync. */
  private async flush(): Promise<void> {
    // Let the appends issued in the same tick join the first batch.
    await Promise.resolve();
    while (this.pending.length > 0 || this.compactionWaiters !== undefined) {
      if (this.compactionWaiters !== undefined) {
        await this.compact();
        continue;
      }
      const batch = this.pending;
      this.pending = [];
      try {
        if (this.failure) {
          throw this.failure;
        }
        const data = Buffer.concat(batch.map((item) => item.line));
        await writeAll(this.handle, data);
        await this.handle.datasync();
        this.bytes += data.length;
        for (const item of batch) {
          item.onDurable?.();
        }
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
      if (this.dueForCompaction()) {
        this.compactionWaiters ??= [];
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
 * Opens the journal in `directory` (created owner-only when missing), reads every complete record
 * and takes the directory's lock so that no other vault writes there until {@link Journal.close}.
 *
 * Every file is created 0600 (the directory 0700), opened without following links, and starts with
 * a header naming it as the vault's: a link, a foreign file or a file of another format is refused
 * with an error naming it, and left untouched. A record torn by a crash at the end of the file is
 * dropped (and the file truncated to the last complete record); a damaged record followed by
 * intact ones is reported as corruption.
 *
 * @param directory - directory holding the journal and its lock file
 * @returns the opened journal with the records found
 * @throws Error when another live process holds the directory, the directory cannot be written, a
 *   file is a link or foreign, or the journal is corrupt
 * @example
 * ```ts
 * const journal = await openJournal("./vault-data");
 * await journal.append({ type: "set", name: "greeting" });
 * await journal.close();
 * ```
 */
export async function openJournal(directory: string): Promise<Journal> {
  const root = path.resolve(directory);
  await prepareDirectory(root);
  const lockPath = path.join(root, lockFileName);
  await acquireLock(lockPath, root);
  let handle: FileHandle | undefined;
  try {
    await removeLeftoverTemporaries(root);
    const filePath = path.join(root, journalFileName);
    handle = await openExistingFile(filePath);
    if (handle === undefined) {
      let created;
      try {
        created = await writeJournal(filePath, []);
      } catch (error) {
        throw locationError(root, error);
      }
      handle = created.handle;
      return new FileJournal([], root, handle, created.size, 0, created.headerBytes, lockPath);
    }
    const content = await handle.readFile();
    const header = readHeader(content, "journal", journalFormatVersion, filePath);
    const base = /^ base=(\d+)$/.exec(header.fields);
    const { records, goodLength } = parseJournal(content, header.length, filePath);
    if (goodLength < content.length) {
      await handle.truncate(goodLength);
      await handle.datasync();
    }
    return new FileJournal(
      Object.freeze(records),
      root,
      handle,
      goodLength,
      base === null ? 0 : Number(base[1]),
      header.length,
      lockPath,
    );
  } catch (error) {
    await handle?.close();
    await fs.rm(lockPath, { force: true });
    throw error;
  }
}
