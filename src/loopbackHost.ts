/**
 * Whether a URL hostname names this machine: `localhost`, 127.0.0.0/8 or `::1`. The only hosts a
 * token may reach over plain HTTP (the local vault).
 *
 * @param hostname - `URL.hostname`, which the URL parser has already normalised (IPv4 forms such as
 *   `127.1` become dotted quads; IPv6 keeps its brackets).
 * @returns True for a loopback host.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === "localhost" || host === "[::1]" || host === "::1") {
    return true;
  }
  const octets = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return octets !== null && octets.slice(1).every((octet) => Number(octet) <= 255);
}
