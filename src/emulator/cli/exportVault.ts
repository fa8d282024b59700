/**
 * `keyvault-emulator export`: reads every secret of a vault, versions included, as a client does
 * (through SecretClient, authenticated like any client) and writes them in the seed format, so that
 * `--seed` of the file gives the same vault again (ids and timestamps aside).
 *
 * This is the one part of the emulator folder that uses the client: it is a client command, loaded
 * only by the command line, never by `startLocalVault`.
 */
import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import * as path from "node:path";
import { parseArgs } from "node:util";
import type { AccessToken, TokenCredential } from "@azure/core-auth";
import { createPipelineRequest, isRestError } from "@azure/core-rest-pipeline";
import { SecretClient } from "../../secretClient.js";
import { parseArgsErrorMessage } from "../../util/suggestion.js";
import { writePrivateFile } from "../persistence/privateFiles.js";
import { seedDate, type LocalVaultSeed, type LocalVaultSeedSecret } from "../state/seed.js";

/** Usage of `keyvault-emulator export`. */
export const exportHelpText = `Usage: keyvault-emulator export --vault URL [--out FILE] [--ca FILE]

Writes every secret of a vault, all versions with their properties, in the format that --seed
reads. Values are secrets: the file is created readable by its owner only (0600).

  --vault URL   The vault (default: $KEYVAULT_URI)
  --out FILE    Write to FILE (replaced atomically) instead of standard output
  --ca FILE     PEM CA certificate to trust for https (or set NODE_EXTRA_CA_CERTS)

Authentication, as for any client: with IDENTITY_ENDPOINT and IDENTITY_HEADER set (as
keyvault-emulator prints them), tokens come from that managed identity endpoint, which a vault
started with --strict-auth requires; without them a placeholder token is sent, which a local
vault without --strict-auth accepts.

Disabled versions: a local vault gives their values as they are, changing nothing. Key Vault
refuses to read them, so there export enables each one for the moment it reads its value and
disables it again; Ctrl+C names the version and waits for that (a second Ctrl+C exits at once
and leaves it enabled). Interrupted, export writes nothing and exits 130.
`;

/** Key Vault's public DNS suffixes: hosts under them keep the challenge resource check. */
const keyVaultSuffixes = [
  ".vault.azure.net",
  ".vault.azure.cn",
  ".vault.usgovcloudapi.net",
  ".vault.microsoftazure.de",
];

/** Whether a host is one of Key Vault's own (its challenge resource is checked). */
function isKeyVaultHost(host: string): boolean {
  return keyVaultSuffixes.some((suffix) => host.endsWith(suffix));
}

/** The exit code of an interrupted export (as a shell reports Ctrl+C). */
export const interruptedExitCode = 130;

/** What an export read. */
export interface ExportResult {
  seed: LocalVaultSeed;
  /** Versions that were disabled and enabled briefly to read their values (not a local vault). */
  reenabled: number;
  /** Names skipped because Key Vault manages them (certificate-backed secrets). */
  skippedManaged: string[];
  /** Dates a seed cannot hold, left out of their version (`name version field`). */
  droppedDates: string[];
}

/** How {@link exportVault} reads. */
export interface ExportOptions {
  /**
   * Stops the export (Ctrl+C): it ends with an AbortError, once a version enabled for its read
   * is disabled again.
   */
  abortSignal?: AbortSignal;
  /**
   * Whether to ask for disabled versions' values at the local vault's `/__local/value` first
   * (false for Key Vault's own hosts, which are never sent a request of the local vault's).
   * @default true
   */
  localReads?: boolean;
  /**
   * Holds each version enabled for its read until it is disabled again: what a forced exit would
   * leave enabled.
   */
  enabledForRead?: Set<EnabledForRead>;
}

/** A version that export enabled to read it and has not disabled again yet. */
export interface EnabledForRead {
  name: string;
  version: string;
}

/**
 * Reads every secret and version of a vault into the seed format.
 * @param client - a client of the vault
 * @param options - an abort signal; whether the vault may be the local vault
 * @returns the seed and what had to be done to read it
 */
export async function exportVault(
  client: SecretClient,
  options: ExportOptions = {},
): Promise<ExportResult> {
  const { abortSignal, enabledForRead = new Set() } = options;
  const secrets: LocalVaultSeedSecret[] = [];
  const skippedManaged: string[] = [];
  const droppedDates: string[] = [];
  let reenabled = 0;
  let localReads = options.localReads ?? true;
  const readDisabled = async (name: string, version: string): Promise<string> => {
    if (localReads) {
      const value = await readAsIs(client, name, version, abortSignal);
      if (value !== undefined) return value;
      // Not the local vault: read it as any client of the service must.
      localReads = false;
    }
    reenabled += 1;
    return readEnabledBriefly(client, { name, version }, abortSignal, enabledForRead);
  };
  for await (const latest of client.listPropertiesOfSecrets({ abortSignal })) {
    if (latest.managed === true) {
      skippedManaged.push(latest.name);
      continue;
    }
    const versions = [];
    for await (const version of client.listPropertiesOfSecretVersions(latest.name, {
      abortSignal,
    })) {
      versions.push(version);
    }
    // Oldest first, as seed files list them; the sort is stable, so versions created in the same
    // second keep the vault's order.
    versions.sort((a, b) => (a.createdOn?.getTime() ?? 0) - (b.createdOn?.getTime() ?? 0));
    for (const properties of versions) {
      abortSignal?.throwIfAborted();
      const version = properties.version as string;
      const value =
        properties.enabled === false
          ? await readDisabled(latest.name, version)
          : (await client.getSecret(latest.name, { version, abortSignal })).value;
      const entry: LocalVaultSeedSecret = { name: latest.name, value: value ?? "" };
      if (properties.contentType !== undefined) entry.contentType = properties.contentType;
      if (properties.tags !== undefined && Object.keys(properties.tags).length > 0) {
        entry.tags = { ...properties.tags };
      }
      entry.enabled = properties.enabled !== false;
      // A date the vault refuses (kept by an older vault) costs that date, named, not the export.
      for (const field of ["notBefore", "expiresOn"] as const) {
        const date = properties[field];
        if (date === undefined) continue;
        const text = seedDate(date);
        if (text === undefined) droppedDates.push(`${latest.name} ${version} ${field}`);
        else entry[field] = text;
      }
      secrets.push(entry);
    }
  }
  return { seed: { secrets }, reenabled, skippedManaged, droppedDates };
}

/**
 * Reads a disabled version's value at the local vault's `/__local/value`, which changes nothing.
 * @param client - a client of the vault
 * @param name - the secret
 * @param version - the version
 * @param abortSignal - stops the read
 * @returns the value, or undefined when the vault does not answer it (not the local vault)
 */
async function readAsIs(
  client: SecretClient,
  name: string,
  version: string,
  abortSignal: AbortSignal | undefined,
): Promise<string | undefined> {
  const query = new URLSearchParams({ name, version });
  const response = await client.sendRequest(
    createPipelineRequest({ url: `/__local/value?${query.toString()}`, method: "GET" }),
    { abortSignal },
  );
  if (response.status !== 200) return undefined;
  try {
    const value = (JSON.parse(response.bodyAsText ?? "") as { value?: unknown }).value;
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Reads a disabled version as a client of the service must: enables it, reads it, disables it
 * again. The version is disabled again on every way out, an abort included; only a second signal
 * (a forced exit) can leave it enabled, and `enabledForRead` then names it.
 * @param client - a client of the vault
 * @param target - the version
 * @param abortSignal - stops the read (not the enabling or the disabling)
 * @param enabledForRead - holds the version while it may be enabled
 * @returns the value
 */
async function readEnabledBriefly(
  client: SecretClient,
  target: EnabledForRead,
  abortSignal: AbortSignal | undefined,
  enabledForRead: Set<EnabledForRead>,
): Promise<string> {
  const { name, version } = target;
  enabledForRead.add(target);
  try {
    // Not abortable: once it is sent, only its answer says whether the version is enabled.
    await client.updateSecretProperties(name, version, { enabled: true });
  } catch (error) {
    // An error answer changed nothing; without an answer the version may be enabled.
    if (isRestError(error) && error.statusCode !== undefined) enabledForRead.delete(target);
    else await disableAgain(client, target, enabledForRead);
    throw error;
  }
  try {
    abortSignal?.throwIfAborted();
    return (await client.getSecret(name, { version, abortSignal })).value ?? "";
  } finally {
    await disableAgain(client, target, enabledForRead);
  }
}

async function disableAgain(
  client: SecretClient,
  target: EnabledForRead,
  enabledForRead: Set<EnabledForRead>,
): Promise<void> {
  const { name, version } = target;
  try {
    await client.updateSecretProperties(name, version, { enabled: false });
  } catch (error) {
    throw new Error(
      `${name} version ${version} was enabled to read it and could not be disabled again ` +
        `(disable it yourself): ${(error as Error).message}`,
      { cause: error },
    );
  }
  enabledForRead.delete(target);
}

/**
 * A credential for the command line: the App Service managed identity protocol when
 * `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` are set, otherwise a placeholder token.
 *
 * A vault that is not a Key Vault host has its challenge taken on trust (the local vault names
 * https://vault.azure.net), so its tokens must come from its own identity endpoint: a loopback
 * `IDENTITY_ENDPOINT` is no proof, as App Service on Windows and Container Apps set one for the
 * platform's identity, and a process squatting the vault's port would get a real token for
 * whatever resource it names.
 * @param env - the environment
 * @param ca - CA certificate to trust for an https identity endpoint
 * @param vaultUrl - the vault the tokens are for
 * @returns the credential
 * @throws Error when the tokens would come from another origin than an unverified vault's own
 */
export function commandLineCredential(
  env: Record<string, string | undefined>,
  ca: string | undefined,
  vaultUrl: string,
): TokenCredential {
  const endpoint = env.IDENTITY_ENDPOINT;
  const header = env.IDENTITY_HEADER;
  if (endpoint === undefined || endpoint === "" || header === undefined || header === "") {
    return {
      getToken: async () => ({
        token: "keyvault-emulator-export",
        expiresOnTimestamp: Date.now() + 3_600_000,
      }),
    };
  }
  const vault = URL.canParse(vaultUrl) ? new URL(vaultUrl) : undefined;
  const verified = vault === undefined || keyVaultSuffixes.some((s) => vault.hostname.endsWith(s));
  if (!verified && (!URL.canParse(endpoint) || new URL(endpoint).origin !== vault.origin)) {
    throw new Error(
      `IDENTITY_ENDPOINT is not the identity endpoint of ${vault.origin}, so a real token could be sent to whatever answers there. Set IDENTITY_ENDPOINT=${vault.origin}/__local/identity/token and IDENTITY_HEADER as keyvault-emulator printed them, or unset both (a vault without --strict-auth accepts the placeholder token then sent).`,
    );
  }
  return {
    getToken: async (scopes) => {
      const scope = Array.isArray(scopes) ? scopes[0] : scopes;
      const url = new URL(endpoint);
      url.searchParams.set("api-version", "2019-08-01");
      url.searchParams.set("resource", scope.replace(/\/\.default$/, ""));
      const body = await getJson(url, { "x-identity-header": header }, ca);
      const token = (body as { access_token?: unknown }).access_token;
      const expiresOn = Number((body as { expires_on?: unknown }).expires_on);
      if (typeof token !== "string" || !Number.isFinite(expiresOn)) {
        throw new Error(`The identity endpoint ${url.origin} answered without a token.`);
      }
      return { token, expiresOnTimestamp: expiresOn * 1000 } satisfies AccessToken;
    },
  };
}

function getJson(url: URL, headers: Record<string, string>, ca: string | undefined) {
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise<unknown>((resolve, reject) => {
    const req = request(
      url,
      { headers, timeout: 10_000, ...(ca === undefined ? {} : { ca }) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          if (res.statusCode !== 200) {
            reject(new Error(`The identity endpoint ${url.origin} answered ${res.statusCode}.`));
            return;
          }
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
          } catch {
            reject(new Error(`The identity endpoint ${url.origin} answered no JSON.`));
          }
        });
      },
    );
    req.on("timeout", () =>
      req.destroy(new Error(`The identity endpoint ${url.origin} did not answer.`)),
    );
    req.on("error", reject);
    req.end();
  });
}

/** The flags of `keyvault-emulator export`. */
const exportFlags = {
  vault: { type: "string" },
  out: { type: "string" },
  ca: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/**
 * Runs `keyvault-emulator export`.
 * @param argv - the arguments after `export`
 * @param env - the environment
 * @param io - where the seed (without `--out`) and messages go
 * @param interrupt - aborted on Ctrl+C: the export stops (a version enabled for its read is
 *   disabled again first) and writes nothing
 * @returns the exit code: 0 done, 1 failed, 2 bad arguments, 130 interrupted
 */
export async function runExport(
  argv: string[],
  env: Record<string, string | undefined>,
  io: { stdout: (text: string) => void; stderr: (text: string) => void },
  interrupt?: AbortSignal,
): Promise<number> {
  let values: { vault?: string; out?: string; ca?: string; help?: boolean };
  try {
    values = parseArgs({
      args: argv,
      options: exportFlags,
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    const message = parseArgsErrorMessage(error, Object.keys(exportFlags));
    io.stderr(`keyvault-emulator export: ${message}\n${exportHelpText}`);
    return 2;
  }
  if (values.help) {
    io.stdout(exportHelpText);
    return 0;
  }
  const vaultUrl = values.vault ?? env.KEYVAULT_URI;
  if (vaultUrl === undefined || vaultUrl === "") {
    io.stderr(`keyvault-emulator export: give --vault URL (or set KEYVAULT_URI).\n`);
    return 2;
  }
  try {
    const ca = values.ca === undefined ? undefined : readFileSync(values.ca, "utf8");
    let host = "";
    try {
      host = new URL(vaultUrl).hostname.toLowerCase();
    } catch {
      // SecretClient reports the malformed URL.
    }
    const client = new SecretClient(vaultUrl, commandLineCredential(env, ca, vaultUrl), {
      allowInsecureConnection: true,
      disableChallengeResourceVerification: !isKeyVaultHost(host),
      ...(ca === undefined ? {} : { tlsOptions: { ca } }),
      userAgentOptions: { userAgentPrefix: "keyvault-emulator-export" },
    });
    const enabledForRead = new Set<EnabledForRead>();
    const onInterrupt = (): void => {
      for (const { name, version } of enabledForRead) {
        io.stderr(
          `keyvault-emulator export: interrupted; disabling ${name} version ${version} again first (interrupt again to exit at once and leave it enabled).\n`,
        );
      }
    };
    interrupt?.addEventListener("abort", onInterrupt, { once: true });
    let result: ExportResult;
    try {
      result = await exportVault(client, {
        abortSignal: interrupt,
        localReads: !isKeyVaultHost(host),
        enabledForRead,
      });
    } finally {
      interrupt?.removeEventListener("abort", onInterrupt);
      // The client's connections would keep the process (or a test run) alive.
      client.close();
    }
    const text = `${JSON.stringify(result.seed, null, 2)}\n`;
    if (values.out === undefined) io.stdout(text);
    else await writePrivateFile(values.out, text);
    const versions = result.seed.secrets.length;
    const names = new Set(result.seed.secrets.map((s) => s.name.toLowerCase())).size;
    io.stderr(
      `keyvault-emulator export: ${names} secret${names === 1 ? "" : "s"}, ${versions} version${versions === 1 ? "" : "s"}` +
        (values.out === undefined ? "" : ` written to ${path.resolve(values.out)}`) +
        ".\n",
    );
    if (result.reenabled > 0) {
      io.stderr(
        `keyvault-emulator export: ${result.reenabled === 1 ? "1 disabled version was" : `${result.reenabled} disabled versions were`} enabled for the moment its value was read, then disabled again.\n`,
      );
    }
    if (result.droppedDates.length > 0) {
      io.stderr(
        `keyvault-emulator export: left out dates outside 1970 to 9999, which --seed would refuse: ${result.droppedDates.join(", ")}.\n`,
      );
    }
    if (result.skippedManaged.length > 0) {
      io.stderr(
        `keyvault-emulator export: skipped certificate-backed secrets: ${result.skippedManaged.join(", ")}.\n`,
      );
    }
    return 0;
  } catch (error) {
    if (interrupt?.aborted && (error as Error).name === "AbortError") {
      io.stderr("keyvault-emulator export: interrupted; nothing was written.\n");
      return interruptedExitCode;
    }
    // RestError messages carry the service's message, never a value.
    const hint =
      (error as { statusCode?: number }).statusCode === 401
        ? "\nThe vault refused the token: set IDENTITY_ENDPOINT and IDENTITY_HEADER as keyvault-emulator printed them (a vault started with --strict-auth needs a token it issued)."
        : "";
    io.stderr(`keyvault-emulator export: ${(error as Error).message}${hint}\n`);
    return 1;
  }
}
