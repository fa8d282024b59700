/**
 * The local vault's durable journal: an append-only file of JSON records (see `fileFormat.ts`),
 * group-committed (one write and one sync per batch of appends) and rewritten from the live state
 * when it grows (see `journalCompaction.ts`).
 */

import { promises as fs } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import * as path from "node:path";
import { acquireLock } from "./directoryLock.js";
import {
  encodeLine,
  parseJournal,
  readHeader,
  journalFormatVersion,
  type JournalRecord,
} from "./fileFormat.js";
import { isCompactionDue, writeJournal } from "./journalCompaction.js";
import { locationError, openExistingFile, prepareDirectory, writeAll } from "./privateFiles.js";

export type { JournalRecord } from "./fileFormat.js";

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

/** The file operations by which appends become durable and the journal is rewritten. */
export interface JournalFileOperations {
  /** Writes all of `data` at the journal's end. */
  write(handle: FileHandle, data: Buffer): Promise<void>;
  /** Waits until what was written is on the disk (fdatasync). */
  sync(handle: FileHandle): Promise<void>;
  /** Replaces the journal atomically with these records (see `journalCompaction.ts`). */
  rewrite: typeof writeJournal;
}

/**
 * The operations every journal goes through, looked up at each use. A seam for tests only: a
 * test replaces a member to make a write, a sync or a rewrite fail or wait
 * (test/emulator/journalSeam.ts) and restores it, to see that no record is acknowledged or
 * visible before its sync, that a failure refuses every later append, and that a failed rewrite
 * leaves the journal in use.
 */
export const journalFileOperations: JournalFileOperations = {
  write: writeAll,
  sync: (handle) => handle.datasync(),
  rewrite: writeJournal,
};

/** Name of the journal file inside the vault's directory. */
const journalFileName = "journal.log";
/** Name of the lock file (holding the owner's pid) inside the vault's directory. */
const lockFileName = "journal.lock";

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
    return (
      this.snapshot !== undefined &&
      this.failure === undefined &&
      isCompactionDue(this.bytes - this.headerBytes, this.base)
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
      const rewritten = await journalFileOperations.rewrite(
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
        await journalFileOperations.write(this.handle, data);
        await journalFileOperations.sync(this.handle);
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
