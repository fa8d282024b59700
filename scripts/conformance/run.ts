/**
 * `npm run conformance -- <recordings-folder>... [--vault-only | --client-only] [--verbose] [--details]`
 *
 * Replays real Key Vault recordings against a fresh local vault (the vault half) and serves them
 * to our client (the client half), prints one table per half, and exits non-zero when a
 * difference is neither explained by a stated rule nor listed in acceptedDifferences.json.
 */
import { fileURLToPath } from "node:url";
import { AcceptedList, loadAccepted } from "./accepted.js";
import { playRecording } from "./clientPlayback.js";
import { loadRecordings } from "./recordings.js";
import {
  formatDifferences,
  formatDifferenceSummary,
  formatTable,
  outcomeOf,
  type RecordingResult,
} from "./results.js";
import { replayRecording } from "./vaultReplay.js";

const acceptedFile = fileURLToPath(new URL("./acceptedDifferences.json", import.meta.url));

async function main(argv: string[]): Promise<number> {
  const flags = new Set(argv.filter((a) => a.startsWith("--")));
  const folders = argv.filter((a) => !a.startsWith("--"));
  if (folders.length === 0) {
    console.error(
      "usage: npm run conformance -- <recordings-folder>... [--vault-only | --client-only] [--verbose] [--details]",
    );
    return 2;
  }
  // Each folder's recordings are named relative to that folder (the accepted file's names).
  const recordings = [];
  for (const folder of folders) {
    const found = await loadRecordings(folder);
    if (found.length === 0) {
      console.error(`No recordings (*.json) under ${folder}.`);
      return 2;
    }
    recordings.push(...found);
  }
  const accepted = new AcceptedList(await loadAccepted(acceptedFile));
  const vaultResults: RecordingResult[] = [];
  const clientResults: RecordingResult[] = [];
  for (const recording of recordings) {
    if (!flags.has("--client-only")) vaultResults.push(await replayRecording(recording, accepted));
    if (!flags.has("--vault-only")) clientResults.push(await playRecording(recording, accepted));
  }

  const out: string[] = [];
  if (vaultResults.length > 0) {
    out.push(
      formatTable("Local vault against the recorded answers (vault half)", vaultResults, "entries"),
      "",
    );
  }
  if (clientResults.length > 0) {
    out.push(
      formatTable(
        "Our client against the recorded answers (client half)",
        clientResults,
        "requests",
      ),
      "",
    );
  }
  const all = [...vaultResults, ...clientResults];
  if (flags.has("--verbose")) {
    for (const result of all) {
      for (const entry of result.entries) {
        for (const { difference, reason } of entry.accepted) {
          out.push(
            `accepted ${result.side} ${result.recording} #${entry.index} ${difference.check}: ${reason}`,
          );
        }
        if (entry.rules.length > 0)
          out.push(
            `rule ${result.side} ${result.recording} #${entry.index} ${entry.request}: ${entry.rules.join(", ")}`,
          );
      }
    }
  }
  const failures = flags.has("--details") ? formatDifferences(all) : formatDifferenceSummary(all);
  const unused = accepted.unused();
  if (unused.length > 0 && vaultResults.length > 0 && clientResults.length > 0) {
    out.push(
      "Accepted differences that accepted nothing this run (remove them if the difference is gone):",
    );
    for (const u of unused) out.push(`  ${u.side} ${u.recording} ${u.check}`);
    out.push("");
  }
  if (failures.length > 0) {
    out.push("Differences (not explained by a rule, not accepted):", ...failures);
  }
  console.log(out.join("\n"));
  const failing = all.some((r) => r.entries.some((e) => outcomeOf(e) === "differs"));
  console.log(failing ? "\nconformance: FAILED" : "\nconformance: passed");
  return failing ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
