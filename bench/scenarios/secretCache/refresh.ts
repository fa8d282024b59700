/**
 * The scenario refresh: a refresh of 1,000 unchanged secrets against a full reload of them, in
 * requests and wall time, with 0 and 20 ms added to every answer of the local vault (its latency
 * fault, standing in for a network round trip).
 *
 * A refresh lists the vault and reads only what changed: for an unchanged vault, the list pages
 * alone. A full reload is what an app without refresh does: a new SecretCache's `load()` (list,
 * then read every value), on the same warm client. Both run in the loaders' process, the vault in
 * its own (loaders.ts), as in the cache scenario; they take turns, refresh then reload, `--runs`
 * times per latency after one unmeasured turn.
 *
 * Prints a table and the targets (requests: the list pages only; time: at most 0.1x the reload
 * at 20 ms) and writes bench/results/cacheRefresh.json.
 */
import { loadavg } from "node:os";
import { listPageSize } from "../../framework/fixtures.js";
import { median, takeTurns } from "../../framework/measure.js";
import type { RefreshKind, RefreshOutcome } from "../../framework/protocol.js";
import { formatLoad, targetTable, writeResults, type Target } from "../../framework/report.js";
import type { Scenario } from "../scenario.js";
import { chainFloorMs } from "./floors.js";
import { askLoaders, secretsCount, withVaultAndLoaders, type CacheRig } from "./loaders.js";

const latencies = [0, 20];
const kinds: readonly RefreshKind[] = ["refresh", "reload"];

interface Row {
  latencyMs: number;
  kind: RefreshKind;
  runs: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  samplesMs: number[];
  listPages: number;
  gets: number;
  attempts: number;
  changed: number;
}

function rowOf(latencyMs: number, kind: RefreshKind, outcomes: RefreshOutcome[]): Row {
  const durations = outcomes.map((o) => o.durationMs);
  const most = (pick: (o: RefreshOutcome) => number): number => Math.max(...outcomes.map(pick));
  return {
    latencyMs,
    kind,
    runs: outcomes.length,
    medianMs: Math.round(median(durations)),
    minMs: Math.round(Math.min(...durations)),
    maxMs: Math.round(Math.max(...durations)),
    samplesMs: durations.map((d) => Math.round(d)),
    // The most any run sent: a single get in any refresh would show here.
    listPages: most((o) => o.listPages),
    gets: most((o) => o.gets),
    attempts: most((o) => o.attempts),
    changed: most((o) => o.changed),
  };
}

function judge(rows: Row[], secrets: number): Target[] {
  const pages = Math.ceil(secrets / listPageSize);
  const targets: Target[] = [];
  for (const row of rows.filter((r) => r.kind === "refresh")) {
    targets.push({
      name: `${row.latencyMs} ms latency: requests of a refresh of ${secrets} unchanged secrets`,
      value: `${row.listPages} list pages, ${row.gets} gets (${row.attempts} requests)`,
      limit: `${pages} list pages, 0 gets`,
      met: row.listPages === pages && row.gets === 0 && row.attempts === pages,
    });
  }
  const refresh = rows.find((r) => r.kind === "refresh" && r.latencyMs === 20);
  const reload = rows.find((r) => r.kind === "reload" && r.latencyMs === 20);
  if (refresh !== undefined && reload !== undefined) {
    const ratio = refresh.medianMs / reload.medianMs;
    targets.push({
      name: "20 ms latency: refresh time / full reload time",
      value: `${ratio.toFixed(2)}x`,
      limit: "<= 0.1x",
      met: ratio <= 0.1,
    });
  }
  return targets;
}

function printRows(rows: Row[]): void {
  console.table(
    rows.map((row) => {
      const reload = rows.find((r) => r.kind === "reload" && r.latencyMs === row.latencyMs)!;
      return {
        latency: `${row.latencyMs} ms`,
        what: row.kind === "refresh" ? "refresh (unchanged)" : "full reload",
        "median ms": row.medianMs,
        "min-max ms": `${row.minMs}-${row.maxMs}`,
        "x reload": Math.round((row.medianMs / reload.medianMs) * 100) / 100,
        "list pages": row.listPages,
        gets: row.gets,
        requests: row.attempts,
        changed: row.changed,
      };
    }),
  );
}

async function runRefresh(rig: CacheRig, secrets: number, runs: number): Promise<void> {
  const loadAtStart = loadavg();
  const settleRefreshes = await askLoaders(rig, { type: "prepareRefresh" });
  console.log(
    `Seeded and loaded ${secrets} secrets; ${settleRefreshes} refresh(es) until a refresh read no value. ` +
      `Load ${formatLoad(loadAtStart)}.\n`,
  );
  const rows: Row[] = [];
  for (const latencyMs of latencies) {
    await rig.vault.setFaults(latencyMs === 0 ? {} : { latencyMs });
    // One unmeasured turn of each: warm code under this latency.
    const outcomes = await takeTurns(kinds, { measured: runs, unmeasured: 1 }, (kind) =>
      askLoaders(rig, { type: "timeRefresh", kind }),
    );
    for (const kind of kinds) rows.push(rowOf(latencyMs, kind, outcomes.get(kind)!));
    console.log(`  done: ${latencyMs} ms latency`);
  }
  await rig.vault.setFaults({});
  const targets = judge(rows, secrets);
  const loadAtEnd = loadavg();
  const pages = Math.ceil(secrets / listPageSize);
  console.log("");
  printRows(rows);
  console.log(
    `The chain of ${pages} list pages at 20 ms latency takes at least ${Math.round(chainFloorMs(pages, 20))} ms for a refresh and a reload alike.`,
  );
  console.log("\nTargets (issue #21):\n" + targetTable(targets));
  console.log(
    `Load average: ${formatLoad(loadAtStart)} at the start, ${formatLoad(loadAtEnd)} at the end.`,
  );
  const output = writeResults("cacheRefresh.json", {
    benchmark: "SecretCache.refresh() of unchanged secrets vs a full reload",
    date: new Date().toISOString(),
    node: process.version,
    loadAverage: { start: loadAtStart, end: loadAtEnd },
    secrets,
    settleRefreshes,
    rows,
    targets,
  });
  console.log(`\nWrote ${output}`);
}

export const cacheRefreshScenario: Scenario<"secrets" | "runs"> = {
  name: "refresh",
  summary: "SecretCache: a refresh of 1,000 unchanged secrets against a full reload",
  byDefault: true,
  counts: {
    secrets: secretsCount,
    runs: { about: "refreshes and reloads per latency", full: 5, quick: 2 },
  },
  run: async (context, { secrets, runs }) => {
    console.log("\nSecretCache: refresh 1,000 unchanged secrets, and reload them ...");
    await withVaultAndLoaders(context, secrets, (rig) => runRefresh(rig, secrets, runs));
  },
};
