/**
 * One contender in its own process, so that the CPU time and memory it reports are its own. Started
 * by `bench/run.ts` with `fork` (argv[2] = ClientConfig JSON, argv[3] = our client's module); runs
 * measured rounds when told to, over IPC, and exits when told to stop or when the parent goes away.
 */
import { performance } from "node:perf_hooks";
import { createContender, type Contender } from "./contenders.js";
import {
  getSecretValue,
  setSecretValue,
  type ClientCommand,
  type ClientConfig,
  type ClientMessage,
  type RoundResult,
} from "./protocol.js";

function maxRssKb(): number {
  return process.resourceUsage().maxRSS;
}

function reply(message: ClientMessage, then?: () => void): void {
  if (process.send === undefined) return then?.();
  process.send(message, undefined, {}, () => then?.());
}

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

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? "{}") as ClientConfig;
  const ourModule = process.argv[3] ?? "";
  const contender = await createContender(config.contender, config.url, ourModule);
  const operation = operationOf(contender, config);
  // The first operation also proves the setup works (challenge, token, parsing).
  await operation();
  process.on("disconnect", () => process.exit(0));
  process.on("message", (command: ClientCommand) => {
    if (command.type === "stop") {
      contender.close();
      // Exit (not just disconnect) so that --cpu-prof writes its profile at once.
      reply({ type: "stopped", maxRssKb: maxRssKb() }, () => process.exit(0));
      return;
    }
    void (async () => {
      try {
        const warmup = await runFor(
          operation,
          config.concurrency,
          command.warmupMs,
          command.maxOps,
        );
        const cpuBefore = process.cpuUsage();
        const started = performance.now();
        const run = await runFor(operation, config.concurrency, command.durationMs, command.maxOps);
        const elapsedMs = performance.now() - started;
        const cpu = process.cpuUsage(cpuBefore);
        if (run.errors > 0) {
          const message = run.firstError instanceof Error ? run.firstError.message : "unknown";
          reply({ type: "failed", message: `${run.errors} operations failed; first: ${message}` });
          return;
        }
        const result: RoundResult = {
          ops: run.ops,
          warmupOps: warmup.ops,
          errors: run.errors,
          elapsedMs,
          cpuUs: cpu.user + cpu.system,
          maxRssKb: maxRssKb(),
        };
        reply({ type: "result", result });
      } catch (error) {
        reply({ type: "failed", message: error instanceof Error ? error.message : String(error) });
      }
    })();
  });
  reply({ type: "ready", maxRssKb: maxRssKb() });
}

main().catch((error: unknown) => {
  reply({ type: "failed", message: error instanceof Error ? error.message : String(error) });
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 500).unref();
});
