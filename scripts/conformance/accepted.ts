/**
 * The accepted differences: one JSON file, each entry naming one recording and one check exactly
 * (no wildcards: a pattern would accept the difference in recordings nobody looked at) and the
 * reason it is accepted. Anything not covered fails.
 */
import { readFile } from "node:fs/promises";
import type { Difference } from "./compare.js";

/** Which half of the check a difference comes from. */
export type Side = "vault" | "client";

/** One accepted difference. */
export interface AcceptedDifference {
  /** `vault` (the replay against the local vault) or `client` (our client against playback). */
  side: Side;
  /** The recording's name (`folder/recording_x.json`). */
  recording: string;
  /** The check's id (`header:x-ms-keyvault-network-info`, `request:body:$.attributes`). */
  check: string;
  /** Why this difference is accepted. */
  reason: string;
}

/**
 * Checks the parsed accepted-differences file.
 * @param parsed - the parsed JSON
 * @returns the entries
 * @throws TypeError for an entry without side, recording, check or a reason, or with a wildcard
 */
export function parseAccepted(parsed: unknown): AcceptedDifference[] {
  const list = (parsed as { accepted?: unknown } | null)?.accepted;
  if (!Array.isArray(list))
    throw new TypeError('The accepted-differences file needs an "accepted" array.');
  return list.map((item: Partial<AcceptedDifference>, index) => {
    if (item === null || typeof item !== "object")
      throw new TypeError(`accepted[${index}] is not an object.`);
    if (item.side !== "vault" && item.side !== "client") {
      throw new TypeError(`accepted[${index}].side must be "vault" or "client".`);
    }
    for (const field of ["recording", "check", "reason"] as const) {
      if (typeof item[field] !== "string" || item[field].trim() === "") {
        throw new TypeError(`accepted[${index}].${field} must be a non-empty string.`);
      }
    }
    for (const field of ["recording", "check"] as const) {
      if ((item[field] as string).includes("*")) {
        throw new TypeError(
          `accepted[${index}].${field} (${item[field]}) has a wildcard: name each recording and check exactly, one entry each, with its reason.`,
        );
      }
    }
    return item as AcceptedDifference;
  });
}

/**
 * Reads the accepted-differences file.
 * @param file - its path
 * @returns the entries
 */
export async function loadAccepted(file: string): Promise<AcceptedDifference[]> {
  return parseAccepted(JSON.parse(await readFile(file, "utf8")));
}

/** Decides which differences are accepted, and remembers which entries were used. */
export class AcceptedList {
  private readonly used = new Set<AcceptedDifference>();

  /**
   * @param entries - the accepted differences
   */
  constructor(readonly entries: readonly AcceptedDifference[]) {}

  /**
   * The entry that accepts a difference, if any.
   * @param side - the half the difference comes from
   * @param recording - the recording's name
   * @param difference - the difference
   * @returns the accepting entry
   */
  find(side: Side, recording: string, difference: Difference): AcceptedDifference | undefined {
    const entry = this.entries.find(
      (e) => e.side === side && e.recording === recording && e.check === difference.check,
    );
    if (entry !== undefined) this.used.add(entry);
    return entry;
  }

  /**
   * Entries that accepted nothing in this run (the difference is gone, or the entry is wrong).
   * @returns the unused entries
   */
  unused(): AcceptedDifference[] {
    return this.entries.filter((e) => !this.used.has(e));
  }
}
