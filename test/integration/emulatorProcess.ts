/**
 * The `keyvault-emulator` command as a child process: started with an argument list and an
 * environment, waited for until it prints its URL, and stopped with SIGTERM.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";

/** The built command (npm test builds before it tests): the package's bin. */
export const builtCli = path.resolve(
  (JSON.parse(readFileSync("package.json", "utf8")) as { bin: Record<string, string> }).bin[
    "keyvault-emulator"
  ],
);

/** A running command. */
export interface EmulatorProcess {
  child: ChildProcessWithoutNullStreams;
  /** Everything printed so far. */
  output(): { stdout: string; stderr: string };
  /** Resolves with the exit code (or the signal) once the process has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts a command.
 * @param command - the program and its arguments, e.g. `[process.execPath, builtCli, "--port", "0"]`
 * @param env - the whole environment of the child (nothing is inherited but PATH)
 * @returns the process
 */
export function startProcess(command: string[], env: Record<string, string>): EmulatorProcess {
  const child = spawn(command[0], command.slice(1), {
    // Node hands NODE_V8_COVERAGE to children unless the env names it. The built files' coverage
    // is mapped back to src/ with every comment line counted, which would skew the report of
    // code the in-process tests already cover: built children are left out of it.
    env: { PATH: process.env.PATH ?? "", NODE_V8_COVERAGE: "", ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    output: () => ({ stdout, stderr }),
    exited,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}

/**
 * Waits until the command prints its URL (or ends).
 * @param started - the process
 * @returns the vault URL and the page link it printed
 * @throws Error with the output when the process ends first
 */
export async function waitForVault(
  started: EmulatorProcess,
): Promise<{ vaultUrl: string; pageUrl: string | undefined }> {
  const ready = new Promise<void>((resolve) => {
    const check = (): void => {
      if (/Press Ctrl\+C to stop\./.test(started.output().stdout)) {
        started.child.stdout.off("data", check);
        resolve();
      }
    };
    started.child.stdout.on("data", check);
    check();
  });
  const ended = started.exited.then(() => "ended" as const);
  if ((await Promise.race([ready.then(() => "ready" as const), ended])) === "ended") {
    const { stdout, stderr } = started.output();
    throw new Error(`keyvault-emulator ended before it answered:\n${stdout}\n${stderr}`);
  }
  const { stdout } = started.output();
  const vaultUrl = /listening on (\S+)/.exec(stdout)?.[1] as string;
  const pageUrl = /(\S+\/__local\/page\?token=\S+)/.exec(stdout)?.[1];
  return { vaultUrl, pageUrl };
}

/**
 * Runs a command to its end.
 * @param command - the program and its arguments
 * @param env - the whole environment of the child (nothing is inherited but PATH)
 * @returns the exit code and output
 */
export async function runProcess(
  command: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const started = startProcess(command, env);
  started.child.stdin.end();
  const { code } = await started.exited;
  return { code, ...started.output() };
}
