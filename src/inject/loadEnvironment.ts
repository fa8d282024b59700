/**
 * The settings of `keyvault-secrets run` and the preload (flags, environment variables) and the
 * one load behind both (environmentSource.ts reads), ended by SIGINT or SIGTERM; the preload's
 * warnings and failures.
 */
import type { AbortSignalLike } from "@azure/abort-controller";
import { constants } from "node:os";
import type { SecretCacheTagFilter } from "../secretCache/options.js";
import { parseBooleanEnvironment } from "../util/booleanText.js";
import { InjectError, type Credentials } from "./connection.js";
import {
  asInjectError,
  EnvironmentSource,
  type EnvironmentSourceOptions,
  type InjectResult,
} from "./environmentSource.js";
import { referenceVaultsVariable } from "./referenceSyntax.js";

export { asInjectError, type InjectResult } from "./environmentSource.js";

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

/** The signals that end a load still running, before anything is started. */
const interruptingSignals: NodeJS.Signals[] = ["SIGINT", "SIGTERM"];

/**
 * {@link EnvironmentSource.open} that SIGINT or SIGTERM ends: the load is aborted and it rejects
 * with an {@link InjectError} whose status is 128 + the signal's number, so nothing is started.
 * @param settings - what to load
 * @param env - the environment the app will see (copied, not changed)
 * @param options - timing (the abort signal is the signals')
 * @returns the open source, holding the variables to set
 * @throws InjectError naming each secret or variable that failed and why, or the signal
 */
export async function openEnvironmentUntilInterrupted(
  settings: InjectSettings,
  env: Record<string, string | undefined>,
  options: Omit<EnvironmentSourceOptions, "abortSignal"> = {},
): Promise<EnvironmentSource> {
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
    const source = await EnvironmentSource.open(settings, env, {
      ...options,
      abortSignal: controller.signal,
    });
    if (received !== undefined) {
      source.close();
      throw interrupted(received);
    }
    return source;
  } catch (error) {
    if (received !== undefined) throw interrupted(received);
    throw error;
  } finally {
    for (const signal of interruptingSignals) process.off(signal, onSignal);
  }
}

/**
 * Loads the secrets and resolves the references the settings and environment call for, once:
 * {@link EnvironmentSource.open}, then closed. Nothing is returned unless everything succeeded.
 * @param settings - what to load
 * @param env - the environment the app will see (read, not changed)
 * @param credentialsFactory - makes the credentials (once, only when something is to be read)
 * @param abortSignal - ends the load (it then rejects with an AbortError)
 * @returns what the load produced
 * @throws InjectError naming each secret or variable that failed and why
 */
export async function loadEnvironment(
  settings: InjectSettings,
  env: Record<string, string | undefined>,
  credentialsFactory?: () => Promise<Credentials>,
  abortSignal?: AbortSignalLike,
): Promise<InjectResult> {
  const source = await EnvironmentSource.open(settings, env, {
    ...(credentialsFactory === undefined ? {} : { credentialsFactory }),
    ...(abortSignal === undefined ? {} : { abortSignal }),
  });
  source.close();
  return source.result;
}

/**
 * Loads the secrets and resolves the references the settings and environment call for, as
 * {@link openEnvironmentUntilInterrupted} does, and closes what it opened.
 * @param settings - what to load
 * @param env - the environment the app will see (read, not changed)
 * @returns the variables to set
 * @throws InjectError naming each secret or variable that failed and why, or the signal
 */
export async function loadEnvironmentUntilInterrupted(
  settings: InjectSettings,
  env: Record<string, string | undefined>,
): Promise<InjectResult> {
  const source = await openEnvironmentUntilInterrupted(settings, env);
  source.close();
  return source.result;
}

/** The prefix of every line the preload `keyvault-secrets/env` writes to stderr. */
export const preloadPrefix = "keyvault-secrets/env";

/**
 * Writes one line to stderr. Names and reasons come from the vault: control characters are
 * replaced, so that none reaches the terminal and a line stays one line.
 * @param prefix - the program, e.g. `keyvault-secrets`
 * @param line - the text
 */
export function writeLine(prefix: string, line: string): void {
  // eslint-disable-next-line no-control-regex
  process.stderr.write(`${prefix}: ${line.replace(/[\u0000-\u001f\u007f]/g, " ")}\n`);
}

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
  for (const line of loadWarnings(result)) writeLine(preloadPrefix, line);
  const summary = loadSummary(result, settings);
  if (summary !== undefined) writeLine(preloadPrefix, summary);
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
