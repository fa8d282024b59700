/**
 * The requests the local vault answered, kept in a bounded ring for the page's live log. Only what
 * a developer needs to see what their app did: no query, no headers but the User-Agent, no bodies.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";

/** One answered request. */
export interface RequestLogEntry {
  /** Sequence number, increasing from 1; the page asks for entries after the last it has. */
  seq: number;
  /** When the request arrived, milliseconds since the epoch (wall clock, not the vault clock). */
  time: number;
  method: string;
  /** Path without the query, at most {@link maxLoggedPathLength} characters. */
  path: string;
  status: number;
  /** Milliseconds from the request's arrival to the end of the answer. */
  latencyMs: number;
  /** The client's `User-Agent`, at most {@link maxLoggedUserAgentLength} characters; "" if none. */
  userAgent: string;
}

/** Entries kept by default. */
export const defaultRequestLogCapacity = 500;
/** Longest path kept (longer ones are cut and end in `...`). */
export const maxLoggedPathLength = 300;
/** Longest User-Agent kept. */
export const maxLoggedUserAgentLength = 200;

/** A ring of the last answered requests. */
export class RequestLog {
  private readonly ring: (RequestLogEntry | undefined)[];
  private next = 0;
  private lastSeq = 0;

  /**
   * Creates an empty log.
   * @param capacity - entries kept; older ones are dropped
   */
  constructor(readonly capacity = defaultRequestLogCapacity) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`capacity must be a positive integer, got ${capacity}.`);
    }
    this.ring = new Array<RequestLogEntry | undefined>(capacity);
  }

  /**
   * Adds an entry.
   * @param entry - the request, without its sequence number
   * @returns the entry as kept
   */
  add(entry: Omit<RequestLogEntry, "seq">): RequestLogEntry {
    this.lastSeq += 1;
    const kept: RequestLogEntry = {
      seq: this.lastSeq,
      time: entry.time,
      method: bounded(entry.method, 16),
      path: bounded(entry.path, maxLoggedPathLength),
      status: entry.status,
      latencyMs: entry.latencyMs,
      userAgent: bounded(entry.userAgent, maxLoggedUserAgentLength),
    };
    this.ring[this.next] = kept;
    this.next = (this.next + 1) % this.capacity;
    return kept;
  }

  /**
   * Entries after a sequence number, oldest first.
   * @param afterSeq - the last sequence number already seen (0 for all)
   * @returns the entries still kept
   */
  after(afterSeq = 0): RequestLogEntry[] {
    const result: RequestLogEntry[] = [];
    for (let i = 0; i < this.capacity; i++) {
      const entry = this.ring[(this.next + i) % this.capacity];
      if (entry !== undefined && entry.seq > afterSeq) result.push(entry);
    }
    return result;
  }

  /** Sequence number of the newest entry (0 when empty). */
  get newestSeq(): number {
    return this.lastSeq;
  }
}

/**
 * Records every answered request of a server in a log, except those `skip` names (the page's own
 * requests and health probes, which would drown what the app did).
 * @param server - the vault's HTTP(S) server
 * @param log - the log
 * @param skip - whether a path is left out
 */
export function recordRequests(
  server: Server,
  log: RequestLog,
  skip: (path: string) => boolean,
): void {
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const start = performance.now();
    const time = Date.now();
    res.once("finish", () => {
      const url = req.url ?? "/";
      const queryStart = url.indexOf("?");
      const path = queryStart === -1 ? url : url.slice(0, queryStart);
      if (skip(path)) return;
      const userAgent = req.headers["user-agent"];
      log.add({
        time,
        method: req.method ?? "",
        path,
        status: res.statusCode,
        latencyMs: Math.round((performance.now() - start) * 10) / 10,
        userAgent: typeof userAgent === "string" ? userAgent : "",
      });
    });
  });
}

function bounded(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, "?");
  return clean.length > max ? `${clean.slice(0, max - 3)}...` : clean;
}
