/**
 * The syntax of App Service Key Vault references (`@Microsoft.KeyVault(...)`) in environment
 * values: parsing a reference, the `name=url` mapping of reference vaults to other URLs, and which
 * URL a parsed reference is read from. Resolving them is `references.ts`.
 */
import { isLoopbackHost } from "../loopbackHost.js";

/** The environment variable that maps reference vaults to other URLs (see `ResolveReferencesOptions.vaultUrls`). */
export const referenceVaultsVariable = "KEYVAULT_REFERENCE_VAULTS";

/** The two forms of a reference, shown when one is malformed. */
const expectedSyntax =
  "@Microsoft.KeyVault(SecretUri=https://<vault>.vault.azure.net/secrets/<name>/[<version>]) or @Microsoft.KeyVault(VaultName=<vault>;SecretName=<name>[;SecretVersion=<version>])";

/** DNS suffixes of Key Vault (public and sovereign clouds, Managed HSM). */
const vaultDnsSuffixes = [
  ".vault.azure.net",
  ".vault.azure.cn",
  ".vault.usgovcloudapi.net",
  ".vault.microsoftazure.de",
  ".managedhsm.azure.net",
];

const vaultNamePattern = /^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/;
const secretNamePattern = /^[a-zA-Z0-9-]{1,127}$/;
const versionPattern = /^[a-fA-F0-9]{32}$/;
const referencePattern = /^@Microsoft\.KeyVault\((.*)\)$/s;

/** A parsed reference. @internal */
export interface KeyVaultReference {
  variableName: string;
  /** The vault as the reference names it: an origin (`https://myvault.vault.azure.net`). */
  vaultOrigin: string;
  /** The vault name, when the host is a Key Vault host or the reference used `VaultName`. */
  vaultName: string | undefined;
  secretName: string;
  version: string | undefined;
}

/**
 * Parses the `name=url,name=url` mapping of reference vaults.
 * @param text - the mapping (empty for none)
 * @param source - where it came from, for messages (a variable or flag name)
 * @returns normalised keys (vault name or origin, lower case) to vault origins
 * @throws TypeError for an entry that is not `name=url` with a usable URL
 * @internal
 */
export function parseReferenceVaults(text: string, source: string): Map<string, string> {
  const entries: Record<string, string> = {};
  for (const entry of text.split(",")) {
    if (entry.trim() === "") continue;
    const separator = entry.indexOf("=");
    if (separator <= 0) {
      throw new TypeError(
        `${source}: "${entry.trim()}" is not name=url; expected e.g. "myvault=http://127.0.0.1:8443".`,
      );
    }
    entries[entry.slice(0, separator).trim()] = entry.slice(separator + 1).trim();
  }
  return checkVaultUrls(entries, source);
}

export function checkVaultUrls(
  vaultUrls: unknown,
  source = "options.vaultUrls",
): Map<string, string> {
  if (typeof vaultUrls !== "object" || vaultUrls === null) {
    throw new TypeError(`${source} must be an object of vault names (or URLs) to vault URLs.`);
  }
  const map = new Map<string, string>();
  for (const [key, url] of Object.entries(vaultUrls as Record<string, unknown>)) {
    const origin = typeof url === "string" ? originOf(url) : undefined;
    if (origin === undefined) {
      throw new TypeError(
        `${source}: the URL for "${key}" must be a vault URL such as "http://127.0.0.1:8443" or "https://myvault.vault.azure.net", without a path.`,
      );
    }
    const normalisedKey = key.includes("://") ? originOf(key) : key.toLowerCase();
    if (normalisedKey === undefined || normalisedKey === "") {
      throw new TypeError(
        `${source}: "${key}" must be a vault name (myvault) or a vault URL (https://myvault.vault.azure.net).`,
      );
    }
    map.set(normalisedKey, origin);
  }
  return map;
}

/** The lower-case origin of an http(s) URL without a path, query or credentials. */
function originOf(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return undefined;
  if (url.pathname !== "/" || url.search !== "" || url.hash !== "") return undefined;
  if (url.username !== "" || url.password !== "") return undefined;
  return url.origin.toLowerCase();
}

export function isReferenceLike(value: string): boolean {
  return value.trimStart().toLowerCase().startsWith("@microsoft.keyvault");
}

/** Parses one reference; a string is the reason it is malformed. */
export function parseReference(variableName: string, value: string): KeyVaultReference | string {
  const malformed = (why: string): string =>
    `malformed Key Vault reference (${why}); expected ${expectedSyntax}`;
  const match = referencePattern.exec(value.trim());
  if (match === null) return malformed("it must be @Microsoft.KeyVault( ... )");
  const parameters = new Map<string, string>();
  const spelled = new Map<string, string>();
  for (const part of match[1]!.split(";")) {
    if (part.trim() === "") continue;
    const separator = part.indexOf("=");
    if (separator <= 0) return malformed(`"${part.trim()}" is not Name=Value`);
    const name = part.slice(0, separator).trim().toLowerCase();
    if (parameters.has(name)) return malformed(`${part.slice(0, separator).trim()} is given twice`);
    parameters.set(name, part.slice(separator + 1).trim());
    spelled.set(name, part.slice(0, separator).trim());
  }
  const known = ["secreturi", "vaultname", "secretname", "secretversion"];
  const unknown = [...parameters.keys()].find((name) => !known.includes(name));
  if (unknown !== undefined) return malformed(`unknown parameter "${spelled.get(unknown)}"`);

  const secretUri = parameters.get("secreturi");
  if (secretUri !== undefined) {
    if (parameters.size > 1) return malformed("SecretUri cannot be combined with other parameters");
    return parseSecretUri(variableName, secretUri, malformed);
  }
  const vaultName = parameters.get("vaultname");
  const secretName = parameters.get("secretname");
  if (vaultName === undefined || secretName === undefined) {
    return malformed("it needs SecretUri, or VaultName and SecretName");
  }
  if (!vaultNamePattern.test(vaultName)) {
    return malformed(
      `VaultName "${vaultName}" is not a vault name (3-24 letters, digits and dashes)`,
    );
  }
  if (!secretNamePattern.test(secretName)) {
    return malformed(`SecretName "${secretName}" is not a secret name (letters, digits, dashes)`);
  }
  const version = parameters.get("secretversion");
  if (version !== undefined && version !== "" && !versionPattern.test(version)) {
    return malformed(`SecretVersion "${version}" is not a version (32 hexadecimal characters)`);
  }
  return {
    variableName,
    vaultOrigin: `https://${vaultName.toLowerCase()}.vault.azure.net`,
    vaultName: vaultName.toLowerCase(),
    secretName,
    version: version === "" ? undefined : version,
  };
}

function parseSecretUri(
  variableName: string,
  secretUri: string,
  malformed: (why: string) => string,
): KeyVaultReference | string {
  let url: URL;
  try {
    url = new URL(secretUri);
  } catch {
    return malformed(`SecretUri "${secretUri}" is not an absolute URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return malformed(`SecretUri "${secretUri}" must use https`);
  }
  if (url.search !== "" || url.hash !== "" || url.username !== "" || url.password !== "") {
    return malformed(`SecretUri "${secretUri}" must not have a query, fragment or user`);
  }
  const segments = url.pathname.split("/").slice(1);
  if (segments.at(-1) === "") segments.pop();
  if (
    segments.length < 2 ||
    segments.length > 3 ||
    segments[0]!.toLowerCase() !== "secrets" ||
    !secretNamePattern.test(segments[1]!) ||
    (segments[2] !== undefined && !versionPattern.test(segments[2]))
  ) {
    return malformed(
      `SecretUri "${secretUri}" must be <vault URL>/secrets/<name>/ or <vault URL>/secrets/<name>/<32-character version>`,
    );
  }
  const host = url.hostname.toLowerCase();
  const suffix = vaultDnsSuffixes.find((s) => host.endsWith(s));
  const vaultName = suffix === undefined ? undefined : host.slice(0, -suffix.length);
  if (vaultName !== undefined && !vaultNamePattern.test(vaultName)) {
    return malformed(`SecretUri "${secretUri}" does not name a vault`);
  }
  return {
    variableName,
    vaultOrigin: url.origin.toLowerCase(),
    vaultName,
    secretName: segments[1]!,
    version: segments[2],
  };
}

/** Where a reference is read: a mapped URL, a Key Vault host, or a loopback host (local vault). */
export function targetVaultUrl(
  reference: KeyVaultReference,
  vaultUrls: Map<string, string>,
): { url: string; error?: undefined } | { url?: undefined; error: string } {
  const mapped =
    vaultUrls.get(reference.vaultOrigin) ??
    (reference.vaultName === undefined ? undefined : vaultUrls.get(reference.vaultName));
  if (mapped !== undefined) return { url: mapped };
  const host = new URL(reference.vaultOrigin).hostname;
  if (reference.vaultName !== undefined || isLoopbackHost(host)) {
    return { url: reference.vaultOrigin };
  }
  return {
    error: `${describeReference(reference, reference.vaultOrigin)} names ${host}, which is not a Key Vault host (*.vault.azure.net and the other clouds') nor a loopback host; map it to a vault URL with ${referenceVaultsVariable} (e.g. ${reference.vaultOrigin}=https://myvault.vault.azure.net)`,
  };
}

export function describeReference(reference: KeyVaultReference, vaultUrl: string): string {
  const mapped = vaultUrl === reference.vaultOrigin ? "" : ` (mapped to ${vaultUrl})`;
  return `the secret "${reference.secretName}"${reference.version === undefined ? "" : ` version ${reference.version}`} of ${reference.vaultOrigin}${mapped}`;
}
