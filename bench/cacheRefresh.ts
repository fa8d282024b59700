/**
 * SecretCache refresh benchmark: a refresh of 1,000 unchanged secrets against a full reload of
 * them, in requests and wall time, with 0 and 20 ms added to every answer of the local vault (its
 * latency fault, standing in for a network round trip).
 *
 *   node --import tsx bench/cacheRefresh.ts [--secrets 1000] [--runs 5]
 *
 * A refresh lists the vault and reads only what changed: for an unchanged vault, the list pages
 * alone. A full reload is what an app without refresh does: a new SecretCache's `load()` (list,
 * then read every value), on the same warm client. Both run in the loaders' process
 * (bench/cacheLoader.ts), the vault in its own (bench/cacheVault.ts), as in bench/secretCache.ts;
 * they take turns, refresh then reload, `--runs` times per latency.
 *
 * Prints a table and the targets (requests: the list pages only; time: at most 0.1x the reload
 * at 20 ms) and writes bench/results/cacheRefresh.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { compileBench } from "./compile.js";
import { chainFloorMs } from "./floors.js";
import { median } from "./measure.js";
import { cleanUpOnExit, killAllChildren } from "./processes.js";
import {
  askLoader,
  type CacheChildren,
  setFaults,
  startCacheChildren,
  stopCacheChildren,
} from "./cacheChildren.js";
import type { RefreshKind, RefreshOutcome } from "./cacheProtocol.js";

const { values: args } = parseArgs({
  options: {
    secrets: { type: "string", default: "1000" },
    runs: { type: "string", default: "5" },
  },
});
const secretCount = Number(args.secrets);
const runs = Number(args.runs);
const pageSize = 25;
const latencies = [0, 20];

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

async function timeOnce(children: CacheChildren, kind: RefreshKind): Promise<RefreshOutcome> {
  const { outcome } = await askLoader(children, { type: "timeRefresh", kind }, "refreshTimed");
  return outcome;
}

/** A target and whether this run met it. */
interface Target {
  name: string;
  value: string;
  limit: string;
  met: boolean;
}

function judge(rows: Row[]): Target[] {
  const pages = Math.ceil(secretCount / pageSize);
  const targets: Target[] = [];
  for (const row of rows.filter((r) => r.kind === "refresh")) {
    targets.push({
      name: `${row.latencyMs} ms latency: requests of a refresh of ${secretCount} unchanged secrets`,
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

async function main(): Promise<void> {
  const loadAtStart = loadavg();
  console.log("Compiling src/ and the SecretCache benchmark's programs ...");
  const compiled = compileBench(["cacheVault", "cacheLoader"]);
  cleanUpOnExit(compiled);
  const children = await startCacheChildren(compiled, secretCount, pageSize);
  try {
    const { settleRefreshes } = await askLoader(
      children,
      { type: "prepareRefresh" },
      "refreshPrepared",
    );
    console.log(
      `Seeded and loaded ${secretCount} secrets; ${settleRefreshes} refresh(es) until a refresh read no value. ` +
        `Load ${loadAtStart.map((l) => l.toFixed(2)).join(" ")}.\n`,
    );
    const rows: Row[] = [];
    for (const latencyMs of latencies) {
      await setFaults(children, latencyMs === 0 ? {} : { latencyMs });
      // One unmeasured turn of each: warm code under this latency.
      await timeOnce(children, "refresh");
      await timeOnce(children, "reload");
      const outcomes: Record<RefreshKind, RefreshOutcome[]> = { refresh: [], reload: [] };
      for (let run = 0; run < runs; run++) {
        for (const kind of ["refresh", "reload"] as const) {
          outcomes[kind].push(await timeOnce(children, kind));
        }
      }
      rows.push(rowOf(latencyMs, "refresh", outcomes.refresh));
      rows.push(rowOf(latencyMs, "reload", outcomes.reload));
      console.log(`  done: ${latencyMs} ms latency`);
    }
    await setFaults(children, {});
    const targets = judge(rows);
    const loadAtEnd = loadavg();
    const pages = Math.ceil(secretCount / pageSize);

    console.log("");
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
    console.log(
      `The chain of ${pages} list pages at 20 ms latency takes at least ${Math.round(chainFloorMs(pages, 20))} ms for a refresh and a reload alike.`,
    );
    console.log("\nTargets (issue #21):");
    console.table(
      targets.map((t) => ({
        target: t.name,
        value: t.value,
        limit: t.limit,
        met: t.met ? "yes" : "NO",
      })),
    );
    console.log(
      `Load average: ${loadAtStart.map((l) => l.toFixed(2)).join(" ")} at the start, ${loadAtEnd.map((l) => l.toFixed(2)).join(" ")} at the end.`,
    );
    const output = resolve(import.meta.dirname, "results/cacheRefresh.json");
    mkdirSync(resolve(import.meta.dirname, "results"), { recursive: true });
    writeFileSync(
      output,
      JSON.stringify(
        {
          benchmark: "SecretCache.refresh() of unchanged secrets vs a full reload",
          date: new Date().toISOString(),
          node: process.version,
          loadAverage: { start: loadAtStart, end: loadAtEnd },
          secrets: secretCount,
          settleRefreshes,
          rows,
          targets,
        },
        null,
        2,
      ) + "\n",
    );
    console.log(`\nWrote ${output}`);
  } finally {
    await stopCacheChildren(children);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  killAllChildren();
  process.exitCode = 1;
});
