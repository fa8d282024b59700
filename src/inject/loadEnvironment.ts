/**
 * The one load behind `keyvault-secrets run` and the preload: a `SecretCache` over the vault with
 * the chosen filters, its environment mapping, and the App Service references of the environment.
 */
import type { AbortSignalLike } from "@azure/abort-controller";
import { constants } from "node:os";
import {
  EnvironmentKeyCollisionError,
  mapToEnvironment,
  toEnvironmentKey,
  type EnvironmentKeyRefusal,
} from "../secretCache/environment.js";
import { SecretCacheError } from "../secretCache/errors.js";
import type { SecretCacheTagFilter } from "../secretCache/options.js";
import { SecretCache } from "../secretCache/secretCache.js";
import { SecretClient } from "../secretClient.js";
import { parseBooleanEnvironment } from "../util/booleanText.js";
import {
  clientOptionsFor,
  connectionFor,
  defaultCredentials,
  InjectError,
  type Credentials,
  type VaultConnection,
} from "./connection.js";
import { parseReferenceVaults, referenceVaultsVariable } from "./referenceSyntax.js";
import { findReferences, KeyVaultReferenceError, resolveParsedReferences } from "./references.js";

/** What to load and how to map it: the flags of `run`, the variables of the preload. */
export interface InjectSettings {
  /** The vault to load from; without one only references are resolved. */
  vaultUrl: string | undefined;
  prefix: string | undefined;
  names: string[] | undefined;
  tag: SecretCacheTagFilter | undefined;
  /** Put before every environment key. */
  envPrefix: string;
  /** Remove `prefix` from the names before mapping them. */
  stripPrefix: boolean;
  /** Replace variables that are already set. */
  override: boolean;
  /** Start without the `names` the vault lacks or holds disabled (they are reported). */
  allowMissing: boolean;
  /** Start even when no secret of the vault matched the filters. */
  allowEmpty: boolean;
  /** Name the secrets and variables in the summary line, not only count them. */
  verbose: boolean;
  /** Reference vault mapping, `name=url,...`, and where it came from. */
  referenceVaults: { text: string; source: string };
  /** How the user spells the settings (flags of `run`, variables of the preload), for messages. */
  settingNames: SettingNames;
}

/** How the user spells each setting that a message may name: a flag of `run`, a variable of the preload. */
export interface SettingNames {
  prefix: string;
  stripPrefix: string;
  names: string;
  tag: string;
  /** How to allow an empty load, as advice: "set KEYVAULT_SECRETS_ALLOW_EMPTY=true". */
  allowEmpty: string;
}

/** What a load produced. Keys only, except `variables`. */
export interface InjectResult {
  /** The variables to set: loaded secrets (minus those already set) and resolved references. */
  variables: Record<string, string>;
  /** The names of the secrets loaded from the vault (before mapping), sorted. */
  loaded: string[];
  /** Keys of vault secrets left alone because they were already set. */
  skipped: string[];
  /** Variables whose references were resolved. */
  references: string[];
  /** Vault secrets left out because they are expired or not yet valid, with why (names only). */
  outsideValidityPeriod: Array<{ secretName: string; reason: "expired" | "notYetValid" }>;
  /** Names given in `names` that the vault lacks or holds disabled (only with `allowMissing`). */
  missing: string[];
  /**
   * Variables a secret's name may not choose (NODE_OPTIONS, LD_PRELOAD, PATH, ...), left out
   * because the secret was not named in `names`.
   */
  refused: EnvironmentKeyRefusal[];
}

/**
 * The warnings a load calls for: secrets left out for their dates, and (with `allowMissing`) the
 * names the vault lacks. Names only, never values.
 * @param result - what the load produced
 * @returns the lines to print (none when nothing was left out)
 */
export function loadWarnings(result: InjectResult): string[] {
  const lines: string[] = [];
  const expired = result.outsideValidityPeriod.filter((s) => s.reason === "expired");
  const notYetValid = result.outsideValidityPeriod.filter((s) => s.reason === "notYetValid");
  if (expired.length > 0) {
    lines.push(`skipped, expired: ${expired.map((s) => s.secretName).join(", ")}`);
  }
  if (notYetValid.length > 0) {
    lines.push(`skipped, not yet valid: ${notYetValid.map((s) => s.secretName).join(", ")}`);
  }
  if (result.missing.length > 0) {
    lines.push(`skipped, missing or disabled in the vault: ${result.missing.join(", ")}`);
  }
  if (result.refused.length > 0) {
    const refused = result.refused.map((r) => `${r.key} <- ${r.secretName}: ${r.reason}`);
    lines.push(
      `not set, a secret may choose these variables only when listed by name (--names, ${preloadVariables.names}): ${refused.join("; ")}`,
    );
  }
  return lines;
}

/**
 * The one line that says what a load did: how many secrets came from the vault and how many
 * references were resolved; with `verbose`, their names, and the variables left as they were.
 * Names only, never values.
 * @param result - what the load produced
 * @param settings - what was asked (the vault, verbose)
 * @returns the line, or `undefined` when there was nothing to load (no vault, no references)
 */
export function loadSummary(result: InjectResult, settings: InjectSettings): string | undefined {
  const parts: string[] = [];
  const listed = (names: string[]): string =>
    settings.verbose && names.length > 0 ? `: ${names.join(", ")}` : "";
  if (settings.vaultUrl !== undefined) {
    parts.push(
      `loaded ${counted(result.loaded.length, "secret")} from ${settings.vaultUrl}${listed(result.loaded)}`,
    );
  }
  if (result.references.length > 0) {
    const references = [...result.references].sort();
    parts.push(`resolved ${counted(references.length, "reference")}${listed(references)}`);
  }
  if (settings.verbose && result.skipped.length > 0) {
    parts.push(`already set, kept: ${[...result.skipped].sort().join(", ")}`);
  }
  return parts.length === 0 ? undefined : parts.join("; ");
}

/** "1 secret", "2 secrets", "0 secrets". */
function counted(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** The environment variables of the preload, with what each does (for help and docs). */
export const preloadVariables = {
  vault: "KEYVAULT_URI",
  prefix: "KEYVAULT_SECRETS_PREFIX",
  names: "KEYVAULT_SECRETS_NAMES",
  tag: "KEYVAULT_SECRETS_TAG",
  envPrefix: "KEYVAULT_SECRETS_ENV_PREFIX",
  stripPrefix: "KEYVAULT_SECRETS_STRIP_PREFIX",
  override: "KEYVAULT_SECRETS_OVERRIDE",
  allowMissing: "KEYVAULT_SECRETS_ALLOW_MISSING",
  allowEmpty: "KEYVAULT_SECRETS_ALLOW_EMPTY",
  verbose: "KEYVAULT_SECRETS_VERBOSE",
  referenceVaults: referenceVaultsVariable,
} as const;

/** How the preload's settings are spelled in messages: its variables. */
const preloadSettingNames: SettingNames = {
  prefix: preloadVariables.prefix,
  stripPrefix: preloadVariables.stripPrefix,
  names: preloadVariables.names,
  tag: preloadVariables.tag,
  allowEmpty: `set ${preloadVariables.allowEmpty}=true`,
};

/** Set in the preload's own helper process so that a preload in NODE_OPTIONS does not recurse. */
export const preloadChildVariable = "KEYVAULT_SECRETS_PRELOAD_CHILD";

/**
 * A true/false variable of the environment, in the one grammar of them all
 * (`util/booleanEnv.ts`: 1/0, true/false, yes/no, on/off, any case); unset or empty is false.
 *
 * @param env - the environment
 * @param name - the variable's name
 * @returns the flag
 * @throws InjectError (status 2) naming the variable and the accepted words for any other value
 */
export function flagFromEnvironment(
  env: Record<string, string | undefined>,
  name: string,
): boolean {
  try {
    return parseBooleanEnvironment(name, env[name]) ?? false;
  } catch (error) {
    throw new InjectError((error as Error).message, 2);
  }
}

/**
 * Reads the preload's settings from the environment.
 * @param env - the environment
 * @returns the settings
 * @throws InjectError for a value that cannot be used
 */
export function settingsFromEnvironment(env: Record<string, string | undefined>): InjectSettings {
  const text = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === "" ? undefined : value;
  };
  const flag = (name: string): boolean => flagFromEnvironment(env, name);
  const names = text(preloadVariables.names);
  const tag = text(preloadVariables.tag);
  return checkSettings(
    {
      vaultUrl: text(preloadVariables.vault),
      prefix: text(preloadVariables.prefix),
      names: names === undefined ? undefined : parseNames(names, preloadVariables.names),
      tag: tag === undefined ? undefined : parseTag(tag, preloadVariables.tag),
      envPrefix: text(preloadVariables.envPrefix) ?? "",
      stripPrefix: flag(preloadVariables.stripPrefix),
      override: flag(preloadVariables.override),
      allowMissing: flag(preloadVariables.allowMissing),
      allowEmpty: flag(preloadVariables.allowEmpty),
      verbose: flag(preloadVariables.verbose),
      referenceVaults: {
        text: env[preloadVariables.referenceVaults] ?? "",
        source: preloadVariables.referenceVaults,
      },
    },
    preloadSettingNames,
  );
}

/**
 * Checks settings that depend on each other.
 * @param settings - the settings
 * @param settingNames - how the user spells them, for messages (kept in the result)
 * @returns the settings
 * @throws InjectError when they do not fit together
 */
export function checkSettings(
  settings: Omit<InjectSettings, "settingNames">,
  settingNames: SettingNames,
): InjectSettings {
  if (settings.stripPrefix && settings.prefix === undefined) {
    throw new InjectError(
      `${settingNames.stripPrefix} needs ${settingNames.prefix}: the prefix to strip.`,
      2,
    );
  }
  return { ...settings, settingNames };
}

/**
 * A comma-separated list of secret names.
 * @param text - the list
 * @param source - the flag or variable, for messages
 * @returns the names
 * @throws InjectError for an empty list
 */
export function parseNames(text: string, source: string): string[] {
  const names = text
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  if (names.length === 0) {
    throw new InjectError(`${source} must list secret names, e.g. "db-password,api-key".`, 2);
  }
  return names;
}

/**
 * A tag filter written `name` or `name=value`.
 * @param text - the filter
 * @param source - the flag or variable, for messages
 * @returns the filter
 * @throws InjectError for an empty tag name
 */
export function parseTag(text: string, source: string): SecretCacheTagFilter {
  const separator = text.indexOf("=");
  const name = (separator < 0 ? text : text.slice(0, separator)).trim();
  if (name === "") {
    throw new InjectError(`${source} must be a tag name or name=value, e.g. "app=billing".`, 2);
  }
  return separator < 0 ? { name } : { name, value: text.slice(separator + 1) };
}

/**
 * Loads the secrets and resolves the references the settings and environment call for. Nothing is
 * returned unless everything succeeded.
 * @param settings - what to load
 * @param env - the environment the app will see (read, not changed)
 * @param credentialsFactory - makes the credentials (once, only when something is to be read)
 * @param abortSignal - ends the load (it then rejects with an AbortError)
 * @returns the variables to set
 * @throws InjectError naming each secret or variable that failed and why
 */
export async function loadEnvironment(
  settings: InjectSettings,
  env: Record<string, string | undefined>,
  credentialsFactory: () => Promise<Credentials> = defaultCredentials,
  abortSignal?: AbortSignalLike,
): Promise<InjectResult> {
  let references;
  let vaultUrls;
  try {
    references = findReferences(env);
    vaultUrls = parseReferenceVaults(
      settings.referenceVaults.text,
      settings.referenceVaults.source,
    );
  } catch (error) {
    throw asInjectError(error, 2);
  }
  const result: InjectResult = {
    variables: {},
    loaded: [],
    skipped: [],
    references: [],
    outsideValidityPeriod: [],
    missing: [],
    refused: [],
  };
  if (settings.vaultUrl === undefined && references.length === 0) return result;

  // A vault that cannot be used safely is refused before @azure/identity is even loaded.
  if (settings.vaultUrl !== undefined) clientOptionsFor(settings.vaultUrl, env);
  const credentials = await credentialsFactory();
  const connect = (vaultUrl: string): VaultConnection => connectionFor(vaultUrl, env, credentials);

  const [loaded, resolved] = await Promise.all([
    settings.vaultUrl === undefined
      ? Promise.resolve<LoadedVault>({
          variables: {},
          loaded: [],
          outsideValidityPeriod: [],
          missing: [],
          refused: [],
        })
      : loadVault(settings, settings.vaultUrl, connect(settings.vaultUrl), abortSignal),
    resolveParsedReferences(references, vaultUrls, connect, abortSignal).catch((error: unknown) => {
      throw asInjectError(error, 1);
    }),
  ]);
  for (const [key, value] of Object.entries(resolved)) {
    result.variables[key] = value;
    result.references.push(key);
  }
  for (const [key, value] of Object.entries(loaded.variables)) {
    if (env[key] !== undefined && !settings.override) result.skipped.push(key);
    else result.variables[key] = value;
  }
  result.loaded = loaded.loaded;
  result.outsideValidityPeriod = loaded.outsideValidityPeriod;
  result.missing = loaded.missing;
  result.refused = loaded.refused;
  return result;
}

type LoadedVault = Pick<
  InjectResult,
  "variables" | "loaded" | "outsideValidityPeriod" | "missing" | "refused"
>;

async function loadVault(
  settings: InjectSettings,
  vaultUrl: string,
  { credential, clientOptions }: VaultConnection,
  abortSignal: AbortSignalLike | undefined,
): Promise<LoadedVault> {
  let client: SecretClient;
  try {
    client = new SecretClient(vaultUrl, credential, clientOptions);
  } catch (error) {
    throw new InjectError(`The vault URL cannot be used: ${(error as Error).message}`, 2);
  }
  const cache = new SecretCache(client, {
    ...(settings.prefix === undefined ? {} : { prefix: settings.prefix }),
    ...(settings.names === undefined ? {} : { names: settings.names }),
    ...(settings.tag === undefined ? {} : { tag: settings.tag }),
    allowMissingNames: settings.allowMissing,
  });
  try {
    const { skipped, missing } = await cache.load(abortSignal === undefined ? {} : { abortSignal });
    const entries = cache.secretNames().map((name) => ({ name, value: cache.get(name)! }));
    if (entries.length === 0) refuseEmptyLoad(settings, vaultUrl, skipped);
    refuseNulValues(entries);
    const prefixLength = settings.prefix?.length ?? 0;
    const named = new Set(settings.names?.map((name) => name.toLowerCase()));
    const { variables, refused } = mapToEnvironment(
      entries,
      {
        prefix: settings.envPrefix,
        ...(settings.stripPrefix
          ? { transform: (name: string) => toEnvironmentKey(name.slice(prefixLength)) || undefined }
          : {}),
      },
      (name) => named.has(name.toLowerCase()),
    );
    return {
      variables,
      loaded: entries.map(({ name }) => name).sort(),
      outsideValidityPeriod: skipped.map(({ secretName, reason }) => ({ secretName, reason })),
      missing,
      refused,
    };
  } catch (error) {
    if (error instanceof SecretCacheError) {
      const lines = error.failures.map(({ secretName, reason }) => `  ${secretName}: ${reason}`);
      throw new InjectError(
        lines.length === 0
          ? `Could not load the secrets of ${vaultUrl}: ${error.message}`
          : `Could not load the secrets of ${vaultUrl}; nothing was loaded. Each secret that failed, and why:\n${lines.join("\n")}`,
      );
    }
    if (error instanceof EnvironmentKeyCollisionError) throw new InjectError(error.message, 1);
    throw error;
  } finally {
    cache.close();
    client.close();
  }
}

/**
 * Refuses a load that matched no secret of the vault (a mistyped prefix or tag would otherwise
 * start the app with none, silently), unless the settings allow it: `allowEmpty`, or
 * `allowMissing` with `names` (the user has said the named secrets may all be absent).
 * @param settings - the settings (filters, allowances, how they are spelled)
 * @param vaultUrl - the vault
 * @param skipped - secrets that matched but are expired or not yet valid
 * @throws InjectError naming the filters, what was left out and the setting that allows it
 */
function refuseEmptyLoad(
  settings: InjectSettings,
  vaultUrl: string,
  skipped: Array<{ secretName: string }>,
): void {
  if (settings.allowEmpty || (settings.names !== undefined && settings.allowMissing)) return;
  const filters = describeFilters(settings);
  const matched =
    filters.length === 0
      ? `${vaultUrl} holds no enabled secret that can be read`
      : `no secret of ${vaultUrl} matched ${filters.join(" and ")}`;
  const leftOut =
    skipped.length === 0
      ? ""
      : ` (matched, but expired or not yet valid: ${skipped.map((s) => s.secretName).join(", ")})`;
  const check =
    filters.length === 0
      ? "Check the vault URL"
      : `Check ${filters.length === 1 ? "the filter" : "the filters"} (a prefix matches the start of a name in any case; a tag, its name and value exactly)`;
  throw new InjectError(
    `Nothing was loaded: ${matched}${leftOut}. ${check}, or ${settings.settingNames.allowEmpty} to start with no secrets.`,
  );
}

/** The filters of the settings as the user wrote them, e.g. `--prefix "orders-"`. */
function describeFilters(settings: InjectSettings): string[] {
  const { prefix, names, tag, settingNames } = settings;
  const filters: string[] = [];
  if (prefix !== undefined) filters.push(`${settingNames.prefix} ${JSON.stringify(prefix)}`);
  if (names !== undefined) filters.push(`${settingNames.names} ${JSON.stringify(names.join(","))}`);
  if (tag !== undefined) {
    const text = tag.value === undefined ? tag.name : `${tag.name}=${tag.value}`;
    filters.push(`${settingNames.tag} ${JSON.stringify(text)}`);
  }
  return filters;
}

/**
 * Refuses values that no environment variable can carry: Node.js would cut them short at the NUL
 * (the preloads) or fail to start the command with an error that quotes them (`run`).
 * @param entries - the secrets
 * @throws InjectError naming each such secret, never its value
 */
function refuseNulValues(entries: Array<{ name: string; value: string }>): void {
  const names = entries.filter(({ value }) => value.includes("\0")).map(({ name }) => name);
  if (names.length > 0) {
    throw new InjectError(
      `Nothing was loaded: the value of ${names.length === 1 ? "this secret holds" : "these secrets hold"} a NUL character, which an environment variable cannot carry: ${names.join(", ")}. Leave the secret out (--names, --prefix, --tag) or store the value encoded (e.g. base64).`,
    );
  }
}

/**
 * Turns the errors of a load into an {@link InjectError} with a readable message.
 * @param error - the error
 * @param exitCode - the status for it
 * @returns the error to report
 */
export function asInjectError(error: unknown, exitCode: number): InjectError | unknown {
  if (error instanceof InjectError) return error;
  if (error instanceof KeyVaultReferenceError) {
    return new InjectError(
      `Key Vault references failed; nothing was loaded. Each variable that failed, and why:\n${error.failures.map(({ variableName, reason }) => `  ${variableName}: ${reason}`).join("\n")}`,
      exitCode,
    );
  }
  if (error instanceof TypeError) return new InjectError(error.message, 2);
  return error;
}

/** The signals that end a load still running, before anything is started. */
const interruptingSignals: NodeJS.Signals[] = ["SIGINT", "SIGTERM"];

/**
 * {@link loadEnvironment} that SIGINT or SIGTERM ends: the load is aborted and it rejects with an
 * {@link InjectError} whose status is 128 + the signal's number, so nothing is started.
 * @param settings - what to load
 * @param env - the environment the app will see (read, not changed)
 * @returns the variables to set
 * @throws InjectError naming each secret or variable that failed and why, or the signal
 */
export async function loadEnvironmentUntilInterrupted(
  settings: InjectSettings,
  env: Record<string, string | undefined>,
): Promise<InjectResult> {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    received ??= signal;
    controller.abort();
  };
  for (const signal of interruptingSignals) process.on(signal, onSignal);
  const interrupted = (signal: NodeJS.Signals): InjectError =>
    new InjectError(
      `Interrupted by ${signal} while loading the secrets; nothing was started.`,
      128 + (constants.signals[signal] ?? 0),
    );
  try {
    const result = await loadEnvironment(settings, env, defaultCredentials, controller.signal);
    if (received !== undefined) throw interrupted(received);
    return result;
  } catch (error) {
    if (received !== undefined) throw interrupted(received);
    throw error;
  } finally {
    for (const signal of interruptingSignals) process.off(signal, onSignal);
  }
}

/** The prefix of every line the preload `keyvault-secrets/env` writes to stderr. */
const preloadPrefix = "keyvault-secrets/env";

/**
 * The preload's load (`keyvault-secrets/env`, in ESM or in the CommonJS helper process): the
 * environment's settings, SIGINT and SIGTERM ending it, warnings and the summary line written to
 * stderr.
 * @param env - the environment the app will see (read, not changed)
 * @returns the variables to set
 * @throws what {@link loadEnvironmentUntilInterrupted} throws
 */
export async function loadForPreload(
  env: Record<string, string | undefined>,
): Promise<Record<string, string>> {
  const settings = settingsFromEnvironment(env);
  const result = await loadEnvironmentUntilInterrupted(settings, env);
  for (const line of loadWarnings(result)) process.stderr.write(`${preloadPrefix}: ${line}\n`);
  const summary = loadSummary(result, settings);
  if (summary !== undefined) process.stderr.write(`${preloadPrefix}: ${summary}\n`);
  return result.variables;
}

/**
 * Writes why the preload's load failed to stderr (names and reasons, never values).
 * @param error - what {@link loadForPreload} threw
 * @returns the exit status for it
 */
export function reportPreloadFailure(error: unknown): number {
  const reported = asInjectError(error, 1);
  process.stderr.write(
    `${preloadPrefix}: ${reported instanceof Error ? reported.message : String(reported)}\nThe app was not started.\n`,
  );
  return reported instanceof InjectError ? reported.exitCode : 1;
}
