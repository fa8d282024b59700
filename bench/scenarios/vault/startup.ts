/**
 * The scenario startup: how long `startLocalVault({ location })` takes with 100,000 versions in the
 * journal, once compacted and once with as many versions of garbage before it (set, deleted and
 * purged: the start-up rewrites the journal, so its first start is the slow one). Each start runs
 * in a fresh process (children/startupChild.ts), timed inside it (module loading excluded).
 *
 * Prints a table and writes bench/results/vaultStartup.json. Target: under 1 s with 100,000.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { openJournal, type JournalRecord } from "../../../src/emulator/persistence/persistence.js";
import { SecretStore } from "../../../src/emulator/state/store.js";
import type { StoreRecord } from "../../../src/emulator/state/storeTypes.js";
import { VaultClock } from "../../../src/emulator/state/vaultClock.js";
import type { CompiledBench } from "../../framework/compile.js";
import { median } from "../../framework/measure.js";
import { runOneShot } from "../../framework/processes.js";
import type { StartupResult } from "../../framework/protocol.js";
import { writeResults } from "../../framework/report.js";
import type { Scenario } from "../scenario.js";

const settings = {
  recoveryLevel: "Recoverable+Purgeable",
  recoverableDays: 90,
  delayMs: 0,
  restoreConflictAfterPurgeInMs: 0,
};

/**
 * Journals `count` versions (100 per secret, ~100-character values); `garbage` first journals as
 * many that it then purges.
 */
async function fill(location: string, count: number, garbage: boolean): Promise<void> {
  const secretsCount = Math.max(1, Math.round(count / 100));
  const store = new SecretStore(settings, new VaultClock());
  const journal = await openJournal(location);
  let batch: Promise<void>[] = [];
  const append = async (record: StoreRecord): Promise<void> => {
    batch.push(journal.append(record as unknown as JournalRecord));
    if (batch.length >= 5_000) {
      await Promise.all(batch);
      batch = [];
    }
  };
  const write = async (prefix: string, purge: boolean): Promise<void> => {
    for (let i = 0; i < count; i++) {
      const name = `${prefix}-${i % secretsCount}`;
      const value = `value ${i} `.padEnd(100, "x");
      await append(store.set(name, { value, tags: { n: String(i) } }).record);
    }
    if (purge) {
      for (let s = 0; s < secretsCount; s++) {
        await append(store.delete(`${prefix}-${s}`).record);
        await append(store.purge(`${prefix}-${s}`));
      }
    }
  };
  if (garbage) await write("gone", true);
  await write("kept", false);
  await Promise.all(batch);
  await journal.close();
}

function timedStart(compiled: CompiledBench, location: string): StartupResult {
  return runOneShot<StartupResult>(compiled, "startupChild", { location }, { timeoutMs: 120_000 });
}

/** One journal's starts: filled, then started `runs` times. */
async function measureJournal(
  compiled: CompiledBench,
  versions: number,
  runs: number,
  garbage: boolean,
): Promise<Record<string, string | number>> {
  const location = mkdtempSync(join(tmpdir(), "kv-bench-startup-"));
  try {
    process.stdout.write(
      `vault start-up: ${versions} versions${garbage ? " after as many purged" : ""} ...\n`,
    );
    await fill(location, versions, garbage);
    // A vault that grew to this size gradually was compacted along the way: so is this one.
    if (!garbage) timedStart(compiled, location);
    const before = statSync(join(location, "journal.log")).size;
    const starts = Array.from({ length: runs }, () => timedStart(compiled, location));
    const times = starts.map((start) => start.ms);
    return {
      journal: garbage ? "with garbage (first start compacts)" : "compacted",
      versions,
      "journal MB before": +(before / 1e6).toFixed(1),
      "journal MB after": +(statSync(join(location, "journal.log")).size / 1e6).toFixed(1),
      "first start ms": Math.round(times[0]!),
      "median start ms": Math.round(median(times)),
      "max start ms": Math.round(Math.max(...times)),
      "median CPU ms": Math.round(median(starts.map((start) => start.cpuMs))),
    };
  } finally {
    rmSync(location, { recursive: true, force: true });
  }
}

export const vaultStartupScenario: Scenario<"versions" | "runs"> = {
  name: "startup",
  summary: "start-up of a local vault with 100,000 versions under --location",
  byDefault: true,
  counts: {
    versions: { about: "versions in the journal", full: 100_000 },
    runs: { about: "starts per journal", full: 5, quick: 2 },
  },
  run: async (context, { versions, runs }) => {
    const compiled = context.compiled();
    const rows: Array<Record<string, string | number>> = [];
    for (const garbage of [false, true]) {
      rows.push(await measureJournal(compiled, versions, runs, garbage));
    }
    console.table(rows);
    const target = rows.every((row) => (row["median start ms"] as number) < 1000);
    process.stdout.write(
      `Target: median start-up under 1 s with ${versions} versions: ${target ? "met" : "NOT met"} ` +
        `(load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores)\n`,
    );
    writeResults("vaultStartup.json", { date: new Date().toISOString(), rows, target });
  },
};
