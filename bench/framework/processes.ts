/**
 * The benchmark's side of the protocol (protocol.ts): child processes started, asked, stopped.
 * Every child runs compiled JavaScript under plain `node`, is tracked from the moment it is
 * started, and is killed (by its own pid) when the benchmark ends, fails or is interrupted. Every
 * wait has a time limit.
 */
import { execFileSync, fork, type ChildProcess } from "node:child_process";
import type { ChildProgram, CompiledBench } from "./compile.js";
import type { Answer, ChildMessage, Command, CommandName, ReadyInfo } from "./protocol.js";

const children = new Set<ChildProcess>();
const stderrOf = new WeakMap<ChildProcess, () => string>();

/** A long-lived child that has said `ready`. */
export interface BenchChild {
  /** Names the child in error messages. */
  label: string;
  process: ChildProcess;
  ready: ReadyInfo;
  /** The highest RSS the child reported (ready, rounds, stop), kilobytes. */
  peakRssKb: number;
}

/** How a child is started. */
export interface StartOptions {
  /** Names the child in error messages. */
  label: string;
  /** Its environment (default: this one's, without NODE_OPTIONS). */
  env?: NodeJS.ProcessEnv;
  /** Node's flags for it (default: none, whatever this process runs under). */
  execArgv?: string[];
  /** How long it may take to say `ready`. */
  readyTimeoutMs: number;
}

/**
 * This process's environment without NODE_OPTIONS: children run plain `node`, no TypeScript loader.
 * @param extra - variables to add
 * @returns the environment
 */
export function plainEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.NODE_OPTIONS;
  return env;
}

/**
 * Starts a long-lived child with an IPC channel, tracks it and waits for its `ready`.
 * @param compiled - the compiled programs
 * @param program - which child program
 * @param config - its configuration (argv[2], JSON)
 * @param options - label, environment, flags, time limit
 * @returns the child, ready
 */
export async function startChild(
  compiled: CompiledBench,
  program: ChildProgram,
  config: object,
  options: StartOptions,
): Promise<BenchChild> {
  const child = fork(compiled.childModule(program), [JSON.stringify(config)], {
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    env: options.env ?? plainEnv(),
    execArgv: options.execArgv ?? [],
  });
  children.add(child);
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    // Kept (bounded) for the error message when the child fails.
    if (stderr.length < 8192) stderr += chunk.toString();
  });
  stderrOf.set(child, () => stderr.trim());
  child.once("exit", () => children.delete(child));
  const ready = await nextMessage(
    child,
    (message) => {
      const typed = failedOr(message as ChildMessage, options.label);
      return typed.type === "ready" ? typed : undefined;
    },
    options.readyTimeoutMs,
    `${options.label} to start`,
  );
  return { label: options.label, process: child, ready, peakRssKb: ready.maxRssKb };
}

function failedOr(message: ChildMessage, label: string): ChildMessage {
  if (message.type === "failed") throw new Error(`${label}: ${message.message}`);
  return message;
}

/**
 * Sends a command and waits for the child's answer to it.
 * @param child - the child
 * @param command - the command
 * @param timeoutMs - how long the answer may take
 * @returns the answer
 * @throws Error when the child fails the command, exits or takes too long
 */
export async function ask<N extends CommandName>(
  child: BenchChild,
  command: Command<N>,
  timeoutMs: number,
): Promise<Answer<N>> {
  const answered = nextMessage(
    child.process,
    (message) => {
      const typed = failedOr(message as ChildMessage, child.label);
      // Wrapped: some answers are null.
      return typed.type === "answer" && typed.command === command.type
        ? { answer: typed.answer as Answer<N> }
        : undefined;
    },
    timeoutMs,
    `${child.label} to answer ${command.type}`,
  );
  child.process.send(command);
  return (await answered).answer;
}

/**
 * Stops a child: it closes what it holds, reports its peak RSS and exits; killed if it takes
 * longer than a few seconds.
 * @param child - the child
 */
export async function stopChild(child: BenchChild): Promise<void> {
  if (!running(child.process)) return;
  try {
    const { maxRssKb } = await ask(child, { type: "stop" }, 10_000);
    child.peakRssKb = Math.max(child.peakRssKb, maxRssKb);
  } finally {
    await exited(child.process, 5_000);
  }
}

/**
 * Starts children one after the other, runs `body` with them, then stops them; whatever fails,
 * none is left running.
 * @param starts - what starts each child
 * @param body - what to do with them, in the order started
 * @returns what `body` returned
 */
export async function withChildren<T>(
  starts: Array<() => Promise<BenchChild>>,
  body: (children: BenchChild[]) => Promise<T>,
): Promise<T> {
  const children: BenchChild[] = [];
  try {
    for (const start of starts) children.push(await start());
    const result = await body(children);
    for (const child of children) await stopChild(child);
    return result;
  } finally {
    for (const child of children) killChild(child);
  }
}

/**
 * Runs a one-shot child to its end, under plain `node` without an IPC channel.
 * @param compiled - the compiled programs
 * @param program - which child program
 * @param config - its configuration (argv[2], JSON)
 * @param options - environment and time limit
 * @returns what it printed last (JSON)
 */
export function runOneShot<T>(
  compiled: CompiledBench,
  program: ChildProgram,
  config: object,
  options: { env?: NodeJS.ProcessEnv; timeoutMs: number },
): T {
  const output = execFileSync(
    process.execPath,
    [compiled.childModule(program), JSON.stringify(config)],
    {
      env: options.env ?? plainEnv(),
      timeout: options.timeoutMs,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  return JSON.parse(output.trim().split("\n").pop() ?? "{}") as T;
}

function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/**
 * Waits for the next IPC message that `accept` recognises.
 * @param child - the child
 * @param accept - returns the value to resolve with, or undefined to keep waiting; may throw to fail
 * @param timeoutMs - time limit
 * @param what - what is awaited, for the error message
 * @returns what `accept` returned
 */
function nextMessage<T>(
  child: ChildProcess,
  accept: (message: unknown) => T | undefined,
  timeoutMs: number,
  what: string,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer);
      child.off("message", onMessage);
      child.off("exit", onExit);
    };
    const onMessage = (message: unknown): void => {
      let value: T | undefined;
      try {
        value = accept(message);
      } catch (error) {
        cleanup();
        reject(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      if (value !== undefined) {
        cleanup();
        resolve(value);
      }
    };
    const onExit = (code: number | null, signal: string | null): void => {
      cleanup();
      const detail = stderrOf.get(child)?.() ?? "";
      reject(
        new Error(
          `Child ${child.pid} exited (${code ?? signal}) while waiting for ${what}.` +
            (detail ? `\n${detail}` : ""),
        ),
      );
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`));
    }, timeoutMs);
    child.on("message", onMessage);
    child.once("exit", onExit);
  });
}

/**
 * Waits until a child has exited, killing it after `graceMs`.
 * @param child - the child
 * @param graceMs - how long it may take to exit on its own
 * @returns once it has exited
 */
function exited(child: ChildProcess, graceMs: number): Promise<void> {
  if (!running(child)) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Kills a child at once, if it still runs (the clean-up after a failure).
 * @param child - the child
 */
function killChild(child: BenchChild): void {
  if (running(child.process)) child.process.kill("SIGKILL");
}

/** Kills every child still running (each by its own pid). */
export function killAllChildren(): void {
  for (const child of children) {
    if (running(child)) child.kill("SIGKILL");
  }
  children.clear();
}

/**
 * For the benchmark's main program: when it exits or is interrupted, every child is killed and
 * the compiled programs are removed.
 * @param compiled - what compileBench built
 */
export function cleanUpOnExit(compiled: { remove(): void }): void {
  const cleanUp = (): void => {
    killAllChildren();
    compiled.remove();
  };
  process.once("exit", cleanUp);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      cleanUp();
      process.exit(130);
    });
  }
}
