/**
 * Start-up benchmark of a local vault that keeps its state in a directory: how long
 * `startLocalVault({ location })` takes with 100,000 versions in the journal, once compacted and
 * once with as many versions of garbage before it (set, deleted and purged: the start-up rewrites
 * the journal, so its first start is the slow one). Each start runs in a fresh process, timed inside it (module loading excluded).
 *
 *   node --import tsx bench/vaultStartup.ts [--versions 100000] [--runs 5]
 *
 * Prints a table and writes bench/results/vaultStartup.json. Target: under 1 s with 100,000.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { startLocalVault } from "../src/emulator/index.js";
import { openJournal, type JournalRecord } from "../src/emulator/persistence/persistence.js";
import { SecretStore } from "../src/emulator/state/store.js";
import type { StoreRecord } from "../src/emulator/state/storeTypes.js";
import { VaultClock } from "../src/emulator/state/vaultClock.js";

const { values: args } = parseArgs({
  options: {
    versions: { type: "string", default: "100000" },
    runs: { type: "string", default: "5" },
    child: { type: "string" },
  },
});

if (args.child !== undefined) {
  // One timed start in this fresh process.
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const vault = await startLocalVault({ location: args.child });
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  await vault.close();
  // CPU time too: on a shared machine it varies less than the wall clock.
  process.stdout.write(`${JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000 })}\n`);
  process.exit(0);
}

const versionCount = Number(args.versions);
const runs = Number(args.runs);
const secretsCount = Math.max(1, Math.round(versionCount / 100));
const settings = {
  recoveryLevel: "Recoverable+Purgeable",
  recoverableDays: 90,
  delayMs: 0,
  restoreConflictAfterPurgeInMs: 0,
};

/** Journals `count` versions (100 per secret, ~100-character values); `garbage` purges them after. */
async function fill(location: string, count: number, garbage: boolean): Promise<void> {
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

function timedStart(location: string): { ms: number; cpuMs: number } {
  const out = execFileSync(
    process.execPath,
    ["--import", "tsx", "bench/vaultStartup.ts", "--child", location],
    { encoding: "utf8", timeout: 120_000 },
  );
  return JSON.parse(out.trim().split("\n").pop()!) as { ms: number; cpuMs: number };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

const rows: Array<Record<string, string | number>> = [];
for (const garbage of [false, true]) {
  const location = mkdtempSync(join(tmpdir(), "kv-bench-startup-"));
  try {
    process.stdout.write(
      `vault start-up: ${versionCount} versions${garbage ? " after as many purged" : ""} ...\n`,
    );
    await fill(location, versionCount, garbage);
    // A vault that grew to this size gradually was compacted along the way: so is this one.
    if (!garbage) timedStart(location);
    const before = statSync(join(location, "journal.log")).size;
    const starts = Array.from({ length: runs }, () => timedStart(location));
    const times = starts.map((start) => start.ms);
    rows.push({
      journal: garbage ? "with garbage (first start compacts)" : "compacted",
      versions: versionCount,
      "journal MB before": +(before / 1e6).toFixed(1),
      "journal MB after": +(statSync(join(location, "journal.log")).size / 1e6).toFixed(1),
      "first start ms": Math.round(times[0]!),
      "median start ms": Math.round(median(times)),
      "max start ms": Math.round(Math.max(...times)),
      "median CPU ms": Math.round(median(starts.map((start) => start.cpuMs))),
    });
  } finally {
    rmSync(location, { recursive: true, force: true });
  }
}

console.table(rows);
const target = rows.every((row) => (row["median start ms"] as number) < 1000);
process.stdout.write(
  `Target: median start-up under 1 s with ${versionCount} versions: ${target ? "met" : "NOT met"} ` +
    `(load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores)\n`,
);
const resultsDir = resolve("bench/results");
mkdirSync(resultsDir, { recursive: true });
writeFileSync(
  join(resultsDir, "vaultStartup.json"),
  `${JSON.stringify({ date: new Date().toISOString(), rows, target }, null, 2)}\n`,
);
