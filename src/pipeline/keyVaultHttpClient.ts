/**
 * The lean transport. Mirrors core's Node HTTP client (`createDefaultHttpClient`) for Key Vault's
 * JSON exchanges: the request Node writes for core's client (Host, Content-Length), core's errors
 * (RestError with the system code, AbortError), and the response headers (responseHeaders.ts).
 */
import { AbortError } from "@azure/abort-controller";
import {
  RestError,
  type HttpClient,
  type PipelineRequest,
  type PipelineResponse,
  type RawHttpHeaders,
} from "@azure/core-rest-pipeline";
import * as http from "node:http";
import * as https from "node:https";
import { createRawResponseHeaders } from "./responseHeaders.js";

interface Origin {
  isHttps: boolean;
  hostname: string;
  port: string;
  /** The Host header: hostname (IPv6 in brackets) and a port other than the scheme's default. */
  host: string;
}

/**
 * Whether the request needs something only core's HTTP client provides: streams, progress
 * events, TLS settings, request overrides, or compressed responses.
 */
function needsFullClient(request: PipelineRequest): boolean {
  return (
    (request.body !== undefined && request.body !== null && typeof request.body !== "string") ||
    request.onUploadProgress !== undefined ||
    request.onDownloadProgress !== undefined ||
    (request.streamResponseStatusCodes !== undefined &&
      request.streamResponseStatusCodes.size > 0) ||
    request.tlsSettings !== undefined ||
    request.requestOverrides !== undefined ||
    request.multipartBody !== undefined ||
    request.formData !== undefined ||
    request.headers.has("accept-encoding")
  );
}

/**
 * The HTTP client of `SecretClient`: Key Vault exchanges small JSON strings, so the common request
 * goes straight to `node:http(s)` on a keep-alive agent, with no stream wrappers and no
 * AbortController of its own. Anything else (streams, progress events, TLS settings, compressed
 * responses) is handed to core's full client, unchanged.
 *
 * Errors match core's client: network failures are RestErrors with the system code (so the retry
 * policy treats them alike), aborts are AbortErrors; a timeout is an AbortError that says so.
 *
 * The agents come from the caller, which owns them (the client's pipeline destroys them on
 * `close()`); requests handed to the fallback client carry the same agent.
 *
 * @param fallback - The client for requests this one does not handle.
 * @param agentFor - The agent of a request: its own `agent`, or one of the caller's.
 * @returns The HTTP client.
 */
export function createKeyVaultHttpClient(
  fallback: HttpClient,
  agentFor: (request: PipelineRequest) => http.Agent,
): HttpClient {
  let lastOrigin: string | undefined;
  let lastParsed: Origin | undefined;

  // Every request of a client names the same origin: parse it once, not per request.
  function splitUrl(url: string): { origin: Origin; path: string } {
    const hostStart = url.indexOf("//") + 2;
    const pathStart = url.indexOf("/", hostStart);
    const originText = pathStart === -1 ? url : url.slice(0, pathStart);
    const path = pathStart === -1 ? "/" : url.slice(pathStart);
    if (originText !== lastOrigin || lastParsed === undefined) {
      const parsed = new URL(originText);
      lastParsed = {
        isHttps: parsed.protocol === "https:",
        hostname: parsed.hostname.replace(/^\[|\]$/g, ""),
        port: parsed.port,
        host: parsed.host,
      };
      lastOrigin = originText;
    }
    return { origin: lastParsed, path };
  }

  return {
    // Not async: the lean path's own promise is the only one.
    sendRequest(request: PipelineRequest): Promise<PipelineResponse> {
      if (needsFullClient(request)) return sendWithAgent(fallback, request, agentFor(request));
      return sendLean(request);
    },
  };

  function sendLean(request: PipelineRequest): Promise<PipelineResponse> {
    const signal = request.abortSignal;
    if (signal?.aborted) {
      return Promise.reject(
        new AbortError("The operation was aborted. Request has already been canceled."),
      );
    }
    let target: { origin: Origin; path: string };
    try {
      target = splitUrl(request.url);
    } catch {
      return Promise.reject(
        new RestError(`The request URL is not valid: ${request.url}`, {
          code: RestError.REQUEST_SEND_ERROR,
          request,
        }),
      );
    }
    const { origin, path } = target;
    if (!origin.isHttps && !request.allowInsecureConnection) {
      return Promise.reject(
        new Error(`Cannot connect to ${request.url} while allowInsecureConnection is false.`),
      );
    }
    const body = request.body as string | undefined;
    // Built for this attempt only (the length among them): the request object is re-sent by
    // retries and by the challenge policy, sometimes without its body. Our own agents get a flat
    // list (see headerList); an agent of the caller's or of core's proxy policy may edit the
    // request's headers, which only the object form allows.
    const headers =
      request.agent === undefined
        ? headerList(request, origin.host, body)
        : headerObject(request, body);

    return new Promise<PipelineResponse>((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (error: Error | undefined, response?: PipelineResponse): void => {
        if (settled) return;
        settled = true;
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        if (error) reject(error);
        else resolve(response!);
      };
      const onAbort = (): void => {
        const error = new AbortError(
          "The operation was aborted. Rejecting from abort signal callback while making request.",
        );
        req.destroy(error);
        finish(error);
      };

      const send: (
        options: http.RequestOptions,
        callback: (response: http.IncomingMessage) => void,
      ) => http.ClientRequest = origin.isHttps ? https.request : http.request;
      const req = send(
        {
          hostname: origin.hostname,
          port: origin.port,
          path,
          method: request.method,
          headers,
          agent: agentFor(request),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("error", (error: NodeJS.ErrnoException) =>
            finish(
              new RestError(error.message, {
                code: error.code ?? RestError.REQUEST_SEND_ERROR,
                request,
              }),
            ),
          );
          res.on("end", () => {
            const response: PipelineResponse = {
              request,
              status: res.statusCode ?? 0,
              headers: createRawResponseHeaders(res.rawHeaders),
            };
            if (request.method !== "HEAD") {
              response.bodyAsText =
                chunks.length === 1
                  ? chunks[0]!.toString("utf8")
                  : Buffer.concat(chunks).toString("utf8");
            }
            finish(undefined, response);
          });
          // A connection cut mid-response ends in "aborted"/"close" without "end".
          res.on("close", () => {
            if (!res.complete) {
              finish(
                new RestError("The connection was closed before the whole response arrived.", {
                  code: "ECONNRESET",
                  request,
                }),
              );
            }
          });
        },
      );
      // `on`, not `once`: a request destroyed by an abort while connecting emits its AbortError
      // and then the socket's own error (connect ECANCELED); an unheard second one would crash.
      req.on("error", (error: NodeJS.ErrnoException) => {
        if (error instanceof AbortError || error.name === "AbortError") return;
        finish(
          new RestError(error.message, {
            code: error.code ?? RestError.REQUEST_SEND_ERROR,
            request,
          }),
        );
      });
      signal?.addEventListener("abort", onAbort);
      if (request.timeout > 0) {
        timer = setTimeout(() => {
          const error = new AbortError(
            `The request timed out after ${request.timeout} ms (requestOptions.timeout) and was aborted.`,
          );
          req.destroy(error);
          finish(error);
        }, request.timeout);
      }
      req.end(body);
    });
  }
}

/** Methods for which Node sends an empty body as `Content-Length: 0` (it would else go chunked). */
const methodsWithBody = new Set(["POST", "PUT", "PATCH"]);

/**
 * The request's headers as a flat list of names and values (as `message.rawHeaders` has them):
 * Node writes (and checks) them as they are, with none of the per-header bookkeeping `getHeader`
 * needs. Node then adds neither Host nor a length, so they are added here as Node would: the URL's
 * host (default port left out) and the body's length, `0` for a POST, PUT or PATCH without one.
 */
function headerList(request: PipelineRequest, host: string, body: string | undefined): string[] {
  const named = request.headers.toJSON({ preserveCase: true });
  const headers: string[] = [];
  for (const name in named) headers.push(name, named[name]!);
  if (!request.headers.has("host")) headers.push("Host", host);
  if (!request.headers.has("content-length")) {
    if (body !== undefined) headers.push("Content-Length", String(Buffer.byteLength(body)));
    else if (methodsWithBody.has(request.method)) headers.push("Content-Length", "0");
  }
  return headers;
}

/** The request's headers as an object, for Node's usual path (Host and lengths added by Node). */
function headerObject(request: PipelineRequest, body: string | undefined): RawHttpHeaders {
  const headers = request.headers.toJSON({ preserveCase: true });
  if (body !== undefined && !request.headers.has("content-length")) {
    headers["Content-Length"] = String(Buffer.byteLength(body));
  }
  return headers;
}

/**
 * Sends through core's client with the given agent: core's client otherwise uses agents of its
 * own that no one closes. The request is left as it was.
 */
async function sendWithAgent(
  client: HttpClient,
  request: PipelineRequest,
  agent: http.Agent,
): Promise<PipelineResponse> {
  const previous = request.agent;
  request.agent = agent;
  try {
    return await client.sendRequest(request);
  } finally {
    request.agent = previous;
  }
}
