/**
 * The command `keyvault-secrets run` starts: the one owner of its child process. It starts the
 * child, forwards signals to whichever child is current, restarts it with a new environment (stop
 * signal, grace period, SIGKILL, then the new child), and settles `finished` when a child exits on
 * its own. No child outlives `run` when `run` ends, and only one child runs at a time.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { InjectError } from "./connection.js";
import { SecretMasker } from "./secretMasker.js";

/** Signals passed on to the command. */
export const forwardedSignals: NodeJS.Signals[] = [
  "SIGINT",
  "SIGTERM",
  "SIGHUP",
  "SIGQUIT",
  "SIGUSR1",
  "SIGUSR2",
  "SIGWINCH",
];

/** Forwarded signals that ask `run` to end: no restart follows them. */
const endingSignals = new Set<NodeJS.Signals>(["SIGINT", "SIGTERM", "SIGQUIT"]);

/** How the command is started and stopped. */
export interface ChildSupervisorOptions {
  command: string;
  args: string[];
  /** Pipe stdout and stderr through maskers of every value given to any child so far. */
  mask: boolean;
  /** Sent to stop the child before a restart. */
  stopSignal: NodeJS.Signals;
  /** How long the child may take to stop before SIGKILL. */
  graceInMs: number;
}

/** How the last child ended. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Starts, restarts and watches the command's child process. */
export class ChildSupervisor {
  /** Settles when a child exits on its own (or after a forwarded signal); rejects when one cannot be started. */
  readonly finished: Promise<ChildExit>;
  private settle!: (exit: ChildExit) => void;
  private fail!: (error: InjectError) => void;
  private child: ChildProcess | undefined;
  /** The environment of the next child, while the current one is stopped for a restart. */
  private nextEnv: NodeJS.ProcessEnv | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  /** A signal asked `run` to end, or a child could not start: no more restarts. */
  private ending = false;
  private readonly maskedValues = new Set<string>();
  private readonly forward = (signal: NodeJS.Signals): void => {
    if (endingSignals.has(signal)) this.ending = true;
    if (this.isRunning()) this.child!.kill(signal);
  };
  /** When `run` exits while a child still runs (an error of its own), the child is stopped. */
  private readonly stopOnExit = (): void => {
    if (this.isRunning()) this.child!.kill(this.options.stopSignal);
  };

  constructor(private readonly options: ChildSupervisorOptions) {
    this.finished = new Promise<ChildExit>((resolve, reject) => {
      this.settle = resolve;
      this.fail = reject;
    });
    // Whoever awaits `finished` sees the failure; until then it must not count as unhandled.
    this.finished.catch(() => undefined);
  }

  /**
   * Starts the first child and begins forwarding signals.
   * @param env - its whole environment
   * @param values - the secret values in it (masked with `mask`)
   */
  start(env: NodeJS.ProcessEnv, values: string[]): void {
    for (const signal of forwardedSignals) process.on(signal, this.forward);
    process.on("exit", this.stopOnExit);
    this.spawnChild(env, values);
  }

  /**
   * Whether a restart would happen: false once a signal asked `run` to end, or the last child
   * ended.
   * @returns whether {@link restart} would restart
   */
  get canRestart(): boolean {
    return !this.ending && this.child !== undefined;
  }

  /**
   * Stops the current child (the stop signal, then SIGKILL after the grace period) and, once it
   * has exited, starts a new one with this environment. A restart asked for while one is under
   * way replaces its environment.
   * @param env - the new child's whole environment
   * @param values - the secret values in it
   * @returns false when `run` is ending (a signal asked it to), so nothing is restarted
   */
  restart(env: NodeJS.ProcessEnv, values: string[]): boolean {
    const child = this.child;
    if (!this.canRestart || child === undefined) return false;
    for (const value of values) this.maskedValues.add(value);
    const stopping = this.nextEnv !== undefined;
    this.nextEnv = env;
    if (stopping) return true;
    child.kill(this.options.stopSignal);
    this.graceTimer = setTimeout(() => {
      if (this.child === child && this.isRunning()) child.kill("SIGKILL");
    }, this.options.graceInMs);
    return true;
  }

  private isRunning(): boolean {
    return (
      this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
    );
  }

  private spawnChild(env: NodeJS.ProcessEnv, values: string[]): void {
    for (const value of values) this.maskedValues.add(value);
    const { command, args, mask } = this.options;
    let child: ChildProcess;
    try {
      child = spawn(command, args, { env, stdio: mask ? ["inherit", "pipe", "pipe"] : "inherit" });
    } catch (error) {
      this.end(cannotStart(command, error as NodeJS.ErrnoException));
      return;
    }
    this.child = child;
    const flushed = mask ? this.pipeMasked(child) : [];
    let failed = false;
    child.once("error", (error: NodeJS.ErrnoException) => {
      // Only a child that never started: a failed kill of a running one is of no consequence.
      if (child.pid !== undefined) return;
      failed = true;
      this.end(cannotStart(command, error));
    });
    child.once("exit", () => {
      clearTimeout(this.graceTimer);
      const next = this.nextEnv;
      this.nextEnv = undefined;
      if (next !== undefined && !this.ending && !failed) this.spawnChild(next, []);
    });
    child.once("close", (code: number | null, signal: NodeJS.Signals | null) => {
      if (failed || this.child !== child) return;
      void Promise.all(flushed).then(() => this.end({ code, signal }));
    });
  }

  /** The child's stdout and stderr through maskers of every value given out, into ours. */
  private pipeMasked(child: ChildProcess): Array<Promise<unknown>> {
    const outMasker = new SecretMasker(this.maskedValues);
    const errMasker = new SecretMasker(this.maskedValues);
    child.stdout!.pipe(outMasker).pipe(process.stdout, { end: false });
    child.stderr!.pipe(errMasker).pipe(process.stderr, { end: false });
    return [once(outMasker, "end"), once(errMasker, "end")];
  }

  /** The last child ended (or could not start): signals are no longer forwarded. */
  private end(outcome: ChildExit | InjectError): void {
    this.ending = true;
    for (const signal of forwardedSignals) process.off(signal, this.forward);
    process.off("exit", this.stopOnExit);
    if (outcome instanceof InjectError) this.fail(outcome);
    else this.settle(outcome);
  }
}

/**
 * Why the command could not be started. Node's own message is left out: for a bad environment
 * it quotes the value.
 */
function cannotStart(command: string, error: NodeJS.ErrnoException): InjectError {
  if (error.code === "ENOENT") return new InjectError(`${command}: command not found.`, 127);
  if (error.code === "EACCES") {
    return new InjectError(`${command}: permission denied (not executable).`, 126);
  }
  return new InjectError(`${command} could not be started (${error.code ?? error.name}).`, 126);
}
