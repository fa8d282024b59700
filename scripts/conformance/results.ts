/**
 * Results of the conformance check and the table it prints.
 */
import type { AcceptedDifference, AcceptedList, Side } from "./accepted.js";
import type { Difference } from "./compare.js";

/** How an entry (vault half) or a request (client half) came out. */
export type Outcome = "match" | "rule" | "accepted" | "differs";

/** The result for one recorded entry. */
export interface EntryResult {
  /** Index of the entry in the recording. */
  index: number;
  /** `METHOD /path` of the recorded request. */
  request: string;
  recordedStatus: number;
  actualStatus?: number;
  /** Stated rules that explain timing- or content-dependent differences of this entry. */
  rules: string[];
  /** Differences no rule explains and the accepted file does not accept. */
  differences: Difference[];
  /** Differences the accepted file accepts. */
  accepted: Array<{ difference: Difference; reason: string }>;
}

/** The result for one recording on one side. */
export interface RecordingResult {
  side: Side;
  recording: string;
  entries: EntryResult[];
  /** Client half: the operations driven (`setSecret`, `beginDeleteSecret` ...). */
  operations?: number;
}

/**
 * The outcome of an entry.
 * @param entry - the entry result
 * @returns its outcome
 */
export function outcomeOf(entry: EntryResult): Outcome {
  if (entry.differences.length > 0) return "differs";
  if (entry.accepted.length > 0) return "accepted";
  if (entry.rules.length > 0) return "rule";
  return "match";
}

/**
 * Creates an entry result.
 * @param index - entry index
 * @param request - `METHOD /path`
 * @param recordedStatus - recorded status
 * @returns the result, with no differences yet
 */
export function newEntry(index: number, request: string, recordedStatus: number): EntryResult {
  return { index, request, recordedStatus, rules: [], differences: [], accepted: [] };
}

/**
 * Adds differences to an entry, moving the accepted ones aside.
 * @param entry - the entry result
 * @param differences - found differences
 * @param side - the half
 * @param recording - the recording's name
 * @param accepted - the accepted list
 */
export function addDifferences(
  entry: EntryResult,
  differences: Difference[],
  side: Side,
  recording: string,
  accepted: AcceptedList,
): void {
  for (const difference of differences) {
    const by: AcceptedDifference | undefined = accepted.find(side, recording, difference);
    if (by === undefined) entry.differences.push(difference);
    else entry.accepted.push({ difference, reason: by.reason });
  }
}

interface Row {
  group: string;
  recordings: number;
  operations: number;
  entries: number;
  counts: Record<Outcome, number>;
  failingRecordings: number;
}

function rows(results: RecordingResult[]): Row[] {
  const byGroup = new Map<string, Row>();
  for (const result of results) {
    const group = result.recording.includes("/") ? result.recording.split("/")[0] : ".";
    let row = byGroup.get(group);
    if (row === undefined) {
      row = {
        group,
        recordings: 0,
        operations: 0,
        entries: 0,
        counts: { match: 0, rule: 0, accepted: 0, differs: 0 },
        failingRecordings: 0,
      };
      byGroup.set(group, row);
    }
    row.recordings++;
    row.operations += result.operations ?? 0;
    row.entries += result.entries.length;
    let failing = false;
    for (const entry of result.entries) {
      const outcome = outcomeOf(entry);
      row.counts[outcome]++;
      if (outcome === "differs") failing = true;
    }
    if (failing) row.failingRecordings++;
  }
  return [...byGroup.values()].sort((a, b) => a.group.localeCompare(b.group));
}

/**
 * The table of one half: one row per recordings folder and a total.
 * @param title - the table's title
 * @param results - the recording results of that half
 * @param unit - what an entry is (`entries`, `requests`)
 * @returns the Markdown table
 */
export function formatTable(title: string, results: RecordingResult[], unit: string): string {
  const all = rows(results);
  const total: Row = {
    group: "**total**",
    recordings: 0,
    operations: 0,
    entries: 0,
    counts: { match: 0, rule: 0, accepted: 0, differs: 0 },
    failingRecordings: 0,
  };
  for (const row of all) {
    total.recordings += row.recordings;
    total.operations += row.operations;
    total.entries += row.entries;
    total.failingRecordings += row.failingRecordings;
    for (const k of Object.keys(row.counts) as Outcome[]) total.counts[k] += row.counts[k];
  }
  const withOperations = results.some((r) => r.operations !== undefined);
  const line = (r: Row): string =>
    `| ${r.group} | ${r.recordings} |${withOperations ? ` ${r.operations} |` : ""} ${r.entries} | ${r.counts.match} | ${r.counts.rule} | ${r.counts.accepted} | ${r.counts.differs} | ${r.recordings - r.failingRecordings}/${r.recordings} |`;
  return [
    `${title}`,
    "",
    `| recordings folder | recordings |${withOperations ? " operations |" : ""} ${unit} | matching | by rule | accepted | differing | recordings passing |`,
    `|---|--:|${withOperations ? "--:|" : ""}--:|--:|--:|--:|--:|--:|`,
    ...all.map(line),
    line(total),
  ].join("\n");
}

/**
 * A list of the differences that fail the run.
 * @param results - all results
 * @param limit - at most this many lines per recording
 * @returns the report lines
 */
export function formatDifferences(results: RecordingResult[], limit = 12): string[] {
  const lines: string[] = [];
  for (const result of results) {
    const failing = result.entries.filter((e) => e.differences.length > 0);
    if (failing.length === 0) continue;
    lines.push(`${result.side} ${result.recording}:`);
    let shown = 0;
    for (const entry of failing) {
      for (const d of entry.differences) {
        if (shown++ >= limit) break;
        lines.push(
          `  #${entry.index} ${entry.request} (${entry.recordedStatus} -> ${entry.actualStatus ?? "-"}) ${d.check}: expected ${d.expected ?? "?"}, got ${d.actual ?? "?"}`,
        );
      }
    }
    if (shown > limit) lines.push(`  ... ${shown - limit} more`);
  }
  return lines;
}

/**
 * The differences that fail the run, grouped by side, check and values, most frequent first.
 * @param results - all results
 * @returns one line per group, with a count and the first place it was seen
 */
export function formatDifferenceSummary(results: RecordingResult[]): string[] {
  const groups = new Map<string, { count: number; first: string }>();
  for (const result of results) {
    for (const entry of result.entries) {
      for (const d of entry.differences) {
        const key = `${result.side} ${d.check}: expected ${d.expected ?? "?"}, got ${d.actual ?? "?"}`;
        const group = groups.get(key);
        if (group === undefined)
          groups.set(key, {
            count: 1,
            first: `${result.recording} #${entry.index} ${entry.request}`,
          });
        else group.count++;
      }
    }
  }
  return [...groups.entries()]
    .sort((a, b) => b[1].count - a[1].count)
    .map(([key, g]) => `  ${String(g.count).padStart(4)} x ${key}  (first: ${g.first})`);
}
