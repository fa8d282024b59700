/**
 * Configuration of the `keyvault-emulator` command from environment variables, so a compose file or
 * a CI job needs no command line: each flag `--some-flag` is also read from
 * `KEYVAULT_EMULATOR_SOME_FLAG`, and a flag on the command line wins over its variable.
 */
import { booleanTextGrammar, parseBooleanText } from "../../util/booleanText.js";

/** Prefix of every environment variable the command reads. */
export const environmentPrefix = "KEYVAULT_EMULATOR_";

/** The shape of a `node:util` parseArgs option table, as far as the environment needs it. */
export type FlagTable = Record<string, { type: "string" | "boolean"; multiple?: boolean }>;

/** Command-line arguments with the environment's settings added, and where each came from. */
export interface EnvironmentArguments {
  /** The given arguments followed by those taken from the environment. */
  argv: string[];
  /** Flag name (without `--`) to the variable it was taken from. */
  fromEnvironment: Map<string, string>;
}

/**
 * The environment variable of a flag.
 * @param flag - the flag without `--`, e.g. `recoverable-days`
 * @returns the variable, e.g. `KEYVAULT_EMULATOR_RECOVERABLE_DAYS`
 */
export function environmentName(flag: string): string {
  return environmentPrefix + flag.toUpperCase().replace(/-/g, "_");
}

/**
 * Adds the flags set in the environment to the command line. A flag given on the command line is
 * not read from the environment; an empty variable counts as unset. Boolean variables take
 * `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`: util/booleanText.ts, the one grammar);
 * repeatable flags take a comma-separated list.
 * @param argv - the command-line arguments
 * @param env - the environment (`process.env`)
 * @param flags - the command's flags
 * @param skip - flags never read from the environment (e.g. `help`)
 * @returns the arguments to parse and the flags taken from the environment
 * @throws TypeError naming the variable when a boolean variable is neither true nor false
 */
export function withEnvironment(
  argv: string[],
  env: Record<string, string | undefined>,
  flags: FlagTable,
  skip: ReadonlySet<string> = new Set(),
): EnvironmentArguments {
  const given = new Set<string>();
  for (const arg of argv) {
    if (arg === "--") break;
    const match = /^--([^=]+)/.exec(arg);
    if (match !== null) given.add(match[1]);
  }
  const added: string[] = [];
  const fromEnvironment = new Map<string, string>();
  for (const [flag, option] of Object.entries(flags)) {
    if (skip.has(flag) || given.has(flag)) continue;
    const name = environmentName(flag);
    const text = env[name]?.trim();
    if (text === undefined || text === "") continue;
    if (option.type === "boolean") {
      const value = parseBooleanText(text);
      if (value === undefined) {
        throw new TypeError(`${name} must be ${booleanTextGrammar}, got "${printable(text)}".`);
      }
      if (value) {
        added.push(`--${flag}`);
        fromEnvironment.set(flag, name);
      }
      continue;
    }
    const values = option.multiple ? text.split(",").map((v) => v.trim()) : [text];
    for (const value of values) {
      if (value !== "") added.push(`--${flag}=${value}`);
    }
    fromEnvironment.set(flag, name);
  }
  return { argv: [...argv, ...added], fromEnvironment };
}

/**
 * Names the variable in a message about a flag that came from the environment.
 * @param message - the message, naming the flag as `--flag`
 * @param fromEnvironment - flags taken from the environment
 * @returns the message, with `(from VARIABLE)` after it when the flag came from there
 */
export function nameEnvironmentSource(
  message: string,
  fromEnvironment: ReadonlyMap<string, string>,
): string {
  for (const [flag, name] of fromEnvironment) {
    if (new RegExp(`--${flag}\\b(?!-)`).test(message)) return `${message} (set by ${name})`;
  }
  return message;
}

function printable(text: string): string {
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
