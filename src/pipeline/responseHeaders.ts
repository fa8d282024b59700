/**
 * The lean transport's response headers. Mirrors Node's `message.headers` (which core's client
 * reads) for repeated headers, except `set-cookie`: core's client keeps its first value, these
 * join them all (Key Vault sends none).
 */
import {
  createHttpHeaders,
  type HttpHeaders,
  type RawHttpHeaders,
} from "@azure/core-rest-pipeline";

/**
 * Response headers Node keeps the first of when a response repeats them (its `message.headers`);
 * every other header repeated is joined with ", " (`cookie` with "; ").
 */
const firstWins = new Set([
  "age",
  "authorization",
  "content-length",
  "content-type",
  "etag",
  "expires",
  "from",
  "host",
  "if-modified-since",
  "if-unmodified-since",
  "last-modified",
  "location",
  "max-forwards",
  "proxy-authorization",
  "referer",
  "retry-after",
  "server",
  "user-agent",
]);

/**
 * The headers of a response as Node's `message.headers` has them (lowercase names, repeats kept
 * or joined as Node does), with `set-cookie`'s values joined by ", ".
 *
 * @param rawHeaders - `message.rawHeaders`: names and values in turn, as received.
 * @returns The headers, one value per name.
 */
export function fromRawHeaders(rawHeaders: readonly string[]): RawHttpHeaders {
  const headers: RawHttpHeaders = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const value = rawHeaders[i + 1]!;
    const previous = headers[name];
    if (previous === undefined) headers[name] = value;
    else if (!firstWins.has(name))
      headers[name] = previous + (name === "cookie" ? "; " : ", ") + value;
  }
  return headers;
}

/**
 * The headers of a response, read from its raw headers on first use: most responses are never
 * asked for a header (a 200 goes from the transport to the caller's JSON), so most never pay for
 * building them.
 */
class RawResponseHeaders implements HttpHeaders {
  private rawHeaders: readonly string[] | undefined;
  private headers: HttpHeaders | undefined;

  constructor(rawHeaders: readonly string[]) {
    this.rawHeaders = rawHeaders;
  }

  private built(): HttpHeaders {
    if (this.headers === undefined) {
      this.headers = createHttpHeaders(fromRawHeaders(this.rawHeaders ?? []));
      this.rawHeaders = undefined;
    }
    return this.headers;
  }

  get(name: string): string | undefined {
    return this.built().get(name);
  }

  has(name: string): boolean {
    return this.built().has(name);
  }

  set(name: string, value: string | number | boolean): void {
    this.built().set(name, value);
  }

  delete(name: string): void {
    this.built().delete(name);
  }

  toJSON(options?: { preserveCase?: boolean }): RawHttpHeaders {
    return this.built().toJSON(options);
  }

  [Symbol.iterator](): Iterator<[string, string]> {
    return this.built()[Symbol.iterator]();
  }

  /** What `util.inspect` shows: the same as for core's headers. */
  [Symbol.for("nodejs.util.inspect.custom")](): HttpHeaders {
    return this.built();
  }
}

/**
 * Response headers built from `rawHeaders` when first read.
 *
 * @param rawHeaders - `message.rawHeaders` of the response.
 * @returns The headers.
 */
export function createRawResponseHeaders(rawHeaders: readonly string[]): HttpHeaders {
  return new RawResponseHeaders(rawHeaders);
}
