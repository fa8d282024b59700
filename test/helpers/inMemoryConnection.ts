/**
 * HTTP/1.1 connections in memory: an agent whose connections answer each request at once, with no
 * socket. For what must be deterministic (counting promises: the answer comes within the same turn
 * of the event loop) or must see the exact bytes a client writes. Not under nock: nock holds a
 * request that does not come from a real socket (in the unit run, `nock.restore()` first).
 */
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { Duplex } from "node:stream";

/** An HTTP/1.1 answer: status line, headers in the given order (repeats allowed), body. */
export function httpAnswer(status: string, headers: Array<[string, string]>, body: string): string {
  const all = [...headers, ["Content-Length", String(Buffer.byteLength(body))]];
  return `HTTP/1.1 ${status}\r\n${all.map(([name, value]) => `${name}: ${value}\r\n`).join("")}\r\n${body}`;
}

/** A connection that gives `answer(request)` for each complete request written to it. */
class AnsweringConnection extends Duplex {
  private received = "";

  constructor(
    private readonly answer: (request: string) => string,
    private readonly seen: string[],
  ) {
    super();
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.received += chunk.toString("latin1");
    for (;;) {
      const headEnd = this.received.indexOf("\r\n\r\n");
      if (headEnd === -1) break;
      const length = /\r\ncontent-length: *(\d+)/i.exec(this.received.slice(0, headEnd));
      const end = headEnd + 4 + (length ? Number(length[1]) : 0);
      if (this.received.length < end) break;
      const request = this.received.slice(0, end);
      this.received = this.received.slice(end);
      this.seen.push(request);
      this.push(this.answer(request));
    }
    done();
  }

  // What an agent asks of a connection it keeps alive.
  setKeepAlive(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setTimeout(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
}

/** A keep-alive agent over connections in memory, and every request written to them. */
export interface InMemoryAgent {
  agent: HttpAgent;
  /** Each request as written: request line, headers, body. */
  requests: string[];
}

/**
 * A keep-alive agent whose connections are in memory and answer each request with `answer`.
 *
 * @param answer - The answer to a request (as written), e.g. from {@link httpAnswer}.
 * @param protocol - `https:` for an agent `https.request` accepts (no TLS is spoken).
 * @returns The agent (destroy it when done) and the requests written.
 */
export function inMemoryAgent(
  answer: (request: string) => string,
  protocol: "http:" | "https:" = "http:",
): InMemoryAgent {
  const requests: string[] = [];
  const agent =
    protocol === "https:"
      ? new HttpsAgent({ keepAlive: true })
      : new HttpAgent({ keepAlive: true });
  (agent as unknown as { createConnection: () => Duplex }).createConnection = () =>
    new AnsweringConnection(answer, requests);
  return { agent, requests };
}
