/**
 * Child processes of the benchmark: every one is tracked from the moment it is started and killed
 * (by its own pid) when the benchmark ends, fails or is interrupted. Every wait has a time limit.
 */
import { fork, type ChildProcess, type ForkOptions } from "node:child_process";

const children = new Set<ChildProcess>();

/**
 * Starts a Node.js child with an IPC channel and tracks it.
 * @param modulePath - the compiled module to run
 * @param args - its argv
 * @param options - fork options (env, execArgv, ...)
 * @returns the child
 */
export function forkTracked(
  modulePath: string,
  args: string[],
  options: ForkOptions = {},
): ChildProcess {
  const child = fork(modulePath, args, { stdio: ["ignore", "pipe", "pipe", "ipc"], ...options });
  children.add(child);
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    // Kept (bounded) for the error message when the child fails.
    if (stderr.length < 8192) stderr += chunk.toString();
  });
  child.once("exit", () => children.delete(child));
  (child as ChildProcess & { stderrText: () => string }).stderrText = () => stderr;
  return child;
}

/** What the child wrote to stderr so far (bounded), for error messages. */
export function stderrOf(child: ChildProcess): string {
  const reader = (child as ChildProcess & { stderrText?: () => string }).stderrText;
  return reader === undefined ? "" : reader().trim();
}

/**
 * Waits for the next IPC message that `accept` recognises.
 * @param child - the child
 * @param accept - returns the value to resolve with, or undefined to keep waiting; may throw to fail
 * @param timeoutMs - time limit
 * @param what - what is awaited, for the error message
 * @returns what `accept` returned
 */
export function nextMessage<T>(
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
      const detail = stderrOf(child);
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
export function exited(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Kills every child still running (each by its own pid). */
export function killAllChildren(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
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

/**
 * For a child that serves a local vault: it closes the vault and exits when its parent goes away
 * or stops it (at most 2 s later, whatever the close does).
 * @param vault - the vault to close
 */
export function closeWithParent(vault: { close(): Promise<void> }): void {
  const stop = (): void => {
    vault.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on("disconnect", stop);
  process.on("SIGTERM", stop);
}
