/**
 * Shared pieces of the reliability specs and the soak run: a scripted (misbehaving) HTTP server,
 * log capture, error classification and leak checks.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { inspect } from "node:util";
import type { TokenCredential } from "@azure/core-auth";
import { isRestError, SecretClient, type SecretClientOptions } from "../../src/index.js";
import { loopbackClientOptions } from "../helpers/testKit.js";

export { runScript, spawnScript, type ChildRun } from "../helpers/childProcesses.js";
export { collect, loopbackClientOptions, pause, uniqueName } from "../helpers/testKit.js";

/** The challenge every real vault sends (see keyvault-wire-facts.md). */
export const vaultChallenge =
  'Bearer authorization="https://login.windows.net/t", resource="https://vault.azure.net"';

/** A 32-hex-digit version, as the service makes them. */
export function newVersion(): string {
  return randomBytes(16).toString("hex");
}

/** One request as a scripted server received it. */
export interface RecordedRequest {
  method: string;
  /** Path and query as sent. */
  url: string;
  /** Path without the query. */
  path: string;
  headers: IncomingHttpHeaders;
  authorization: string | undefined;
  body: string;
  /** `performance.now()` when the request (with its body) had arrived. */
  at: number;
}

/** What a scripted server does with one request. */
export type ScriptedAction =
  | { status: number; headers?: Record<string, string>; body?: string | Buffer }
  /** Writes the status line, the headers and `partialBody`, then destroys the socket. */
  | { reset: true; headers?: Record<string, string>; partialBody: string }
  /** Never answers (the socket is closed when the server closes). */
  | { hang: true }
  /** Destroys the socket without writing anything. */
  | { drop: true }
  /** Waits, then does `then`. */
  | { delayMs: number; then: ScriptedAction }
  /** Passes the request on to the server's `upstream` and its answer back. */
  | { forward: true };

/** Decides the action for an authorized request; `attempt` counts authorized requests from 0. */
export type Script = (request: RecordedRequest, attempt: number) => ScriptedAction;

/** A running scripted server. */
export interface ScriptedServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** Every request received, challenge requests included. */
  requests: RecordedRequest[];
  /** Every request whose headers arrived (its body may never come), as `METHOD auth=… content-length=…`. */
  arrivals: string[];
  /** Requests that carried an Authorization header. */
  authorized(): RecordedRequest[];
  /** Replaces the script and forgets recorded requests. */
  reset(script: Script): void;
  close(): Promise<void>;
}

/** Options of {@link startScriptedServer}. */
export interface ScriptedServerOptions {
  /**
   * The answer to a request without Authorization. Default: 401 with {@link vaultChallenge}.
   * `null` sends such requests to the script as well.
   */
  challenge?: ScriptedAction | null;
  /** Where `{ forward: true }` sends requests (a proxy in front of the local vault). */
  upstream?: string;
}

/** A JSON answer. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}) {
  return {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
    body: JSON.stringify(body),
  };
}

/** A Key Vault error answer. */
export function vaultError(status: number, code: string, message: string) {
  return json(status, { error: { code, message } });
}

/**
 * Starts a node:http server on 127.0.0.1 (port 0) that answers by script.
 * @param script - answers authorized requests
 * @param options - how to answer requests without a token
 * @returns the server
 */
export async function startScriptedServer(
  script: Script,
  options: ScriptedServerOptions = {},
): Promise<ScriptedServer> {
  let current = script;
  let requests: RecordedRequest[] = [];
  let arrivals: string[] = [];
  let authorizedCount = 0;
  const sockets = new Set<Socket>();
  const challenge =
    options.challenge === undefined
      ? { status: 401, headers: { "WWW-Authenticate": vaultChallenge }, body: "" }
      : options.challenge;

  const forward = (res: ServerResponse, recorded: RecordedRequest): void => {
    if (options.upstream === undefined) {
      res.writeHead(599).end("no upstream");
      return;
    }
    // The Host header goes through unchanged, so the vault builds nextLinks that name the proxy.
    const upstream = httpRequest(
      new URL(recorded.url, options.upstream),
      { method: recorded.method, headers: recorded.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => res.socket?.destroy());
    upstream.end(recorded.body);
  };

  const perform = (
    res: ServerResponse,
    action: ScriptedAction,
    recorded: RecordedRequest,
  ): void => {
    if (res.destroyed) return;
    if ("forward" in action) {
      forward(res, recorded);
    } else if ("delayMs" in action) {
      setTimeout(() => perform(res, action.then, recorded), action.delayMs);
    } else if ("hang" in action) {
      // Nothing: the socket stays open until the server closes it.
    } else if ("drop" in action) {
      res.socket?.destroy();
    } else if ("reset" in action) {
      res.writeHead(200, {
        "content-type": "application/json",
        "content-length": "100000",
        ...action.headers,
      });
      res.write(action.partialBody, () => {
        // Let the bytes leave before the connection breaks.
        setTimeout(() => res.socket?.destroy(), 5);
      });
    } else {
      res.writeHead(action.status, action.headers ?? {});
      res.end(action.body ?? "");
    }
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    arrivals.push(
      `${req.method} auth=${req.headers.authorization !== undefined} content-length=${req.headers["content-length"] ?? "-"}`,
    );
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("error", () => res.destroy());
    req.on("end", () => {
      const url = req.url ?? "/";
      const authorization = req.headers.authorization;
      const recorded: RecordedRequest = {
        method: req.method ?? "GET",
        url,
        path: url.split("?")[0]!,
        headers: req.headers,
        authorization,
        body: Buffer.concat(chunks).toString("utf8"),
        at: performance.now(),
      };
      requests.push(recorded);
      if (authorization === undefined && challenge !== null) {
        perform(res, challenge, recorded);
        return;
      }
      let action: ScriptedAction;
      try {
        action = current(recorded, authorizedCount++);
      } catch (error) {
        action = { status: 599, body: `script failed: ${String(error)}` };
      }
      perform(res, action, recorded);
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return requests;
    },
    get arrivals() {
      return arrivals;
    },
    authorized: () => requests.filter((r) => r.authorization !== undefined),
    reset(next) {
      current = next;
      requests = [];
      arrivals = [];
      authorizedCount = 0;
    },
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

/**
 * A client of a loopback server with fast retries.
 * @param url - the server URL
 * @param credential - the credential
 * @param options - more options
 * @returns the client
 */
export function loopbackClient(
  url: string,
  credential: TokenCredential,
  options: SecretClientOptions = {},
): SecretClient {
  return new SecretClient(url, credential, {
    ...loopbackClientOptions,
    retryOptions: { retryDelayInMs: 1, maxRetryDelayInMs: 20 },
    ...options,
  });
}

/**
 * Runs a promise expected to reject and returns what it rejected with.
 * @param promise - the operation
 * @returns the rejection
 */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof Error, `rejected with a non-Error: ${String(error)}`);
    return error;
  }
  assert.fail("expected the operation to fail");
}

/** Messages of errors thrown by accident (a bug), not by design. */
const accidentalMessage =
  /Cannot read propert|Cannot set propert|is not a function|is not iterable|is not defined|undefined is not|null is not|Unexpected token|Unexpected end of JSON|in JSON at position|Maximum call stack|Invalid time value/;

/**
 * Why an error is not one the client should give back for a bad response, or undefined when it is:
 * a RestError with a status or code, an AbortError, or an Error whose message says what was wrong;
 * never a TypeError/RangeError/SyntaxError thrown by accident.
 * @param error - what the operation rejected with
 * @returns the complaint, or undefined
 */
export function unexpectedErrorReason(error: unknown): string | undefined {
  if (!(error instanceof Error)) return `rejected with a non-Error ${inspect(error)}`;
  const label = `${error.name}: ${error.message}`;
  if (accidentalMessage.test(error.message)) return `an accidental error: ${label}`;
  if (isRestError(error) && error.statusCode !== undefined && error.response !== undefined) {
    // The service's own message (or the client's description of the answer): it speaks for itself.
    return undefined;
  }
  if (error.message.trim().length < 10) return `a message that names nothing: ${label}`;
  if (isRestError(error)) {
    return error.statusCode !== undefined || error.code !== undefined
      ? undefined
      : `a RestError without status or code: ${label}`;
  }
  if (error.name === "AbortError") return undefined;
  if (error.constructor === Error && error.name === "Error") return undefined;
  return `an unrelated ${error.name}: ${error.message}`;
}

/**
 * Everything of an error a user could see: message, JSON, util.inspect, details.
 * @param error - the error
 * @returns the text
 */
export function visibleText(error: unknown): string {
  const parts: string[] = [String(error), inspect(error, { depth: 8 })];
  try {
    parts.push(JSON.stringify(error) ?? "");
  } catch (stringifyError) {
    parts.push(`JSON.stringify threw ${String(stringifyError)}`);
  }
  return parts.join("\n");
}

/**
 * Names every secret found in a text.
 * @param text - a log, message, or serialized error
 * @param secrets - values that must not appear
 * @returns the secrets found (empty when clean)
 */
export function leaksIn(text: string, secrets: readonly string[]): string[] {
  const found = secrets.filter((secret) => secret.length > 0 && text.includes(secret));
  // A bearer token of any kind, redacted headers excepted.
  // A bearer token (token68 with an inner dot, as access tokens are); `Bearer authorization="…"`,
  // `Bearer https://…` and prose ("a Bearer challenge") are not tokens.
  const bearerTokens = [...text.matchAll(/Bearer\s+([^\s,"']+)/g)].map((m) => m[1]!);
  if (bearerTokens.some((t) => /^[A-Za-z0-9\-_~+/]+\.[A-Za-z0-9\-_~+/.]+=*$/.test(t))) {
    found.push("a Bearer token");
  }
  if (/eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{4,}/.test(text)) found.push("a JWT");
  return found;
}

/**
 * Resolves with the first stdout line of a child that parses as JSON.
 * @param child - the child
 * @param timeoutMs - give up after this long
 * @returns the parsed line
 */
export function firstJsonLine<T>(child: ChildProcess, timeoutMs = 20_000): Promise<T> {
  return new Promise((done, fail) => {
    let buffered = "";
    let stderr = "";
    const timer = setTimeout(
      () => fail(new Error(`no JSON line from the child within ${timeoutMs} ms: ${stderr}`)),
      timeoutMs,
    );
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      buffered += chunk;
      for (const line of buffered.split("\n").slice(0, -1)) {
        try {
          const parsed = JSON.parse(line) as T;
          clearTimeout(timer);
          done(parsed);
          return;
        } catch {
          // Not the line we wait for.
        }
      }
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      fail(new Error(`the child exited (${code ?? signal}) before printing JSON: ${stderr}`));
    });
  });
}

/**
 * Resident set size in MiB, rounded to one decimal.
 * @returns the RSS
 */
export function rssMiB(): number {
  return Math.round((process.memoryUsage().rss / 1024 / 1024) * 10) / 10;
}
