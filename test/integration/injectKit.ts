/**
 * Helpers of the `keyvault-secrets run`, preload and reference specs: running the built command and
 * preloads (from dist/, as users do) in child processes against a local vault.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LocalVault } from "../../src/emulator/index.js";
import { repoRoot } from "../helpers/testKit.js";

export { assertBuilt } from "../helpers/childProcesses.js";
export { repoRoot } from "../helpers/testKit.js";

/** The built `keyvault-secrets` command. */
export const cliPath = join(repoRoot, "dist/esm/inject/bin.js");

/**
 * The environment of a child that reaches the local vault through its identity endpoint, and
 * nothing of this process's environment but PATH (and coverage output).
 * @param vault - the local vault
 * @param extra - more variables
 * @returns the environment
 */
export function vaultEnv(
  vault: LocalVault,
  extra: Record<string, string | undefined> = {},
): NodeJS.ProcessEnv {
  return childEnv(
    {
      KEYVAULT_URI: vault.vaultUrl,
      IDENTITY_ENDPOINT: vault.identityEndpoint,
      IDENTITY_HEADER: vault.identityHeader,
    },
    extra,
  );
}

/** PATH (and coverage output), the variables, then `extra` (undefined removes one). */
function childEnv(
  variables: Record<string, string>,
  extra: Record<string, string | undefined>,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env["PATH"], ...variables };
  if (process.env["NODE_V8_COVERAGE"]) env["NODE_V8_COVERAGE"] = process.env["NODE_V8_COVERAGE"];
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

/** A finished child process. */
export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A started child process and its output so far. */
export interface Started {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout contains the text. */
  waitForOutput(text: string): Promise<void>;
  /** Resolves once stderr contains the text (`count` times). */
  waitForError(text: string, count?: number): Promise<void>;
  finished: Promise<Finished>;
}

/**
 * Starts a process (never through a shell).
 * @param command - the program
 * @param args - its arguments
 * @param env - its whole environment
 * @param cwd - its working directory
 * @returns the running process
 */
export function start(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd = repoRoot,
): Started {
  const child = spawn(command, args, { env, cwd, stdio: ["ignore", "pipe", "pipe"] });
  const output = { stdout: "", stderr: "" };
  const waiters: Array<{
    stream: keyof typeof output;
    text: string;
    count: number;
    resolve: () => void;
  }> = [];
  const seen = (stream: keyof typeof output, text: string, count: number): boolean =>
    output[stream].split(text).length > count;
  const finished = new Promise<Finished>((done, fail) => {
    child.on("error", fail);
    child.on("close", (code, signal) => done({ code, signal, ...output }));
  });
  for (const stream of ["stdout", "stderr"] as const) {
    child[stream]!.setEncoding("utf8").on("data", (chunk: string) => {
      output[stream] += chunk;
      for (const waiter of waiters.filter(
        (w) => w.stream === stream && seen(stream, w.text, w.count),
      )) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    });
  }
  const waitFor = (stream: keyof typeof output, text: string, count = 1): Promise<void> =>
    seen(stream, text, count)
      ? Promise.resolve()
      : new Promise<void>((resolveWait, rejectWait) => {
          waiters.push({ stream, text, count, resolve: resolveWait });
          void finished.then(() =>
            rejectWait(
              new Error(`exited before printing "${text}":\n${output.stdout}\n${output.stderr}`),
            ),
          );
        });
  return {
    child,
    stdout: () => output.stdout,
    stderr: () => output.stderr,
    waitForOutput: (text) => waitFor("stdout", text),
    waitForError: (text, count) => waitFor("stderr", text, count),
    finished,
  };
}

/**
 * Runs `keyvault-secrets` with arguments to completion.
 * @param args - the arguments after the command name
 * @param env - the environment
 * @returns how it ended and its output
 */
export function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<Finished> {
  return start(process.execPath, [cliPath, ...args], env).finished;
}

/**
 * A node command line that prints, as JSON, the given environment variables (null when unset).
 * @param keys - the variable names
 * @returns the command and arguments, for after `--`
 */
export function printEnv(...keys: string[]): string[] {
  return [
    process.execPath,
    "-e",
    "const o={};for(const k of process.argv.slice(1))o[k]=process.env[k]??null;console.log(JSON.stringify(o))",
    ...keys,
  ];
}

/**
 * The JSON object a {@link printEnv} child printed.
 * @param run - the finished run
 * @returns the variables
 */
export function printedEnv(run: Finished): Record<string, string | null> {
  assert.equal(run.code, 0, `exit ${run.code} ${run.signal}\n${run.stdout}\n${run.stderr}`);
  return JSON.parse(run.stdout.trim().split("\n").at(-1)!) as Record<string, string | null>;
}

/**
 * A directory laid out as an app that installed this package: `node_modules/keyvault-secrets`
 * links to the repository (whose own node_modules supply the dependencies).
 * @returns the directory and how to remove it
 */
export function appDirectory(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "kvs-app-"));
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(repoRoot, join(dir, "node_modules", "keyvault-secrets"), "dir");
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A machine where a loopback `IDENTITY_ENDPOINT` is not the local vault's: a platform identity
 * endpoint (as App Service on Windows and Container Apps run) that hands out real-looking tokens,
 * and a process squatting the local vault's usual place whose challenge names another resource.
 */
export interface SquattedMachine {
  /** The platform's identity endpoint (another loopback port) and the resources asked of it. */
  platform: { endpoint: string; header: string; resources: string[] };
  /** The squatter's URL (where the local vault would be) and every Authorization it received. */
  squatter: { url: string; authorizations: string[] };
  /** The environment the platform gives a process, with the squatter as the vault. */
  env(extra?: Record<string, string | undefined>): NodeJS.ProcessEnv;
  close(): Promise<void>;
}

/** The resource the squatter's challenge names. */
export const squatterResource = "https://evil.example";

/**
 * Starts a platform identity endpoint and a squatter on loopback ports.
 * @returns the machine
 */
export async function startSquattedMachine(): Promise<SquattedMachine> {
  const resources: string[] = [];
  const authorizations: string[] = [];
  const platform = await listen((request, response) => {
    const resource = new URL(request.url ?? "/", "http://x").searchParams.get("resource") ?? "";
    resources.push(resource);
    response.setHeader("content-type", "application/json");
    response.end(
      JSON.stringify({
        access_token: `real-platform-token-for-${resource}`,
        expires_on: String(Math.floor(Date.now() / 1000) + 3600),
        resource,
        token_type: "Bearer",
      }),
    );
  });
  const squatter = await listen((request, response) => {
    if (request.headers.authorization !== undefined) {
      authorizations.push(request.headers.authorization);
    }
    response.statusCode = 401;
    response.setHeader(
      "www-authenticate",
      `Bearer authorization="https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000", resource="${squatterResource}"`,
    );
    response.end();
  });
  const platformEndpoint = `${platform.url}/msi/token`;
  return {
    platform: { endpoint: platformEndpoint, header: "platform-header", resources },
    squatter: { url: squatter.url, authorizations },
    env: (extra = {}) =>
      childEnv(
        {
          KEYVAULT_URI: squatter.url,
          IDENTITY_ENDPOINT: platformEndpoint,
          IDENTITY_HEADER: "platform-header",
        },
        extra,
      ),
    close: async () => {
      await Promise.all([platform.close(), squatter.close()]);
    },
  };
}

async function listen(
  handler: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(handler);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}

/** What a {@link VaultProxy} does with a request to the vault's API. */
export type ProxyRule =
  /** Answer with this status and a Key Vault error body (a 429 without Retry-After). */
  | { status: number; code: string }
  /** Never answer. */
  | "hang";

/**
 * A proxy in front of a local vault that a child process uses as its vault: it logs every
 * request (`GET /secrets`, `GET /secrets/name`) and can fail or hold requests of the vault's API.
 */
export interface VaultProxy {
  /** Every request to the vault's API, as `METHOD /path` (no query), in order. */
  requests: string[];
  /**
   * Applies a rule to the API requests `matches` selects (all when omitted), until `clear()`.
   * Requests to the identity endpoint always go through.
   */
  fail(rule: ProxyRule, matches?: (method: string, path: string) => boolean): void;
  /** Lets every request through again. */
  clear(): void;
  /**
   * Resolves once `count` more requests `matches` selects have arrived (counted from now).
   * @param count - how many
   * @param matches - which (all when omitted)
   */
  arrivals(count: number, matches?: (method: string, path: string) => boolean): Promise<void>;
  /** The environment of a child whose vault is this proxy (its identity endpoint too). */
  env(extra?: Record<string, string | undefined>): NodeJS.ProcessEnv;
  close(): Promise<void>;
}

/**
 * Starts a {@link VaultProxy} for a local vault.
 * @param vault - the local vault
 * @returns the proxy
 */
export async function startVaultProxy(vault: LocalVault): Promise<VaultProxy> {
  const target = new URL(vault.vaultUrl);
  const requests: string[] = [];
  let rule: { rule: ProxyRule; matches: (method: string, path: string) => boolean } | undefined;
  const watchers: Array<{
    left: number;
    matches: (method: string, path: string) => boolean;
    done: () => void;
  }> = [];
  const held: ServerResponse[] = [];
  const proxy = await listen((request, response) => {
    const method = request.method ?? "GET";
    const path = (request.url ?? "/").split("?")[0]!;
    const isApi = !path.startsWith("/__local/");
    if (isApi) {
      requests.push(`${method} ${path}`);
      for (const watcher of [...watchers]) {
        if (!watcher.matches(method, path) || --watcher.left > 0) continue;
        watchers.splice(watchers.indexOf(watcher), 1);
        watcher.done();
      }
    }
    // A request without a token only fetches the challenge: let it through.
    if (isApi && rule?.matches(method, path) && request.headers.authorization !== undefined) {
      if (rule.rule === "hang") {
        held.push(response);
        return;
      }
      response.statusCode = rule.rule.status;
      response.setHeader("content-type", "application/json");
      response.end(
        JSON.stringify({ error: { code: rule.rule.code, message: `injected by the test proxy` } }),
      );
      return;
    }
    const forwarded = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method,
        path: request.url,
        headers: request.headers,
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    forwarded.on("error", () => response.destroy());
    request.pipe(forwarded);
  });
  return {
    requests,
    fail: (newRule, matches = () => true) => {
      rule = { rule: newRule, matches };
    },
    clear: () => {
      rule = undefined;
    },
    arrivals: (count, matches = () => true) =>
      new Promise<void>((done) => watchers.push({ left: count, matches, done })),
    env: (extra = {}) =>
      childEnv(
        {
          KEYVAULT_URI: proxy.url,
          IDENTITY_ENDPOINT: `${proxy.url}/__local/identity/token`,
          IDENTITY_HEADER: vault.identityHeader,
        },
        extra,
      ),
    close: async () => {
      for (const response of held) response.destroy();
      await proxy.close();
    },
  };
}
