/**
 * Resolution of App Service Key Vault references (`@Microsoft.KeyVault(...)`) in environment
 * values through `SecretCache`, and the errors that name the references that failed. Their syntax
 * is `referenceSyntax.ts`.
 */
import { AbortError } from "@azure/abort-controller";
import type { AbortSignalLike } from "@azure/abort-controller";
import type { TokenCredential } from "@azure/core-auth";
import type { VaultConnection } from "./connection.js";
import { isLoopbackHost } from "../loopbackHost.js";
import type { SecretClientOptions } from "../models.js";
import { SecretCacheError } from "../secretCache/errors.js";
import type { SecretCacheClient } from "../secretCache/options.js";
import { SecretCache } from "../secretCache/secretCache.js";
import { SecretClient } from "../secretClient.js";
import {
  checkVaultUrls,
  describeReference,
  isReferenceLike,
  parseReference,
  parseReferenceVaults,
  referenceVaultsVariable,
  targetVaultUrl,
  type KeyVaultReference,
} from "./referenceSyntax.js";

/**
 * Options of {@link resolveReferences}.
 */
export interface ResolveReferencesOptions {
  /**
   * The credential for every vault the references name, e.g. `DefaultAzureCredential`. For the
   * local vault, one whose token comes from that vault: `ManagedIdentityCredential` with
   * `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` as `keyvault-emulator` prints them (or a local
   * vault's `credential` in tests). `DefaultAzureCredential` falls back to Azure CLI and the like
   * when that endpoint does not answer, and with the local vault's options their real token would
   * go to whatever listens on the vault's port.
   */
  credential: TokenCredential;
  /**
   * Options of the `SecretClient` created for each vault. A vault on this machine (the local
   * vault) needs `{ allowInsecureConnection: true, disableChallengeResourceVerification: true }`
   * (`allowInsecureConnection` over http only): without them its references fail before any
   * request, with a message naming both.
   * @default the client's defaults
   */
  clientOptions?: SecretClientOptions;
  /**
   * Sends the references of a vault to another URL, e.g. `{ myvault: "http://127.0.0.1:8443" }` to
   * resolve the references of `https://myvault.vault.azure.net` against a local vault. A key is a
   * vault name (`myvault`) or a vault URL (`https://myvault.vault.azure.net`); the value is a vault
   * URL without a path.
   * @default the `KEYVAULT_REFERENCE_VAULTS` entry of `env` (`name=url,name=url`), else no mapping
   */
  vaultUrls?: Record<string, string>;
  /**
   * Cancels the resolution: the promise rejects with an `AbortError`.
   * @default none
   */
  abortSignal?: AbortSignalLike;
}

/** One variable {@link resolveReferences} could not resolve, and why. */
export interface KeyVaultReferenceFailure {
  /** The environment variable that holds the reference. */
  variableName: string;
  /** Why, in words (a malformed reference shows the expected syntax). Never a value. */
  reason: string;
}

/**
 * References that are malformed or could not be resolved. The message names each variable and why
 * (a malformed one with the expected syntax) and never contains a secret value.
 *
 * @example
 * ```ts
 * try {
 *   await resolveReferences(process.env, { credential });
 * } catch (error) {
 *   if (error instanceof KeyVaultReferenceError) {
 *     for (const { variableName, reason } of error.failures) console.error(variableName, reason);
 *   }
 * }
 * ```
 */
export class KeyVaultReferenceError extends Error {
  /** Every variable that failed. */
  readonly failures: KeyVaultReferenceFailure[];

  /**
   * Creates the error.
   * @param failures - each variable that failed and why
   */
  constructor(failures: KeyVaultReferenceFailure[]) {
    super(
      `${failures.length === 1 ? "A Key Vault reference" : `${failures.length} Key Vault references`} could not be resolved: ${failures.map((f) => `${f.variableName}: ${f.reason}`).join("; ")}`,
    );
    this.name = "KeyVaultReferenceError";
    this.failures = failures;
  }
}

/**
 * Resolves the App Service Key Vault references among environment values, as App Service and
 * Functions do, so that an app configured for App Service runs unchanged elsewhere. A value is a
 * reference when it is written `@Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net/secrets/db-password/)`
 * (optionally with a version after the name) or
 * `@Microsoft.KeyVault(VaultName=myvault;SecretName=db-password;SecretVersion=...)` (the version is
 * optional). Secrets are read through one {@link SecretCache} per vault (its shared backoff
 * applies); a reference without a version gets the latest one.
 *
 * A `SecretUri` must name a Key Vault host (`*.vault.azure.net` and the other clouds') or a loopback
 * host (the local vault, e.g. `http://127.0.0.1:8443/secrets/db-password`), unless `vaultUrls` maps
 * it. Every reference is checked before any request: when one is malformed nothing is read.
 *
 * @param env - The environment to scan, e.g. `process.env`. It is not changed.
 * @param options - The credential, client options and vault mapping.
 * @returns The resolved variables only (name to secret value); variables that are not references
 *   are not included.
 * @throws KeyVaultReferenceError naming each variable whose reference is malformed (with the
 *   expected syntax) or could not be resolved, and why; a value holding a NUL character (which no
 *   environment variable can carry) is refused by name, never quoted. TypeError for bad options. AbortError
 *   when `abortSignal` aborts.
 * @example
 * ```ts
 * import { DefaultAzureCredential } from "@azure/identity";
 * import { resolveReferences } from "keyvault-secrets";
 *
 * // DB_PASSWORD=@Microsoft.KeyVault(VaultName=myvault;SecretName=db-password)
 * const resolved = await resolveReferences(process.env, {
 *   credential: new DefaultAzureCredential(),
 * });
 * Object.assign(process.env, resolved);
 * ```
 */
export async function resolveReferences(
  env: Record<string, string | undefined>,
  options: ResolveReferencesOptions,
): Promise<Record<string, string>> {
  if (typeof env !== "object" || env === null) {
    throw new TypeError("env must be an object of environment variables, e.g. process.env.");
  }
  if (typeof options !== "object" || options === null) {
    throw new TypeError("options must be an object with a credential.");
  }
  const { credential, clientOptions = {} } = options;
  if (
    typeof credential !== "object" ||
    credential === null ||
    typeof credential.getToken !== "function"
  ) {
    throw new TypeError(
      "options.credential must be a TokenCredential, e.g. new DefaultAzureCredential().",
    );
  }
  const vaultUrls =
    options.vaultUrls === undefined
      ? parseReferenceVaults(env[referenceVaultsVariable] ?? "", referenceVaultsVariable)
      : checkVaultUrls(options.vaultUrls);
  return resolveParsedReferences(
    findReferences(env),
    vaultUrls,
    (vaultUrl) => ({ credential, clientOptions: checkLocalVaultOptions(vaultUrl, clientOptions) }),
    options.abortSignal,
  );
}

/**
 * Checks that the client options fit a vault on this machine (the local vault), whose challenge
 * names https://vault.azure.net: they must turn off the challenge's resource check and, over
 * http, allow it. They are not turned on here for the caller: its credential may hand a real token
 * to whatever listens on that port (see {@link ResolveReferencesOptions.credential}).
 * @param vaultUrl - the vault the references go to
 * @param clientOptions - the caller's client options
 * @returns the options, unchanged
 * @throws Error naming every option the vault needs and where each goes
 */
function checkLocalVaultOptions(
  vaultUrl: string,
  clientOptions: SecretClientOptions,
): SecretClientOptions {
  const url = new URL(vaultUrl);
  if (!isLoopbackHost(url.hostname)) return clientOptions;
  const http = url.protocol === "http:";
  if (
    clientOptions.disableChallengeResourceVerification === true &&
    (!http || clientOptions.allowInsecureConnection === true)
  ) {
    return clientOptions;
  }
  const needed = http
    ? "{ allowInsecureConnection: true, disableChallengeResourceVerification: true }"
    : "{ disableChallengeResourceVerification: true } (and its CA in tlsOptions.ca when its certificate is keyvault-emulator's)";
  throw new Error(
    `it is on this machine (a local vault), so resolveReferences' options need clientOptions: ${needed}, and a credential whose token comes from that vault: new ManagedIdentityCredential() from @azure/identity with IDENTITY_ENDPOINT=${url.origin}/__local/identity/token and IDENTITY_HEADER set as keyvault-emulator prints them (in tests, the local vault's credential). keyvault-secrets run and the preload keyvault-secrets/env do this themselves.`,
  );
}

/**
 * Finds and parses every reference in an environment.
 * @param env - the environment
 * @returns the references, sorted by variable name
 * @throws KeyVaultReferenceError naming each malformed reference with the expected syntax
 * @internal
 */
export function findReferences(env: Record<string, string | undefined>): KeyVaultReference[] {
  const references: KeyVaultReference[] = [];
  const failures: KeyVaultReferenceFailure[] = [];
  for (const variableName of Object.keys(env).sort()) {
    const value = env[variableName];
    if (typeof value !== "string" || !isReferenceLike(value)) continue;
    const parsed = parseReference(variableName, value);
    if (typeof parsed === "string") failures.push({ variableName, reason: parsed });
    else references.push(parsed);
  }
  if (failures.length > 0) throw new KeyVaultReferenceError(failures);
  return references;
}

/**
 * Resolves parsed references, one `SecretCache` per vault.
 * @param references - the references
 * @param vaultUrls - normalised mapping (see {@link parseReferenceVaults})
 * @param connectionFor - the credential and client options for a vault URL (may throw to refuse
 *   the vault)
 * @param abortSignal - cancels the resolution
 * @returns variable name to value
 * @throws KeyVaultReferenceError naming each reference that failed
 * @internal
 */
export async function resolveParsedReferences(
  references: KeyVaultReference[],
  vaultUrls: Map<string, string>,
  connectionFor: (vaultUrl: string) => VaultConnection,
  abortSignal?: AbortSignalLike,
): Promise<Record<string, string>> {
  const failures: KeyVaultReferenceFailure[] = [];
  const byVault = new Map<string, Array<{ reference: KeyVaultReference; key: string }>>();
  for (const reference of references) {
    const target = targetVaultUrl(reference, vaultUrls);
    if (target.error !== undefined) {
      failures.push({ variableName: reference.variableName, reason: target.error });
      continue;
    }
    let group = byVault.get(target.url);
    if (group === undefined) byVault.set(target.url, (group = []));
    group.push({ reference, key: reference.secretName });
  }
  if (failures.length > 0) throw new KeyVaultReferenceError(failures);

  const resolved: Record<string, string> = {};
  const vaults: Array<{ client: SecretClient; cache: SecretCache }> = [];
  const onAbort = (): void => {
    for (const { cache } of vaults) cache.close();
  };
  abortSignal?.addEventListener("abort", onAbort, { once: true });
  try {
    if (abortSignal?.aborted)
      throw new AbortError("The resolution of Key Vault references was aborted.");
    await Promise.all(
      [...byVault].map(async ([vaultUrl, group]) => {
        let client: SecretClient;
        try {
          const { credential, clientOptions } = connectionFor(vaultUrl);
          client = new SecretClient(vaultUrl, credential, clientOptions);
        } catch (error) {
          for (const { reference } of group) {
            failures.push({
              variableName: reference.variableName,
              reason: `the vault ${vaultUrl} cannot be used: ${(error as Error).message}`,
            });
          }
          return;
        }
        // The cache's getOrFetch brings the shared backoff. It reads latest versions by name, so
        // each pinned version gets an alias, a name no plain reference of this vault uses, that
        // this adapter reads as that version.
        const versions = aliasVersions(group);
        const versioned: SecretCacheClient = {
          listPropertiesOfSecrets: (listOptions) => client.listPropertiesOfSecrets(listOptions),
          getSecret: (key, getOptions) => {
            const pinned = versions.get(key.toLowerCase());
            return pinned === undefined
              ? client.getSecret(key, getOptions)
              : client.getSecret(pinned.secretName, { ...getOptions, version: pinned.version });
          },
        };
        // App Service resolves a reference to an expired or not yet valid secret (the service
        // returns it), so the dates do not stop a reference here either.
        const cache = new SecretCache(versioned, { includeOutsideValidityPeriod: true });
        vaults.push({ client, cache });
        await Promise.all(
          group.map(async ({ reference, key }) => {
            try {
              const value = await cache.getOrFetch(key);
              if (value.includes("\0")) {
                failures.push({
                  variableName: reference.variableName,
                  reason: `${describeReference(reference, vaultUrl)} holds a NUL character, which an environment variable cannot carry`,
                });
              } else {
                resolved[reference.variableName] = value;
              }
            } catch (error) {
              failures.push({
                variableName: reference.variableName,
                reason: `${describeReference(reference, vaultUrl)} could not be read: ${reasonOf(error)}`,
              });
            }
          }),
        );
      }),
    );
  } finally {
    abortSignal?.removeEventListener("abort", onAbort);
    for (const { client, cache } of vaults) {
      cache.close();
      client.close();
    }
  }
  if (abortSignal?.aborted)
    throw new AbortError("The resolution of Key Vault references was aborted.");
  if (failures.length > 0) {
    failures.sort((a, b) => (a.variableName < b.variableName ? -1 : 1));
    throw new KeyVaultReferenceError(failures);
  }
  return resolved;
}

/**
 * Gives each versioned reference of a group the alias it is fetched under (its `key`), and returns
 * the aliases (lower case) with what they stand for.
 */
function aliasVersions(
  group: Array<{ reference: KeyVaultReference; key: string }>,
): Map<string, { secretName: string; version: string }> {
  const plain = new Set(
    group.filter((g) => g.reference.version === undefined).map((g) => g.key.toLowerCase()),
  );
  const versions = new Map<string, { secretName: string; version: string }>();
  for (const entry of group) {
    const { secretName, version } = entry.reference;
    if (version === undefined) continue;
    let alias = `${secretName}-${version}`.toLowerCase();
    while (plain.has(alias)) alias += "-v";
    versions.set(alias, { secretName, version });
    entry.key = alias;
  }
  return versions;
}

function reasonOf(error: unknown): string {
  if (error instanceof SecretCacheError) {
    return error.failures[0]?.reason ?? error.message;
  }
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
