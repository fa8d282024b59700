/**
 * The parts of a Key Vault secret identifier.
 */
export interface KeyVaultSecretIdentifier {
  /** The identifier as given, e.g. `https://myvault.vault.azure.net/secrets/my-secret/0123abcd...`. */
  sourceId: string;
  /** The URL of the vault, e.g. `https://myvault.vault.azure.net`. */
  vaultUrl: string;
  /** The version, when the identifier names one; an own key holding `undefined` otherwise (as in 4.x). */
  version?: string;
  /** The name of the secret. */
  name: string;
}

const collections = new Set(["secrets", "deletedsecrets"]);

/**
 * The common id, split without a URL parser: `http(s)://{host}[:port]/secrets/{name}[/{version}]`
 * with a host the URL parser would leave unchanged (lowercase labels, the last one not numeric, or
 * an IPv4 address in dotted decimal without leading zeros, as the local vault's ids have), a port
 * without leading zeros, and segments with nothing to decode.
 */
const plainId =
  /^(https?):\/\/((?:[a-z0-9-]+\.)*[a-z][a-z0-9-]*|(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9]))(?::([1-9][0-9]{0,4}))?\/secrets\/([0-9A-Za-z-]+)(?:\/([0-9A-Za-z-]+))?$/;
const defaultPorts: Record<string, string> = { http: "80", https: "443" };

/**
 * Parses a Key Vault secret identifier (`{vault}/secrets/{name}[/{version}]` or
 * `{vault}/deletedsecrets/{name}`).
 *
 * A pure function: the same id always gives the same result, and nothing is kept between calls.
 *
 * @param id - The identifier of a secret, a secret version or a deleted secret.
 * @returns Its source id, vault URL, name and version (`version` is always an own key, holding
 *   `undefined` for an id without a version, as in 4.x).
 * @throws TypeError when `id` is not a URL naming a secret or a deleted secret, or carries a
 *   malformed percent-encoding.
 *
 * @example
 * ```ts
 * import { parseKeyVaultSecretIdentifier } from "keyvault-secrets";
 *
 * const { vaultUrl, name, version } = parseKeyVaultSecretIdentifier(
 *   "https://myvault.vault.azure.net/secrets/db-password/0123456789abcdef0123456789abcdef",
 * );
 * console.log(vaultUrl, name, version);
 * ```
 */
export function parseKeyVaultSecretIdentifier(id: string): KeyVaultSecretIdentifier {
  if (typeof id !== "string" || id.length === 0) {
    throw new TypeError(
      `A Key Vault secret identifier must be a non-empty string, got ${describe(id)}.`,
    );
  }
  const plain = plainId.exec(id);
  if (plain !== null) {
    const [, scheme, host, port, name, version] = plain as unknown as [
      string,
      string,
      string,
      string | undefined,
      string,
      string | undefined,
    ];
    // Punycode labels go the long way: the URL parser checks (and may reject) them.
    if ((port === undefined || Number(port) <= 65535) && !host.includes("xn--")) {
      const authority =
        port === undefined || port === defaultPorts[scheme] ? host : `${host}:${port}`;
      return { sourceId: id, vaultUrl: `${scheme}://${authority}`, name, version };
    }
  }
  let url: URL;
  try {
    url = new URL(id);
  } catch {
    throw new TypeError(
      `"${id}" is not a Key Vault secret identifier: expected a URL like https://{vault}/secrets/{name}/{version}.`,
    );
  }
  // Identifiers seen in the wild may carry a doubled slash or a trailing one.
  const segments = url.pathname.split("/").filter((segment) => segment.length > 0);
  const collection = segments[0]?.toLowerCase();
  const isDeleted = collection === "deletedsecrets";
  const maxSegments = isDeleted ? 2 : 3;
  if (!collections.has(collection) || segments.length < 2 || segments.length > maxSegments) {
    throw new TypeError(
      `"${id}" is not a Key Vault secret identifier: expected a path of /secrets/{name}, /secrets/{name}/{version} or /deletedsecrets/{name}.`,
    );
  }
  // As 4.x: `version` is an own key, holding undefined when the id names no version.
  return {
    sourceId: id,
    vaultUrl: `${url.protocol}//${url.host}`,
    name: decodeSegment(id, segments[1]!),
    version: segments[2] === undefined ? undefined : decodeSegment(id, segments[2]),
  };
}

function decodeSegment(id: string, segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new TypeError(
      `"${id}" is not a Key Vault secret identifier: "${segment}" is not a valid percent-encoding.`,
    );
  }
}

function describe(value: unknown): string {
  return value === "" ? "an empty string" : typeof value;
}
