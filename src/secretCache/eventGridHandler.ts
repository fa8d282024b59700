/**
 * The webhook that feeds Key Vault's events to a {@link SecretCache}: Event Grid's handshake (the
 * validation event, or the CloudEvents `OPTIONS` request), a bounded body, then
 * `SecretCache.handleEvent`. One `(req, res)` function for `node:http` and Express alike, the same
 * against Azure and the local vault. A webhook is reachable by anyone: the body is hostile until
 * checked, and no answer repeats it.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { eventGridOrigin, parseKeyVaultEventDelivery } from "../events/keyVaultEvents.js";
import { logger } from "../log.js";
import type { SecretCacheEventResult } from "./eventRefresh.js";
import type { SecretCache } from "./secretCache.js";

/** Options of {@link createEventGridHandler}. */
export interface EventGridHandlerOptions {
  /**
   * The largest request body read, in bytes; a larger one is answered 413 (Event Grid does not
   * retry it). A body a framework parsed before (Express's `express.json()`) was bounded by it.
   * @default 1048576 (1 MiB, Event Grid's largest batch)
   */
  maxBodyBytes?: number;
  /**
   * A key the subscription's endpoint carries in its query, `?code=<key>`: requests without it
   * are answered 401 before their body is read. Event Grid cannot sign its requests, so this is
   * how a webhook tells them from anyone else's.
   * @default none: every request is taken
   */
  accessKey?: string;
  /**
   * Called with what each delivery of events did, after the answer: say, to alert on
   * `nearExpiry`.
   * @default none
   */
  onEvents?: (result: SecretCacheEventResult) => void;
  /**
   * Called when events could not be handled (a read failed, the cache was closed); the request is
   * answered 500, so Event Grid delivers them again later.
   * @default a warning in the package's log (names, never values)
   */
  onError?: (error: Error) => void;
}

/**
 * A request listener for `node:http` (`createServer(handler)`) or an Express route
 * (`app.all(path, handler)`); an Express body parser may have filled `req.body` already.
 */
export type EventGridRequestHandler = (
  req: IncomingMessage & { body?: unknown },
  res: ServerResponse,
) => void;

/** Event Grid's largest batch. */
const defaultMaxBodyBytes = 1024 * 1024;
/** A bound on the option, so that a typo cannot make the handler buffer gigabytes. */
const largestMaxBodyBytes = 64 * 1024 * 1024;

interface HandlerSettings {
  cache: Pick<SecretCache, "handleEvent">;
  maxBodyBytes: number;
  accessKeyDigest: Buffer | undefined;
  onEvents: ((result: SecretCacheEventResult) => void) | undefined;
  onError: (error: Error) => void;
}

/** The request body: parsed JSON, or why there is none to read. */
type ReadBody =
  | { kind: "value"; value: unknown }
  | { kind: "tooLarge" }
  | { kind: "notJson" }
  | { kind: "consumed" };

/**
 * Creates the webhook of an Event Grid subscription to a vault's events, which keeps a
 * {@link SecretCache} fresh without polling: it answers Event Grid's handshake (the
 * `SubscriptionValidationEvent` with `{ validationResponse }`, the CloudEvents `OPTIONS` request
 * with `WebHook-Allowed-Origin`), and gives every delivery of events to
 * {@link SecretCache.handleEvent}. The local vault's subscriptions (`eventSubscriptions`) make
 * the same requests, so one app runs unchanged against both.
 *
 * Answers: 200 once the events are handled (the secrets read again), 400 for a body that is not
 * Key Vault's events (the message says which field, never what it held), 401 without the
 * `accessKey`, 405 for other methods, 413 for a body over `maxBodyBytes`, 500 when handling failed
 * (Event Grid retries). The body is never echoed, nor logged.
 *
 * @param cache - The cache the events refresh; its client's `vaultUrl` names the vault whose
 *   events count.
 * @param options - Body bound, access key, and what to call with results and errors.
 * @returns The request handler.
 * @throws TypeError when `cache` is not a SecretCache or an option has the wrong type; RangeError
 *   when `maxBodyBytes` is out of range (1 to 67108864).
 * @example
 * ```ts
 * import { createServer } from "node:http";
 * import { DefaultAzureCredential } from "@azure/identity";
 * import { SecretCache, SecretClient, createEventGridHandler } from "keyvault-secrets";
 *
 * const client = new SecretClient(process.env.KEYVAULT_URI!, new DefaultAzureCredential());
 * const cache = new SecretCache(client); // no refresh interval: events keep it fresh
 * await cache.load();
 * cache.on("change", ({ updated }) => console.log(`rotated: ${updated.join(", ")}`));
 *
 * // The Event Grid subscription's endpoint: https://<app>/events?code=<key>
 * const onEvents = createEventGridHandler(cache, { accessKey: process.env.EVENTS_KEY });
 * createServer(onEvents).listen(8080);
 * // Express: app.all("/events", onEvents) (all: CloudEvents' handshake is an OPTIONS request)
 * ```
 */
export function createEventGridHandler(
  cache: SecretCache,
  options: EventGridHandlerOptions = {},
): EventGridRequestHandler {
  const settings = checkHandlerOptions(cache, options);
  return (req, res) => {
    answer(req, res, settings).catch((error: unknown) => {
      // Only a failure to write the answer (the connection is gone) can reach here.
      logger.warning(`Event Grid handler: could not answer: ${(error as Error).message}`);
      if (!res.headersSent) res.destroy();
    });
  };
}

function checkHandlerOptions(
  cache: SecretCache,
  options: EventGridHandlerOptions,
): HandlerSettings {
  if (
    typeof cache !== "object" ||
    cache === null ||
    typeof (cache as { handleEvent?: unknown }).handleEvent !== "function"
  ) {
    throw new TypeError(
      "createEventGridHandler(cache): cache must be a SecretCache (an object with handleEvent).",
    );
  }
  if (typeof options !== "object" || options === null) {
    throw new TypeError("createEventGridHandler(cache, options): options must be an object.");
  }
  const { maxBodyBytes = defaultMaxBodyBytes, accessKey, onEvents, onError } = options;
  if (
    typeof maxBodyBytes !== "number" ||
    !Number.isInteger(maxBodyBytes) ||
    maxBodyBytes < 1 ||
    maxBodyBytes > largestMaxBodyBytes
  ) {
    throw new RangeError(
      `createEventGridHandler: options.maxBodyBytes must be a whole number of bytes from 1 to ${largestMaxBodyBytes}, got ${String(maxBodyBytes)}.`,
    );
  }
  if (accessKey !== undefined && (typeof accessKey !== "string" || accessKey === "")) {
    throw new TypeError(
      "createEventGridHandler: options.accessKey must be a non-empty string (the endpoint's ?code= value), or omitted.",
    );
  }
  for (const [name, value] of Object.entries({ onEvents, onError })) {
    if (value !== undefined && typeof value !== "function") {
      throw new TypeError(
        `createEventGridHandler: options.${name} must be a function, got ${typeof value}.`,
      );
    }
  }
  return {
    cache,
    maxBodyBytes,
    accessKeyDigest: accessKey === undefined ? undefined : digest(accessKey),
    onEvents,
    onError: onError ?? warnOfFailure,
  };
}

async function answer(
  req: IncomingMessage & { body?: unknown },
  res: ServerResponse,
  settings: HandlerSettings,
): Promise<void> {
  if (!carriesAccessKey(req, settings.accessKeyDigest)) {
    reply(res, 401, problem("Unauthorized", "The request does not carry the webhook's key."));
    return;
  }
  if (req.method === "OPTIONS") {
    answerOriginHandshake(req, res);
    return;
  }
  if (req.method !== "POST") {
    reply(res, 405, problem("MethodNotAllowed", "Event Grid's webhook takes POST and OPTIONS."), {
      allow: "POST, OPTIONS",
    });
    return;
  }
  const body = await readBody(req, settings.maxBodyBytes);
  if (body.kind !== "value") {
    answerUnreadable(res, body.kind);
    return;
  }
  let validationCode: string | undefined;
  try {
    const delivery = parseKeyVaultEventDelivery(body.value);
    if (delivery.kind === "validation") validationCode = delivery.validationCode;
  } catch (error) {
    // The message names the field at fault, never what it held.
    reply(res, 400, problem("BadRequest", (error as TypeError).message));
    return;
  }
  if (validationCode !== undefined) {
    reply(res, 200, { validationResponse: validationCode });
    return;
  }
  await handleEvents(body.value, res, settings);
}

async function handleEvents(
  events: unknown,
  res: ServerResponse,
  settings: HandlerSettings,
): Promise<void> {
  let result: SecretCacheEventResult;
  try {
    result = await settings.cache.handleEvent(events);
  } catch (error) {
    reply(
      res,
      500,
      problem("InternalError", "The events could not be handled; deliver them again later."),
    );
    report(settings.onError, error);
    return;
  }
  reply(res, 200, undefined);
  if (settings.onEvents === undefined) return;
  try {
    settings.onEvents(result);
  } catch (error) {
    report(settings.onError, error);
  }
}

/** The CloudEvents abuse protection: Event Grid's origin is allowed, no other. */
function answerOriginHandshake(req: IncomingMessage, res: ServerResponse): void {
  const origin = req.headers["webhook-request-origin"];
  if (typeof origin !== "string" || origin.trim().toLowerCase() !== eventGridOrigin) {
    reply(
      res,
      400,
      problem(
        "BadRequest",
        `Only Event Grid's handshake is answered: OPTIONS with WebHook-Request-Origin: ${eventGridOrigin}.`,
      ),
    );
    return;
  }
  reply(res, 200, undefined, {
    "webhook-allowed-origin": eventGridOrigin,
    allow: "POST, OPTIONS",
  });
}

function answerUnreadable(res: ServerResponse, kind: "tooLarge" | "notJson" | "consumed"): void {
  if (kind === "tooLarge") {
    // The rest of the body is not read: the connection ends with the answer.
    reply(res, 413, problem("PayloadTooLarge", "The request body is too large."), {
      connection: "close",
    });
  } else if (kind === "notJson") {
    reply(res, 400, problem("BadRequest", "The request body is not JSON."));
  } else {
    reply(
      res,
      400,
      problem(
        "BadRequest",
        "The request body was read before the handler and left nothing in req.body: mount the handler before other body readers, or after express.json().",
      ),
    );
  }
}

/**
 * The body: `req.body` when a framework read the stream (Express's parsers), otherwise read here,
 * at most `maxBodyBytes`.
 */
async function readBody(
  req: IncomingMessage & { body?: unknown },
  maxBodyBytes: number,
): Promise<ReadBody> {
  if (req.readableEnded) return parsedBefore(req.body, maxBodyBytes);
  const declared = Number(req.headers["content-length"]);
  if (declared > maxBodyBytes) return { kind: "tooLarge" };
  return readStream(req, maxBodyBytes);
}

/** Reads the request's stream, keeping at most `maxBodyBytes`; the rest is discarded. */
function readStream(req: IncomingMessage, maxBodyBytes: number): Promise<ReadBody> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: ReadBody): void => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      // What is left is read and dropped (node:http ends a connection answered 413 with close).
      req.resume();
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBodyBytes) finish({ kind: "tooLarge" });
      else chunks.push(chunk);
    };
    const onEnd = (): void => finish(parseJson(Buffer.concat(chunks).toString("utf8")));
    // The sender went away: nothing to answer, and the answer goes nowhere.
    const onError = (): void => finish({ kind: "notJson" });
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
  });
}

/** What a body parser left: JSON text or bytes (express.text(), express.raw()), or the value. */
function parsedBefore(body: unknown, maxBodyBytes: number): ReadBody {
  if (body === undefined) return { kind: "consumed" };
  if (typeof body !== "string" && !Buffer.isBuffer(body)) return { kind: "value", value: body };
  const text = typeof body === "string" ? body : body.toString("utf8");
  if (Buffer.byteLength(text) > maxBodyBytes) return { kind: "tooLarge" };
  return parseJson(text);
}

function parseJson(text: string): ReadBody {
  try {
    return { kind: "value", value: JSON.parse(text) as unknown };
  } catch {
    return { kind: "notJson" };
  }
}

function carriesAccessKey(req: IncomingMessage, expected: Buffer | undefined): boolean {
  if (expected === undefined) return true;
  const code = new URL(req.url ?? "/", "http://webhook").searchParams.get("code");
  // Digests of equal length: the comparison takes the same time whatever the key given.
  return code !== null && timingSafeEqual(digest(code), expected);
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

function problem(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

function reply(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  const text = body === undefined ? "" : JSON.stringify(body);
  const contentHeaders: Record<string, string> =
    body === undefined ? {} : { "content-type": "application/json; charset=utf-8" };
  res.writeHead(status, {
    ...contentHeaders,
    "content-length": String(Buffer.byteLength(text)),
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    ...headers,
  });
  res.end(text);
}

function report(onError: (error: Error) => void, error: unknown): void {
  const asError = error instanceof Error ? error : new Error(String(error));
  try {
    onError(asError);
  } catch (thrown) {
    logger.warning(`Event Grid handler: onError threw: ${(thrown as Error).message}`);
  }
}

function warnOfFailure(error: Error): void {
  logger.warning(
    `Event Grid handler: the events could not be handled (answered 500, so Event Grid delivers them again): ${error.message}`,
  );
}
