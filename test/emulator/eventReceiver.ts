/**
 * A webhook for the events specs: node:http on 127.0.0.1 (a free port) that records every request,
 * answers the handshake of either schema while `handshake` says so, answers events with the status
 * `statusFor` picks, and lets a spec wait (without sleeping) until what it expects has arrived.
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";

/** One request the receiver got. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** Wall-clock milliseconds of its arrival. */
  atMs: number;
}

/** A local webhook. */
export class EventReceiver {
  /** Every request, in arrival order. */
  readonly requests: ReceivedRequest[] = [];
  /** Whether the handshake is answered (echoed code, or the allowed origin). */
  handshake = true;
  /** The status of an event delivery (the n-th delivery counts from 0). */
  statusFor: (request: ReceivedRequest, index: number) => number = () => 200;
  /** Whether event deliveries are left without an answer (a webhook that hangs). */
  hang = false;
  private readonly waiters: Array<() => void> = [];

  private readonly server: Server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => {
      const request: ReceivedRequest = {
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        body,
        atMs: Date.now(),
      };
      this.answer(request, res);
    });
  });

  private constructor() {}

  /**
   * Starts a receiver.
   * @returns the receiver, listening
   */
  static async start(): Promise<EventReceiver> {
    const receiver = new EventReceiver();
    await new Promise<void>((resolve) => receiver.server.listen(0, "127.0.0.1", resolve));
    return receiver;
  }

  /**
   * The receiver's URL.
   * @param path - the path (and query)
   * @returns `http://127.0.0.1:{port}{path}`
   */
  url(path = "/events"): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  /** The event deliveries (`aeg-event-type: Notification`), in arrival order. */
  deliveries(): ReceivedRequest[] {
    return this.requests.filter((r) => r.headers["aeg-event-type"] === "Notification");
  }

  /** The handshake requests (validation events or OPTIONS), in arrival order. */
  handshakes(): ReceivedRequest[] {
    return this.requests.filter(
      (r) => r.method === "OPTIONS" || r.headers["aeg-event-type"] === "SubscriptionValidation",
    );
  }

  /**
   * The events of the deliveries, parsed (Event Grid: the one element of each array).
   * @returns the events, in arrival order
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  events(): any[] {
    return this.deliveries().map((r) => {
      const parsed = JSON.parse(r.body);
      return Array.isArray(parsed) ? parsed[0] : parsed;
    });
  }

  /**
   * Resolves once the condition holds (checked now and after every request).
   * @param condition - what the spec waits for
   * @returns when it holds
   */
  async until(condition: (receiver: EventReceiver) => boolean): Promise<void> {
    while (!condition(this)) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Stops the receiver. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private answer(request: ReceivedRequest, res: ServerResponse): void {
    this.requests.push(request);
    if (request.method === "OPTIONS") {
      const origin = request.headers["webhook-request-origin"];
      const headers: Record<string, string> = { allow: "POST, OPTIONS" };
      if (this.handshake && typeof origin === "string") headers["webhook-allowed-origin"] = origin;
      res.writeHead(200, headers).end();
    } else if (request.headers["aeg-event-type"] === "SubscriptionValidation") {
      const code = JSON.parse(request.body)[0].data.validationCode;
      const answer = this.handshake ? { validationResponse: code } : { validationResponse: "no" };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer));
    } else if (!this.hang) {
      res.writeHead(this.statusFor(request, this.deliveries().length - 1)).end();
    }
    for (const wake of this.waiters.splice(0)) wake();
  }
}
