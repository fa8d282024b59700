/** Measuring: the servers and contender processes of a run, its rounds, and cold starts. */
import { execFileSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { CompiledBench } from "./compile.js";
import { exited, forkTracked, nextMessage } from "./processes.js";
import {
  contenderNames,
  type ClientCommand,
  type ClientConfig,
  type ClientMessage,
  type ColdStartResult,
  type ContenderName,
  type RoundResult,
  type ServerConfig,
  type ServerReady,
} from "./protocol.js";
import {
  scenarios,
  maxOpsPerRound,
  type ClientScenarioName,
  type ScenarioName,
  type ServerKind,
  type Settings,
} from "./options.js";

/** Figures of one contender in one scenario. */
export interface ContenderFigures {
  ops: number;
  opsPerSecond: number;
  cpuUsPerOp: number;
  peakRssMb: number;
  /** ops/s of each round, to show the spread. */
  roundOpsPerSecond: number[];
}

export interface ScenarioResult {
  server: ServerKind;
  scenario: ScenarioName;
  label: string;
  concurrency: number;
  items: number;
  contenders: Record<ContenderName, ContenderFigures>;
}

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

export interface RunningServer {
  url: string;
  /** Environment for client processes: trusts the server's CA when it speaks TLS. */
  clientEnv: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

export async function startServer(
  compiled: CompiledBench,
  kind: ServerKind,
  config: ServerConfig,
): Promise<RunningServer> {
  const child = forkTracked(
    compiled.benchModule(kind === "fixed" ? "fixedServer" : "vaultServer"),
    [JSON.stringify(config)],
  );
  const ready = await nextMessage(
    child,
    (message) =>
      (message as ServerReady).type === "listening" ? (message as ServerReady) : undefined,
    // Seeding 10,000 secrets into the local vault on a busy machine.
    120_000,
    `the ${kind} server to listen`,
  );
  const clientEnv: NodeJS.ProcessEnv = { ...process.env };
  delete clientEnv.NODE_OPTIONS;
  let caDir: string | undefined;
  if (ready.caCertificate !== undefined) {
    const dir = mkdtempSync(path.join(tmpdir(), "keyvault-secrets-bench-ca-"));
    caDir = dir;
    const caFile = path.join(dir, "ca.pem");
    writeFileSync(caFile, ready.caCertificate);
    clientEnv.NODE_EXTRA_CA_CERTS = caFile;
  }
  return {
    url: ready.url,
    clientEnv,
    stop: async () => {
      child.kill("SIGTERM");
      await exited(child, 3_000);
      if (caDir !== undefined) rmSync(caDir, { recursive: true, force: true });
    },
  };
}

export interface ClientChild {
  contender: ContenderName;
  child: ChildProcess;
  peakRssKb: number;
}

export function resultOf(message: unknown): RoundResult | undefined {
  const typed = message as ClientMessage;
  if (typed.type === "failed") throw new Error(typed.message);
  return typed.type === "result" ? typed.result : undefined;
}

export async function startClient(
  compiled: CompiledBench,
  server: RunningServer,
  config: ClientConfig,
  execArgv: string[] = [],
): Promise<ClientChild> {
  const child = forkTracked(
    compiled.benchModule("clientChild"),
    [JSON.stringify(config), compiled.ourModuleUrl],
    { env: server.clientEnv, execArgv },
  );
  const ready = await nextMessage(
    child,
    (message) => {
      const typed = message as ClientMessage;
      if (typed.type === "failed") throw new Error(`${config.contender}: ${typed.message}`);
      return typed.type === "ready" ? typed : undefined;
    },
    60_000,
    `${config.contender} to start`,
  );
  return { contender: config.contender, child, peakRssKb: ready.maxRssKb };
}

export async function runRound(client: ClientChild, command: ClientCommand): Promise<RoundResult> {
  client.child.send(command);
  const limit = command.type === "round" ? command.warmupMs + command.durationMs + 120_000 : 10_000;
  const result = await nextMessage(client.child, resultOf, limit, `a round of ${client.contender}`);
  client.peakRssKb = Math.max(client.peakRssKb, result.maxRssKb);
  return result;
}

export async function stopClient(client: ClientChild): Promise<void> {
  try {
    client.child.send({ type: "stop" } satisfies ClientCommand);
    const stopped = await nextMessage(
      client.child,
      (message) =>
        (message as ClientMessage).type === "stopped" ? (message as ClientMessage) : undefined,
      10_000,
      `${client.contender} to stop`,
    );
    if (stopped.type === "stopped") client.peakRssKb = Math.max(client.peakRssKb, stopped.maxRssKb);
  } finally {
    await exited(client.child, 5_000);
  }
}

/** One scenario at one concurrency: a child per contender, rounds interleaved A B C A B C ... */
export async function runScenario(
  compiled: CompiledBench,
  server: RunningServer,
  serverKind: ServerKind,
  name: ClientScenarioName,
  concurrency: number,
  settings: Settings,
): Promise<ScenarioResult> {
  const scenario = scenarios[name];
  const clients: ClientChild[] = [];
  try {
    for (const contender of contenderNames) {
      clients.push(
        await startClient(compiled, server, {
          contender,
          operation: scenario.operation,
          concurrency,
          url: server.url,
          // The local vault also holds the get scenarios' secret.
          expectedItems: scenario.items + (serverKind === "vault" ? 1 : 0),
        }),
      );
    }
    const rounds = new Map<ContenderName, RoundResult[]>(contenderNames.map((c) => [c, []]));
    for (let round = 0; round < settings.rounds; round++) {
      for (const client of clients) {
        const result = await runRound(client, {
          type: "round",
          warmupMs: round === 0 ? settings.firstWarmupMs : settings.roundWarmupMs,
          durationMs: settings.durationMs,
          maxOps: maxOpsPerRound,
        });
        rounds.get(client.contender)!.push(result);
      }
    }
    for (const client of clients) await stopClient(client);
    const contenders = {} as Record<ContenderName, ContenderFigures>;
    for (const client of clients) {
      const results = rounds.get(client.contender)!;
      const ops = results.reduce((sum, r) => sum + r.ops, 0);
      const elapsedMs = results.reduce((sum, r) => sum + r.elapsedMs, 0);
      const cpuUs = results.reduce((sum, r) => sum + r.cpuUs, 0);
      contenders[client.contender] = {
        ops,
        opsPerSecond: ops / (elapsedMs / 1000),
        cpuUsPerOp: ops === 0 ? NaN : cpuUs / ops,
        peakRssMb: client.peakRssKb / 1024,
        roundOpsPerSecond: results.map((r) => r.ops / (r.elapsedMs / 1000)),
      };
    }
    return {
      server: serverKind,
      scenario: name,
      label: scenario.label,
      concurrency,
      items: scenario.items,
      contenders,
    };
  } finally {
    for (const client of clients) client.child.kill("SIGKILL");
  }
}

export function runColdStartOnce(
  compiled: CompiledBench,
  server: RunningServer,
  contender: ContenderName | "core",
): ColdStartResult {
  // Plain node, no loader, a fresh process each time.
  const output = execFileSync(
    process.execPath,
    [compiled.benchModule("coldStart"), contender, server.url, compiled.ourModuleUrl],
    { env: server.clientEnv, timeout: 30_000, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
  );
  return JSON.parse(output.trim().split("\n").pop() ?? "{}") as ColdStartResult;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function runColdStart(
  compiled: CompiledBench,
  server: RunningServer,
  serverKind: ServerKind,
  runs: number,
): ColdResult {
  const samples = new Map<ContenderName, ColdStartResult[]>(contenderNames.map((c) => [c, []]));
  const pipelineImports: number[] = [];
  // One run of each contender per round, so drift hits all alike; the first round warms the disk cache.
  for (let run = -1; run < runs; run++) {
    for (const contender of contenderNames) {
      const result = runColdStartOnce(compiled, server, contender);
      if (run >= 0) samples.get(contender)!.push(result);
    }
    const core = runColdStartOnce(compiled, server, "core");
    if (run >= 0) pipelineImports.push(core.importMs);
  }
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
    server: serverKind,
    runs,
    contenders,
    medianPipelineImportMs: median(pipelineImports),
  };
}
