/**
 * Which `Host` and `Origin` a request may carry. The vault answers only to its own names (loopback
 * names and addresses, the address it listens on, names given with `hostnames`), so a web page that
 * rebinds its own DNS name to 127.0.0.1 cannot read it, and ids and `nextLink`s are built only
 * from a name the vault accepted.
 */
import { isIP } from "node:net";
import { networkInterfaces } from "node:os";

/** A `Host` (or an origin's host) the vault accepted. */
export interface AcceptedHost {
  /** The host as written in URLs: lower case, an IPv6 address in brackets. */
  hostname: string;
  /** The port, explicit or the scheme's default. */
  port: number;
  /** `hostname[:port]`, with the scheme's default port left out (as in ids). */
  authority: string;
}

const defaultPorts = { http: 80, https: 443 } as const;

const dnsName = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

/**
 * Whether an address or name is loopback (`localhost`, `*.localhost`, 127.0.0.0/8, `::1`).
 * @param host - a host name or address (IPv6 with or without brackets)
 * @returns true for loopback
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  if (bare === "localhost" || bare.endsWith(".localhost")) return true;
  if (isIP(bare) === 4) return bare.startsWith("127.");
  return bare === "::1" || bare === "0:0:0:0:0:0:0:1";
}

/**
 * Checks a name given with `hostnames` / `--hostname`.
 * @param name - the name
 * @returns the name in lower case, an IPv6 address without brackets
 * @throws RangeError when it is neither a DNS name nor an IP address
 */
export function normalizeHostname(name: string): string {
  const bare = String(name)
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1");
  if (isIP(bare) !== 0 || (bare.length <= 253 && dnsName.test(bare))) return bare;
  throw new RangeError(
    `"${String(name)}" is neither a DNS name (letters, digits, '-', '.') nor an IP address.`,
  );
}

/** The names and addresses one vault answers to. */
export class HostPolicy {
  private readonly names = new Set<string>();

  /**
   * Creates the policy.
   * @param scheme - the vault's scheme
   * @param listenHost - the address the vault listens on
   * @param hostnames - more names the vault answers to (already normalized)
   */
  constructor(
    readonly scheme: "http" | "https",
    listenHost: string,
    hostnames: readonly string[],
  ) {
    for (const name of ["localhost", "127.0.0.1", "[::1]"]) this.names.add(name);
    const listen = listenHost.toLowerCase().replace(/^\[(.*)\]$/, "$1");
    if (listen === "0.0.0.0" || listen === "::") {
      // Listening everywhere: the machine's own addresses name the vault too.
      for (const addresses of Object.values(networkInterfaces())) {
        for (const address of addresses ?? []) this.names.add(urlHost(address.address));
      }
    } else {
      this.names.add(urlHost(listen));
    }
    for (const name of hostnames) this.names.add(urlHost(name));
  }

  /**
   * The names the vault answers to, for messages.
   * @returns the names, in URL form
   */
  get allowed(): string[] {
    return [...this.names];
  }

  /**
   * Checks a `Host` header.
   * @param header - the header value, if any
   * @returns the accepted host, or undefined when the header is missing, malformed or foreign
   */
  accept(header: string | undefined): AcceptedHost | undefined {
    if (header === undefined) return undefined;
    const match = /^(\[[0-9a-f:.]+\]|[a-z0-9_.-]+)(?::(\d{1,5}))?$/i.exec(header);
    if (match === null) return undefined;
    const hostname = match[1].toLowerCase();
    if (!this.names.has(hostname) && !isLoopbackHost(hostname)) return undefined;
    if (hostname.startsWith("[") ? isIP(hostname.slice(1, -1)) !== 6 : !isName(hostname)) {
      return undefined;
    }
    const defaultPort = defaultPorts[this.scheme];
    const port = match[2] === undefined ? defaultPort : Number(match[2]);
    if (port < 1 || port > 65535) return undefined;
    return {
      hostname,
      port,
      authority: port === defaultPort ? hostname : `${hostname}:${port}`,
    };
  }

  /**
   * Whether an `Origin` header names the vault itself (as reached through `host`).
   * @param origin - the header value
   * @param host - the accepted `Host` of the request
   * @returns true for the vault's own origin
   */
  isOwnOrigin(origin: string, host: AcceptedHost): boolean {
    const prefix = `${this.scheme}://`;
    if (!origin.toLowerCase().startsWith(prefix)) return false;
    const own = this.accept(origin.slice(prefix.length));
    return own !== undefined && own.hostname === host.hostname && own.port === host.port;
  }
}

function isName(host: string): boolean {
  return isIP(host) === 4 || (host.length <= 253 && dnsName.test(host));
}

function urlHost(host: string): string {
  const bare = host
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1")
    .replace(/%.*$/, "");
  return isIP(bare) === 6 ? `[${bare}]` : bare;
}
