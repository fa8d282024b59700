/**
 * The parts of a Key Vault secret identifier.
 */
export interface KeyVaultSecretIdentifier {
  /** The identifier as given, e.g. `https://myvault.vault.azure.net/secrets/my-secret/0123abcd...`. */
  sourceId: string;
  /** The URL of the vault, e.g. `https://myvault.vault.azure.net`. */
  vaultUrl: string;
  /** The version, when the identifier names one. */
  version?: string;
  /** The name of the secret. */
  name: string;
}

const collections = new Set(["secrets", "deletedsecrets"]);

/** The vault URL of the last identifier parsed the long way (normalised by the URL parser). */
let lastVaultUrl: string | undefined;
/** `/secrets/{name}[/{version}]` with nothing to decode or normalise. */
const plainIdPath = /^\/secrets\/([0-9A-Za-z-]+)(?:\/([0-9A-Za-z-]+))?$/;

/**
 * Parses a Key Vault secret identifier (`{vault}/secrets/{name}[/{version}]` or
 * `{vault}/deletedsecrets/{name}`).
 *
 * @param id - The identifier of a secret, a secret version or a deleted secret.
 * @returns Its source id, vault URL, name and (when present) version.
 * @throws TypeError when `id` is not a URL naming a secret or a deleted secret.
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
  // Every id in a response names the same vault: after one full parse, ids that start with that
  // (already normalised) origin and carry only plain segments are split without a URL parser.
  if (
    lastVaultUrl !== undefined &&
    id.startsWith(lastVaultUrl) &&
    id[lastVaultUrl.length] === "/"
  ) {
    const plain = plainIdPath.exec(id.slice(lastVaultUrl.length));
    if (plain !== null) {
      const identifier: KeyVaultSecretIdentifier = {
        sourceId: id,
        vaultUrl: lastVaultUrl,
        name: plain[1]!,
      };
      if (plain[2] !== undefined) identifier.version = plain[2];
      return identifier;
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
  if (
    collection === undefined ||
    !collections.has(collection) ||
    segments.length < 2 ||
    segments.length > maxSegments
  ) {
    throw new TypeError(
      `"${id}" is not a Key Vault secret identifier: expected a path of /secrets/{name}, /secrets/{name}/{version} or /deletedsecrets/{name}.`,
    );
  }
  const identifier: KeyVaultSecretIdentifier = {
    sourceId: id,
    vaultUrl: `${url.protocol}//${url.host}`,
    name: decodeURIComponent(segments[1]!),
  };
  if (segments[2] !== undefined) identifier.version = decodeURIComponent(segments[2]);
  lastVaultUrl = identifier.vaultUrl;
  return identifier;
}

function describe(value: unknown): string {
  return value === "" ? "an empty string" : typeof value;
}
