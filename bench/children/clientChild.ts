/**
 * One contender in its own process, so that the CPU time and memory it reports are its own: runs
 * a measured round of its operation when told to. Protocol: framework/protocol.ts.
 */
import { performance } from "node:perf_hooks";
import { childConfig, serveChild } from "../framework/childSide.js";
import { getSecretValue, setSecretValue } from "../framework/fixtures.js";
import type { ClientConfig, Exchanges, RoundResult } from "../framework/protocol.js";
import { createContender, type Contender } from "./contenders.js";

/** One operation of the configured kind, checked so every contender does the same work. */
function operationOf(contender: Contender, config: ClientConfig): () => Promise<void> {
  if (config.operation === "get") {
    return async () => {
      if ((await contender.get()) !== getSecretValue) throw new Error("getSecret: wrong value.");
    };
  }
  if (config.operation === "set") {
    return async () => {
      if ((await contender.set()) !== setSecretValue) throw new Error("setSecret: wrong value.");
    };
  }
  return async () => {
    const count = await contender.list();
    if (count !== config.expectedItems) {
      throw new Error(`list: ${count} items, expected ${config.expectedItems}.`);
    }
  };
}

/**
 * Runs `concurrency` loops of the operation until the deadline or the operation cap.
 * @returns operations completed and operations failed
 */
async function runFor(
  operation: () => Promise<void>,
  concurrency: number,
  durationMs: number,
  maxOps: number,
): Promise<{ ops: number; errors: number; firstError?: unknown }> {
  const deadline = performance.now() + durationMs;
  let ops = 0;
  let errors = 0;
  let firstError: unknown;
  const loop = async (): Promise<void> => {
    while (performance.now() < deadline && ops + errors < maxOps) {
      try {
        await operation();
        ops++;
      } catch (error) {
        errors++;
        firstError ??= error;
        // Failing operations would otherwise spin; a benchmark with errors is void anyway.
        if (errors > 100) return;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return { ops, errors, firstError };
}

/**
 * A warm-up, then a measured round: operations, CPU time and peak RSS of the measured part.
 * @param operation - one checked operation
 * @param concurrency - loops at once
 * @param round - warm-up and round durations, and the operation cap
 * @returns the round's figures
 * @throws Error when any operation of the round failed
 */
async function measuredRound(
  operation: () => Promise<void>,
  concurrency: number,
  round: Exchanges["round"]["ask"],
): Promise<RoundResult> {
  const warmup = await runFor(operation, concurrency, round.warmupMs, round.maxOps);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const run = await runFor(operation, concurrency, round.durationMs, round.maxOps);
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  if (run.errors > 0) {
    const message = run.firstError instanceof Error ? run.firstError.message : "unknown";
    throw new Error(`${run.errors} operations failed; first: ${message}`);
  }
  return {
    ops: run.ops,
    warmupOps: warmup.ops,
    errors: run.errors,
    elapsedMs,
    cpuUs: cpu.user + cpu.system,
    maxRssKb: process.resourceUsage().maxRSS,
  };
}

serveChild(async () => {
  const config = childConfig<ClientConfig>();
  const contender = await createContender(config.contender, config.url, config.ourModuleUrl);
  const operation = operationOf(contender, config);
  // The first operation also proves the setup works (challenge, token, parsing).
  await operation();
  return {
    close: () => contender.close(),
    handlers: { round: (round) => measuredRound(operation, config.concurrency, round) },
  };
});
