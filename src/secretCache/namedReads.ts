/**
 * Reads of single secrets by name (`getOrFetch`, `refreshNow(names)`, the per-secret timers):
 * callers that ask for one name while its read is in flight or waiting share it, and a name is
 * read at most once per minimum interval, to protect the vault from a loop of callers.
 */
import { performance } from "node:perf_hooks";
import { delay } from "@azure/core-util";
import type { ReadOutcome } from "./changes.js";

/** One name's read: pending while it waits or is in flight; then when it ended. */
interface NameState {
  pending: Promise<ReadOutcome> | undefined;
  endedAtMs: number;
}

/** The reads of single secrets of one cache. */
export class NamedReads {
  private readonly states = new Map<string, NameState>();

  /**
   * @param read - sends one read (never rejects for the vault's answer, only when closed)
   * @param minIntervalInMs - the least time between the end of one read of a name and the next
   * @param closeSignal - ends the waits when the cache is closed
   */
  constructor(
    private readonly read: (secretName: string) => Promise<ReadOutcome>,
    private readonly minIntervalInMs: number,
    private readonly closeSignal: AbortSignal,
  ) {}

  /**
   * A read of the secret: the one in flight or waiting for that name, or a new one, sent once
   * the minimum interval since the name's last read has passed.
   * @param secretName - the name to read
   * @param key - its key
   * @returns what the read found
   * @throws Error when the cache is closed
   */
  request(secretName: string, key: string): Promise<ReadOutcome> {
    const state = this.states.get(key);
    if (state?.pending !== undefined) return state.pending;
    const waitMs = state === undefined ? 0 : state.endedAtMs + this.minIntervalInMs - now();
    const next: NameState = { pending: undefined, endedAtMs: 0 };
    next.pending = this.readAfter(waitMs, secretName).finally(() => {
      // Only the time is kept: no value stays here once the read is over.
      next.pending = undefined;
      next.endedAtMs = now();
    });
    this.states.set(key, next);
    return next.pending;
  }

  private async readAfter(waitMs: number, secretName: string): Promise<ReadOutcome> {
    if (waitMs > 0) {
      try {
        await delay(waitMs, { abortSignal: this.closeSignal });
      } catch (error) {
        throw new Error(`The SecretCache was closed while "${secretName}" waited to be read.`, {
          cause: error,
        });
      }
    }
    return this.read(secretName);
  }
}

function now(): number {
  return performance.now();
}
