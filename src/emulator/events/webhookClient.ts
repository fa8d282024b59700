/**
 * The vault's outgoing requests to webhooks: the one owner of their agents and sockets. Every
 * request has a deadline and reads at most a small answer; `close()` ends every request in
 * flight and every connection. Redirects are not followed: a webhook answers where it was named.
 */
import {
  Agent as HttpAgent,
  request as httpRequest,
  type ClientRequest,
  type IncomingHttpHeaders,
} from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";

/** What a webhook answered. */
export interface WebhookAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body as text, cut at {@link maxAnswerBytes}. */
  body: string;
}

/** A request to a webhook. */
export interface WebhookRequest {
  method: "POST" | "OPTIONS";
  headers: Record<string, string>;
  body?: string;
}

/** Event Grid waits this long for an answer before it counts the attempt as failed. */
export const webhookTimeoutInMs = 30_000;
/** Most of an answer's body that is read (a validation answer is a few dozen bytes). */
export const maxAnswerBytes = 64 * 1024;
/** Connections kept per webhook host. */
const maxSocketsPerHost = 4;

/** Sends requests to webhooks; one per vault. */
export class WebhookClient {
  private readonly httpAgent = new HttpAgent({ keepAlive: true, maxSockets: maxSocketsPerHost });
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: maxSocketsPerHost });
  private readonly inFlight = new Set<ClientRequest>();
  private closed = false;

  /**
   * Sends one request.
   * @param url - the webhook
   * @param request - method, headers and body
   * @returns the answer; rejects when no answer came within {@link webhookTimeoutInMs}, the
   *   connection failed, or the client was closed
   */
  send(url: URL, request: WebhookRequest): Promise<WebhookAnswer> {
    if (this.closed) return Promise.reject(new Error("The vault is closing."));
    return new Promise<WebhookAnswer>((resolve, reject) => {
      const headers: Record<string, string | number> = { ...request.headers };
      if (request.body !== undefined) headers["content-length"] = Buffer.byteLength(request.body);
      const secure = url.protocol === "https:";
      const req = (secure ? httpsRequest : httpRequest)(url, {
        method: request.method,
        headers,
        agent: secure ? this.httpsAgent : this.httpAgent,
      });
      this.inFlight.add(req);
      const deadline = setTimeout(
        () => req.destroy(new Error(`No answer within ${webhookTimeoutInMs / 1000} s.`)),
        webhookTimeoutInMs,
      );
      const settle = (): void => {
        clearTimeout(deadline);
        this.inFlight.delete(req);
      };
      req.on("error", (error) => {
        settle();
        reject(error);
      });
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          if (size < maxAnswerBytes) chunks.push(chunk);
          size += chunk.length;
        });
        res.on("end", () => {
          settle();
          const body = Buffer.concat(chunks).subarray(0, maxAnswerBytes).toString("utf8");
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        });
        res.on("error", (error) => {
          settle();
          reject(error);
        });
      });
      req.end(request.body);
    });
  }

  /** Ends every request in flight and every connection; later requests reject. */
  close(): void {
    this.closed = true;
    for (const req of this.inFlight) req.destroy(new Error("The vault is closing."));
    this.inFlight.clear();
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
