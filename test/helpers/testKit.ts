/**
 * The one test kit: small helpers every kind of test uses. Area kits (the local vault's, the
 * integration specs', the reliability specs') build on it and re-export what they use.
 */
import { randomBytes } from "node:crypto";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { format } from "node:util";
import { AzureLogger, getLogLevel, setLogLevel, type AzureLogLevel } from "@azure/logger";
import type { SecretClientOptions } from "../../src/index.js";

/** The repository root, for child processes and built files. */
export const repoRoot = resolve(import.meta.dirname, "../..");

/**
 * The options every client of a loopback server (the local vault, a scripted server) needs: plain
 * HTTP, and a challenge resource (`https://vault.azure.net`) that is not the server's host.
 */
export const loopbackClientOptions: SecretClientOptions = {
  allowInsecureConnection: true,
  disableChallengeResourceVerification: true,
};

/**
 * A name no other test uses: the prefix, a dash and eight hex digits (letters, digits and dashes
 * only, so it is a valid secret name).
 * @param prefix - readable part
 * @returns the name
 */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}

/**
 * Waits a few milliseconds (for the short delays the local vault is configured with; never a
 * timed assertion).
 * @param ms - milliseconds
 * @returns after `ms`
 */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Collects an async iterable.
 * @param iterable - the iterable
 * @returns its items
 */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

/**
 * A port on 127.0.0.1 that nothing listens on: bound, then closed.
 * @returns the port
 */
export async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((done) => probe.listen(0, "127.0.0.1", done));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((done) => probe.close(() => done()));
  return port;
}

/**
 * Waits, turn by turn of the event loop, until `condition` holds: for a state reached by promises
 * and immediates, without a timer. Gives up (throws) after `turns` turns, so a condition that
 * never holds fails the test instead of spinning for ever.
 * @param condition - what to wait for
 * @param turns - how many turns to wait at most
 */
export async function eventually(condition: () => boolean, turns = 100_000): Promise<void> {
  for (let turn = 0; !condition(); turn++) {
    if (turn >= turns) throw new Error(`The condition did not hold after ${turns} turns.`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * The lines the Azure SDK loggers (ours and core's) write while `work` runs at `level`, each as
 * `namespace:level message`; the level and the log sink are put back afterwards.
 * @param level - the log level to run at
 * @param work - what to run
 * @returns the lines, in order
 */
export async function logLinesDuring(
  level: AzureLogLevel,
  work: () => Promise<unknown> | unknown,
): Promise<string[]> {
  const lines: string[] = [];
  const originalLog = AzureLogger.log;
  const originalLevel = getLogLevel();
  setLogLevel(level);
  AzureLogger.log = (...args: unknown[]) => lines.push(format(...args));
  try {
    await work();
  } finally {
    AzureLogger.log = originalLog;
    setLogLevel(originalLevel);
  }
  return lines;
}

/** A small seeded generator (mulberry32), so that a run's random choices are the same every time. */
export { seededRandom } from "../../src/util/random.js";

/** What {@link sendWithHost} answers. */
export interface RawHttpAnswer {
  status: number;
  headers: Headers;
  text: string;
}

/**
 * Sends one plain-HTTP request with headers `fetch` may not set (a foreign `Host`, as a DNS
 * rebinding attack or a proxy would send it).
 * @param url - where to connect (the vault's own URL and path)
 * @param init - method, headers (including `host`) and body
 * @returns status, headers and body text
 */
export function sendWithHost(
  url: string,
  init: { method?: string; headers: Record<string, string>; body?: string },
): Promise<RawHttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? "GET", headers: init.headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (value !== undefined)
            headers.set(name, Array.isArray(value) ? value.join(", ") : value);
        }
        resolve({ status: res.statusCode ?? 0, headers, text });
      });
    });
    req.on("error", reject);
    req.end(init.body);
  });
}
