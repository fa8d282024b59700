/**
 * The client scenarios get, set, list1k and list10k: our client, the official one and the raw loop,
 * each in its own process (children/clientChild.ts), against each server; per concurrency (1 and
 * 16) the three take turns round by round (A B C A B C ...). Figures: operations per second, CPU
 * per operation, peak RSS.
 */
import type { CompiledBench } from "../../framework/compile.js";
import { contenderNames, type ContenderName } from "../../framework/fixtures.js";
import { takeTurns } from "../../framework/measure.js";
import { ask, startChild, withChildren, type BenchChild } from "../../framework/processes.js";
import type { OperationKind, RoundResult } from "../../framework/protocol.js";
import { startServer, type RunningServer, type ServerKind } from "../../framework/servers.js";
import type { RunContext, Scenario } from "../scenario.js";

/** How long the rounds of the client scenarios are. */
export interface Settings {
  rounds: number;
  durationMs: number;
  firstWarmupMs: number;
  roundWarmupMs: number;
  coldRuns: number;
  profileMs: number;
}

const fullSettings: Settings = {
  rounds: 3,
  durationMs: 2_000,
  firstWarmupMs: 1_000,
  roundWarmupMs: 300,
  coldRuns: 10,
  profileMs: 5_000,
};
const quickSettings: Settings = {
  rounds: 2,
  durationMs: 500,
  firstWarmupMs: 400,
  roundWarmupMs: 150,
  coldRuns: 5,
  profileMs: 2_000,
};

/**
 * The settings of a run.
 * @param context - the run
 * @returns full or --quick settings
 */
export function settingsOf(context: RunContext): Settings {
  return context.options.quick ? quickSettings : fullSettings;
}

/** The concurrencies every operation runs at. */
export const concurrencies = [1, 16];

/** No round may do more than this many operations (a bound on every loop, whatever the speed). */
const maxOpsPerRound = 2_000_000;

/** What an operation scenario measures. */
export interface Operation {
  name: "get" | "set" | "list1k" | "list10k";
  kind: OperationKind;
  /** Secrets the server lists. */
  items: number;
  label: string;
}

/** Every operation scenario, in run order. */
export const operations: readonly Operation[] = [
  { name: "get", kind: "get", items: 0, label: "getSecret" },
  { name: "set", kind: "set", items: 0, label: "setSecret" },
  { name: "list1k", kind: "list", items: 1_000, label: "list 1,000" },
  { name: "list10k", kind: "list", items: 10_000, label: "list 10,000" },
];

/** Figures of one contender in one operation scenario. */
export interface ContenderFigures {
  ops: number;
  opsPerSecond: number;
  cpuUsPerOp: number;
  peakRssMb: number;
  /** ops/s of each round, to show the spread. */
  roundOpsPerSecond: number[];
}

/** One operation scenario on one server at one concurrency. */
export interface OperationResult {
  server: ServerKind;
  scenario: Operation["name"];
  label: string;
  concurrency: number;
  items: number;
  contenders: Record<ContenderName, ContenderFigures>;
}

/**
 * Starts the server an operation needs (the local vault also holds the get secret).
 * @param compiled - the compiled programs
 * @param kind - which server
 * @param operation - the operation
 * @param https - over TLS
 * @returns the server
 */
export function serverFor(
  compiled: CompiledBench,
  kind: ServerKind,
  operation: Operation,
  https: boolean,
): Promise<RunningServer> {
  return startServer(compiled, kind, { secrets: operation.items, getSecret: true, https });
}

/**
 * Starts one contender's child for an operation.
 * @param compiled - the compiled programs
 * @param server - the server it talks to
 * @param contender - which contender
 * @param operation - what it does, and at which concurrency
 * @param execArgv - Node's flags for it (a CPU profile)
 * @returns the child, ready (its first operation done)
 */
export function startContender(
  compiled: CompiledBench,
  server: RunningServer,
  contender: ContenderName,
  operation: { operation: Operation; concurrency: number },
  execArgv: string[] = [],
): Promise<BenchChild> {
  return startChild(
    compiled,
    "clientChild",
    {
      contender,
      operation: operation.operation.kind,
      concurrency: operation.concurrency,
      url: server.url,
      // The local vault also holds the get scenarios' secret.
      expectedItems: operation.operation.items + (server.kind === "vault" ? 1 : 0),
      ourModuleUrl: compiled.ourModuleUrl,
    },
    { label: contender, env: server.clientEnv, execArgv, readyTimeoutMs: 60_000 },
  );
}

/**
 * A warm-up and one measured round of a contender.
 * @param child - the contender's child
 * @param warmupMs - the warm-up
 * @param durationMs - the measured round
 * @returns the round's figures
 */
export async function runRound(
  child: BenchChild,
  warmupMs: number,
  durationMs: number,
): Promise<RoundResult> {
  const result = await ask(
    child,
    { type: "round", warmupMs, durationMs, maxOps: maxOpsPerRound },
    warmupMs + durationMs + 120_000,
  );
  child.peakRssKb = Math.max(child.peakRssKb, result.maxRssKb);
  return result;
}

function figuresOf(child: BenchChild, results: RoundResult[]): ContenderFigures {
  const ops = results.reduce((sum, r) => sum + r.ops, 0);
  const elapsedMs = results.reduce((sum, r) => sum + r.elapsedMs, 0);
  const cpuUs = results.reduce((sum, r) => sum + r.cpuUs, 0);
  return {
    ops,
    opsPerSecond: ops / (elapsedMs / 1000),
    cpuUsPerOp: ops === 0 ? NaN : cpuUs / ops,
    peakRssMb: child.peakRssKb / 1024,
    roundOpsPerSecond: results.map((r) => r.ops / (r.elapsedMs / 1000)),
  };
}

/** One operation at one concurrency: a child per contender, rounds interleaved A B C A B C ... */
async function measureOperation(
  context: RunContext,
  server: RunningServer,
  operation: Operation,
  concurrency: number,
): Promise<OperationResult> {
  const settings = settingsOf(context);
  const starts = contenderNames.map(
    (contender) => () =>
      startContender(context.compiled(), server, contender, { operation, concurrency }),
  );
  // Figures after the children stopped: their last word on peak RSS comes with the stop.
  const { children, rounds } = await withChildren(starts, async (children) => ({
    children,
    rounds: await takeTurns(children, { measured: settings.rounds }, (child, turn) =>
      runRound(
        child,
        turn === 0 ? settings.firstWarmupMs : settings.roundWarmupMs,
        settings.durationMs,
      ),
    ),
  }));
  const contenders = {} as Record<ContenderName, ContenderFigures>;
  children.forEach((child, i) => {
    contenders[contenderNames[i]!] = figuresOf(child, rounds.get(child)!);
  });
  return {
    server: server.kind,
    scenario: operation.name,
    label: operation.label,
    concurrency,
    items: operation.items,
    contenders,
  };
}

function operationScenario(operation: Operation): Scenario {
  return {
    name: operation.name,
    summary: `${operation.label}: ops/s, CPU per operation, peak RSS; ours, official, raw`,
    byDefault: true,
    run: async (context) => {
      for (const kind of context.options.servers) {
        const server = await serverFor(context.compiled(), kind, operation, context.options.https);
        try {
          for (const concurrency of concurrencies) {
            process.stdout.write(`${kind}: ${operation.label}, concurrency ${concurrency} ...\n`);
            context.clientFigures.operations.push(
              await measureOperation(context, server, operation, concurrency),
            );
          }
        } finally {
          await server.stop();
        }
      }
    },
  };
}

/** The scenarios get, set, list1k and list10k. */
export const operationScenarios: Scenario[] = operations.map(operationScenario);
