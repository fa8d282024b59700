/** `npm run bench -- --profile`: CPU profiles of our client and the official one. */
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { CompiledBench } from "./compile.js";
import { summarizeProfile, type ProfileSummary } from "./profile.js";
import { contenderNames } from "./protocol.js";
import {
  concurrencies,
  scenarios,
  scenarioNames,
  maxOpsPerRound,
  type ClientScenarioName,
  type ScenarioName,
  type Settings,
} from "./options.js";
import { startServer, startClient, runRound, stopClient } from "./measure.js";
import { machine, resultsDir, stamp, formatNumber, table } from "./report.js";

export async function profileContenders(
  compiled: CompiledBench,
  chosen: ScenarioName[],
  settings: Settings,
  https: boolean,
): Promise<void> {
  const profileDir = mkdtempSync(path.join(tmpdir(), "keyvault-secrets-bench-profiles-"));
  const names = chosen.filter(
    (n): n is ClientScenarioName =>
      n !== "cold" && n !== "cache" && n !== "refresh" && n !== "startup",
  );
  const picked =
    names.length > 0 && names.length < scenarioNames.length - 3 ? names : ["get" as const];
  const summaries: Record<string, ProfileSummary & { ops: number }> = {};
  for (const name of picked) {
    const scenario = scenarios[name];
    const server = await startServer(compiled, "fixed", { items: scenario.items, https });
    try {
      for (const concurrency of concurrencies) {
        for (const contender of contenderNames) {
          const dir = path.join(profileDir, `${name}-c${concurrency}-${contender}`);
          const client = await startClient(
            compiled,
            server,
            {
              contender,
              operation: scenario.operation,
              concurrency,
              url: server.url,
              expectedItems: scenario.items,
            },
            ["--cpu-prof", "--cpu-prof-dir", dir],
          );
          const result = await runRound(client, {
            type: "round",
            warmupMs: settings.firstWarmupMs,
            durationMs: settings.profileMs,
            maxOps: maxOpsPerRound,
          });
          await stopClient(client);
          const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
          if (file === undefined) throw new Error(`No profile was written in ${dir}.`);
          // The profile spans start-up and warm-up too: per-op figures divide by every op run.
          const totalOps = result.ops + result.warmupOps + 1;
          const summary = summarizeProfile(path.join(dir, file));
          summaries[`${name} c=${concurrency} ${contender}`] = { ...summary, ops: totalOps };
          printProfile(
            `${scenario.label}, c=${concurrency}, ${contender}`,
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
  const file = path.join(resultsDir(compiled), `profile-${stamp()}.json`);
  writeFileSync(file, JSON.stringify({ machine: machine(), summaries }, null, 2) + "\n");
  process.stdout.write(
    `\nProfiles in ${profileDir}; summary in ${path.relative(process.cwd(), file)}\n`,
  );
}

export function printProfile(
  title: string,
  summary: ProfileSummary,
  file: string,
  ops: number,
): void {
  const share = (us: number): string => `${((100 * us) / summary.busyUs).toFixed(1)}%`;
  const perOp = (us: number): string => formatNumber(us / ops, 1);
  process.stdout.write(
    `\n== ${title} (${path.basename(file)}): busy ${formatNumber(summary.busyUs / 1000)} ms, ` +
      `${formatNumber(ops)} ops with warm-up, ${perOp(summary.busyUs)} µs/op\n`,
  );
  process.stdout.write(
    table(
      ["area", "", "", "self ms", "µs/op", "share"],
      summary.areas
        .slice(0, 14)
        .map((a) => [
          a.area,
          "",
          "",
          formatNumber(a.selfUs / 1000, 1),
          perOp(a.selfUs),
          share(a.selfUs),
        ]),
    ) + "\n\n",
  );
  process.stdout.write(
    table(
      ["function", "location", "area", "self ms", "µs/op", "share"],
      summary.hotSpots
        .slice(0, 20)
        .map((h) => [
          h.functionName,
          h.location,
          h.area,
          formatNumber(h.selfUs / 1000, 1),
          perOp(h.selfUs),
          share(h.selfUs),
        ]),
    ) + "\n",
  );
}
