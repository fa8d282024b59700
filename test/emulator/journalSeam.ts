/**
 * Holds one of the journal's file operations (a write, a sync or a rewrite, through the seam
 * `journalFileOperations` of src/emulator/persistence/persistence.ts) so that a test decides when,
 * and whether, it completes: a slow disk and a failing disk without timing.
 */
import {
  journalFileOperations,
  type JournalFileOperations,
} from "../../src/emulator/persistence/persistence.js";

/** A journal operation held by a test: every call waits until the test releases or fails it. */
export interface HeldJournalOperation {
  /** Resolves once the journal has called the operation (and waits in it). */
  readonly called: Promise<void>;
  /** How many times the journal called it. */
  readonly calls: number;
  /** Lets every waiting and later call run the real operation. */
  release(): void;
  /** Makes every waiting and later call fail with `error`, without running the real operation. */
  fail(error: Error): void;
  /** Puts the real operation back (and releases calls still waiting). */
  restore(): void;
}

type FileOperation = (...args: unknown[]) => Promise<unknown>;

/**
 * Replaces one journal file operation with one the test controls; call `restore()` in `finally`.
 * @param name - `"write"` (a batch's bytes), `"sync"` (its fdatasync) or `"rewrite"` (compaction)
 * @returns the held operation
 */
export function holdJournalOperation(name: keyof JournalFileOperations): HeldJournalOperation {
  const operations = journalFileOperations as unknown as Record<typeof name, FileOperation>;
  const real = operations[name];
  let arrived!: () => void;
  const called = new Promise<void>((resolve) => (arrived = resolve));
  let decide!: (failure: Error | undefined) => void;
  const decided = new Promise<Error | undefined>((resolve) => (decide = resolve));
  let calls = 0;
  operations[name] = async (...args) => {
    calls++;
    arrived();
    const failure = await decided;
    if (failure !== undefined) throw failure;
    return real(...args);
  };
  return {
    called,
    get calls() {
      return calls;
    },
    release: () => decide(undefined),
    fail: (error) => decide(error),
    restore: () => {
      operations[name] = real;
      decide(undefined);
    },
  };
}

/**
 * Lets every pending callback, timer of 0 ms and I/O completion run once: what would have happened
 * by now without a held operation has happened.
 * @returns a promise that resolves on the next turn of the event loop
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
