/**
 * The client scenario profile (`--profile`): CPU profiles (`node --cpu-prof`) of our client, the
 * official one and the raw loop running the client operations chosen with it (default: get),
 * against the fixed server; self time per function and per area (framework/cpuProfile.ts). The
 * client is left unbundled, so that the profiles name our files one by one.
 */
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { summarizeProfile, type ProfileSummary } from "../../framework/cpuProfile.js";
import { contenderNames } from "../../framework/fixtures.js";
import { formatNumber, machine, stamp, table, writeResults } from "../../framework/report.js";
import type { Scenario } from "../scenario.js";
import {
  concurrencies,
  operations,
  runRound,
  serverFor,
  settingsOf,
  startContender,
} from "./operations.js";
import { withChildren, type BenchChild } from "../../framework/processes.js";

export const profileScenario: Scenario = {
  name: "profile",
  summary: "CPU profiles of the client operations chosen with it (default: get), fixed server",
  byDefault: false,
  run: async (context) => {
    const compiled = context.compiled();
    const settings = settingsOf(context);
    const profileDir = mkdtempSync(path.join(tmpdir(), "keyvault-secrets-bench-profiles-"));
    const chosen = operations.filter((operation) =>
      context.options.chosen.includes(operation.name),
    );
    const picked = chosen.length > 0 ? chosen : [operations[0]!];
    const summaries: Record<string, ProfileSummary & { ops: number }> = {};
    for (const operation of picked) {
      const server = await serverFor(compiled, "fixed", operation, context.options.https);
      try {
        for (const concurrency of concurrencies) {
          for (const contender of contenderNames) {
            const dir = path.join(profileDir, `${operation.name}-c${concurrency}-${contender}`);
            const start = (): Promise<BenchChild> =>
              startContender(compiled, server, contender, { operation, concurrency }, [
                "--cpu-prof",
                "--cpu-prof-dir",
                dir,
              ]);
            // The child writes its profile as it exits, before withChildren returns.
            const result = await withChildren([start], ([child]) =>
              runRound(child!, settings.firstWarmupMs, settings.profileMs),
            );
            const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
            if (file === undefined) throw new Error(`No profile was written in ${dir}.`);
            // The profile spans start-up and warm-up too: per-op figures divide by every op run.
            const totalOps = result.ops + result.warmupOps + 1;
            const summary = summarizeProfile(path.join(dir, file));
            summaries[`${operation.name} c=${concurrency} ${contender}`] = {
              ...summary,
              ops: totalOps,
            };
            printProfile(
              `${operation.label}, c=${concurrency}, ${contender}`,
              summary,
              path.join(dir, file),
              totalOps,
            );
          }
        }
      } finally {
        await server.stop();
      }
    }
    const file = writeResults(`profile-${stamp()}.json`, { machine: machine(), summaries });
    process.stdout.write(
      `\nProfiles in ${profileDir}; summary in ${path.relative(process.cwd(), file)}\n`,
    );
  },
};

function printProfile(title: string, summary: ProfileSummary, file: string, ops: number): void {
  const perOp = (us: number): string => formatNumber(us / ops, 1);
  const selfTime = (label: [string, string, string], selfUs: number): string[] => [
    ...label,
    formatNumber(selfUs / 1000, 1),
    perOp(selfUs),
    `${((100 * selfUs) / summary.busyUs).toFixed(1)}%`,
  ];
  const figures = ["self ms", "µs/op", "share"];
  process.stdout.write(
    `\n== ${title} (${path.basename(file)}): busy ${formatNumber(summary.busyUs / 1000)} ms, ` +
      `${formatNumber(ops)} ops with warm-up, ${perOp(summary.busyUs)} µs/op\n`,
  );
  const areas = summary.areas.slice(0, 14).map((a) => selfTime([a.area, "", ""], a.selfUs));
  process.stdout.write(table(["area", "", "", ...figures], areas) + "\n\n");
  const hotSpots = summary.hotSpots
    .slice(0, 20)
    .map((h) => selfTime([h.functionName, h.location, h.area], h.selfUs));
  process.stdout.write(table(["function", "location", "area", ...figures], hotSpots) + "\n");
}
