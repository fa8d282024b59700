/**
 * The client scenario cold: a fresh `node` process imports the client, constructs it and completes
 * the first getSecret (challenge round trip included for both clients); also the import alone, and
 * `@azure/core-rest-pipeline` imported alone (the floor of any client built on it). One-shot
 * children (children/coldStartChild.ts), contenders interleaved, median of the runs.
 */
import { contenderNames, type ContenderName } from "../../framework/fixtures.js";
import { median, takeTurns } from "../../framework/measure.js";
import { runOneShot } from "../../framework/processes.js";
import type { ColdStartResult } from "../../framework/protocol.js";
import type { ServerKind } from "../../framework/servers.js";
import type { Scenario } from "../scenario.js";
import { operations, serverFor, settingsOf } from "./operations.js";

/** The cold starts of one server. */
export interface ColdResult {
  server: ServerKind;
  runs: number;
  contenders: Record<
    ContenderName,
    {
      medianImportMs: number;
      medianImportToFirstGetMs: number;
      medianProcessToFirstGetMs: number;
      samplesMs: number[];
    }
  >;
  /**
   * A fresh process importing `@azure/core-rest-pipeline` alone (median): every client built on it
   * pays this, so with raw's first get it is the floor of such a client's cold start.
   */
  medianPipelineImportMs: number;
}

/**
 * The least cold start of a client on `@azure/core-rest-pipeline`: core's import plus the raw
 * loop's first get (connection and round trip), each in a fresh process.
 */
export function coldFloorMs(result: ColdResult): number {
  return result.medianPipelineImportMs + result.contenders.raw.medianImportToFirstGetMs;
}

/** Who starts cold: the contenders, and core-rest-pipeline alone. */
const starters = [...contenderNames, "core"] as const;

export const coldStartScenario: Scenario = {
  name: "cold",
  summary: "cold start: import, construct, first getSecret, in a fresh process; import alone",
  byDefault: true,
  run: async (context) => {
    const runs = settingsOf(context).coldRuns;
    const get = operations[0]!;
    for (const kind of context.options.servers) {
      const compiled = context.compiled();
      const server = await serverFor(compiled, kind, get, context.options.https);
      try {
        process.stdout.write(`${kind}: cold start x${runs} ...\n`);
        // The first, unmeasured turn warms the disk cache.
        const samples = await takeTurns(starters, { measured: runs, unmeasured: 1 }, (contender) =>
          runOneShot<ColdStartResult>(
            compiled,
            "coldStartChild",
            { contender, url: server.url, ourModuleUrl: compiled.ourModuleUrl },
            { env: server.clientEnv, timeoutMs: 30_000 },
          ),
        );
        context.clientFigures.coldStarts.push(coldResultOf(kind, runs, samples));
      } finally {
        await server.stop();
      }
    }
  },
};

function coldResultOf(
  server: ServerKind,
  runs: number,
  samples: Map<(typeof starters)[number], ColdStartResult[]>,
): ColdResult {
  const contenders = {} as ColdResult["contenders"];
  for (const contender of contenderNames) {
    const results = samples.get(contender)!;
    contenders[contender] = {
      medianImportMs: median(results.map((r) => r.importMs)),
      medianImportToFirstGetMs: median(results.map((r) => r.importToFirstGetMs ?? Number.NaN)),
      medianProcessToFirstGetMs: median(results.map((r) => r.processToFirstGetMs ?? Number.NaN)),
      samplesMs: results.map((r) => Math.round((r.importToFirstGetMs ?? Number.NaN) * 10) / 10),
    };
  }
  return {
    server,
    runs,
    contenders,
    medianPipelineImportMs: median(samples.get("core")!.map((r) => r.importMs)),
  };
}
