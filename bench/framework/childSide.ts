/**
 * The child's side of the protocol (protocol.ts), the same for every child program: its
 * configuration, its `ready`, its answers, its `stop`, and its exit when the parent goes away.
 * Kept free of imports, so that a cold-start child loads nothing more before it starts timing.
 */
import type { Answer, ChildMessage, Command, CommandName, ReadyInfo } from "./protocol.js";

/**
 * The configuration the parent passed (argv[2], JSON).
 * @returns it, as the child program expects it
 */
export function childConfig<T>(): T {
  return JSON.parse(process.argv[2] ?? "{}") as T;
}

/**
 * A one-shot child's result: the last line of its stdout.
 * @param result - what to print, as JSON
 */
export function printResult(result: object): void {
  process.stdout.write(JSON.stringify(result) + "\n");
}

/** What a long-lived child serves. */
export interface ChildService<N extends CommandName> {
  /** Added to `ready` (a server's URL and CA). */
  ready?: Omit<ReadyInfo, "maxRssKb">;
  /** One handler a command the child takes (every child takes `stop`). */
  handlers: { [K in N]: (command: Command<K>) => Answer<K> | Promise<Answer<K>> };
  /** Releases what the child holds, before it exits. */
  close?(): void | Promise<void>;
}

function maxRssKb(): number {
  return process.resourceUsage().maxRSS;
}

function send(message: ChildMessage, then?: () => void): void {
  if (process.send === undefined) return then?.();
  process.send(message, undefined, {}, () => then?.());
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs a long-lived child: starts its service, says `ready`, answers commands one by one, and
 * exits on `stop`, when the parent goes away, or on SIGTERM (at most 2 s after, whatever the close
 * does). A start that fails is reported as `failed`, and the child exits.
 * @param start - builds the service (starts a server, a client, ...)
 */
export function serveChild<N extends CommandName>(start: () => Promise<ChildService<N>>): void {
  start().then(serve, (error: unknown) => {
    send({ type: "failed", message: messageOf(error) });
    process.exitCode = 1;
    setTimeout(() => process.exit(1), 500).unref();
  });
}

function serve<N extends CommandName>(service: ChildService<N>): void {
  let stopping = false;
  const stop = (answerParent: boolean): void => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(0), 2000).unref();
    // Exit (not just disconnect) so that --cpu-prof writes its profile at once.
    const exit = (): void =>
      answerParent
        ? send({ type: "answer", command: "stop", answer: { maxRssKb: maxRssKb() } }, () =>
            process.exit(0),
          )
        : process.exit(0);
    Promise.resolve()
      .then(() => service.close?.())
      .then(exit, exit);
  };
  const handlers = service.handlers as Partial<Record<CommandName, (command: Command) => unknown>>;
  process.on("disconnect", () => stop(false));
  process.on("SIGTERM", () => stop(false));
  process.on("message", (command: Command) => {
    if (command.type === "stop") return stop(true);
    const handler = handlers[command.type];
    if (handler === undefined) {
      send({ type: "failed", message: `this child takes no "${command.type}" command` });
      return;
    }
    Promise.resolve()
      .then(() => handler(command))
      .then(
        (answer) => send({ type: "answer", command: command.type, answer }),
        (error: unknown) => send({ type: "failed", message: messageOf(error) }),
      );
  });
  send({ type: "ready", maxRssKb: maxRssKb(), ...service.ready });
}
