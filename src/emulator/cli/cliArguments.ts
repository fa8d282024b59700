/**
 * The `keyvault-emulator` command line as data: the flags, the environment variables that stand in
 * for them, the help text, and their parsing into local vault options (validated by the same checks
 * as `startLocalVault`). Running the vault is `cli.ts`.
 */

import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { checkLocalVaultOptions, type LocalVaultOptions } from "../options.js";
import type { LocalVaultEventSubscription } from "../events/eventOptions.js";
import { recoveryLevels } from "../../api/wireTypes.js";
import { closestMatch, parseArgsErrorMessage } from "../../util/suggestion.js";
import { environmentName, nameEnvironmentSource, withEnvironment } from "./environment.js";

/** File name of the generated CA certificate, written under `--location` or the working directory. */
const caFileName = "keyvault-emulator-ca.pem";

const cliOptions = {
  help: { type: "boolean", short: "h" },
  seed: { type: "string" },
  host: { type: "string" },
  hostname: { type: "string", multiple: true },
  port: { type: "string" },
  location: { type: "string" },
  https: { type: "boolean" },
  cert: { type: "string" },
  key: { type: "string" },
  "recoverable-days": { type: "string" },
  "recovery-level": { type: "string" },
  "strict-auth": { type: "boolean" },
  "delay-ms": { type: "string" },
  "tenant-id": { type: "string" },
  "empty-pages": { type: "boolean" },
  "claims-challenge": { type: "boolean" },
  "backup-key": { type: "string" },
  "identity-header": { type: "string" },
  "throttle-limit": { type: "string" },
  "no-retry-after": { type: "boolean" },
  "error-rate": { type: "string" },
  "latency-ms": { type: "string" },
  "drop-rate": { type: "string" },
  "restore-conflict-after-purge-ms": { type: "string" },
  "headers-timeout-ms": { type: "string" },
  "request-timeout-ms": { type: "string" },
  "keep-alive-timeout-ms": { type: "string" },
  "max-connections": { type: "string" },
  "event-subscription": { type: "string", multiple: true },
  "event-schema": { type: "string" },
  "near-expiry-days": { type: "string" },
} as const;

/** Flags that may be given more than once. */
const repeatable = new Set(["hostname", "event-subscription"]);

/** Largest `--near-expiry-days`: 10 years. */
const maxNearExpiryDays = 3650;

/**
 * Usage of the `keyvault-emulator` command, as printed by `--help`.
 */
export const helpText = `Usage: keyvault-emulator [options]
       keyvault-emulator export --vault URL [--out FILE]    (see export --help)
       keyvault-emulator healthcheck [options]
       keyvault-emulator page-link [--vault URL]           (see page-link --help)

Starts a local Azure Key Vault (secrets) for development and tests. \`healthcheck\` asks the
vault that the same options describe for GET /healthz and exits 0 when it answers 200.
\`page-link\` prints a new link to the page of a running vault (SIGUSR2 to the vault does too).

Server:
  --host HOST              Interface to listen on (default 127.0.0.1). Anything but loopback
                           exposes the vault to the network: a warning says what
  --hostname NAME          Another name the vault answers to (repeatable), e.g. a compose
                           service name; also put in the generated certificate. Requests whose
                           Host is not a loopback name or address, HOST or a NAME get 421
  --port N                 Port to listen on, 0 picks a free one (default 8443)
  --location DIR           Keep the vault's state in DIR (created 0700, files 0600); every write
                           is durable before it is acknowledged or seen (default: in memory only)
  --https                  Serve HTTPS with a generated certificate; the CA certificate is written
                           to DIR (or the working directory)/${caFileName}, and with
                           --location the same CA is served again after a restart
  --cert FILE --key FILE   Serve HTTPS with this PEM certificate and key (both or neither;
                           implies --https)

Vault behaviour:
  --recoverable-days N     Days a deleted secret is kept, 7..90 (default 90)
  --recovery-level LEVEL   Recovery level reported on secrets: ${recoveryLevels.join(", ")}
                           (default Recoverable+Purgeable, or CustomizedRecoverable+Purgeable
                           below 90 days); Purgeable disables soft delete
  --strict-auth            Accept only tokens the local vault issued (default: any bearer token)
  --delay-ms N             Milliseconds before a delete or recover completes (default 100)
  --tenant-id ID           Tenant named in the authentication challenge and issued tokens
                           (default 00000000-0000-0000-0000-000000000000)
  --empty-pages            Insert an empty page before each real page of every list
  --claims-challenge       Answer the first request with each new token with a CAE claims challenge;
                           the identity endpoint's next token carries the claims asked for
  KEYVAULT_EMULATOR_BACKUP_KEY=BASE64, or --backup-key BASE64 (visible in ps: a warning)
                           32-byte key (base64) that encrypts backups; vaults with the same key
                           restore each other's backups (default: random per vault)
  KEYVAULT_EMULATOR_IDENTITY_HEADER=VALUE, or --identity-header VALUE (visible in ps: a warning)
                           Secret the managed-identity endpoint expects (IDENTITY_HEADER), 16 to
                           256 visible characters (default: random, kept under --location)
  --seed FILE              Load the secrets of FILE (JSON, as \`export\` writes it) before
                           answering; names the vault already holds are kept as they are
  --restore-conflict-after-purge-ms N
                           Milliseconds after a purge during which a restore of the same name
                           answers 409 Conflict, as the service does (default 5000; 0 = off)

Connections:
  --headers-timeout-ms N   Milliseconds a client has to send a request's headers (default 10000)
  --request-timeout-ms N   Milliseconds a client has to send a whole request (default 30000)
  --keep-alive-timeout-ms N
                           Milliseconds an idle keep-alive connection stays open (default 5000)
  --max-connections N      Most connections open at once (default 256); at the cap, the one idle
                           longest (no request in flight) gives way to a new one

Events (Event Grid's Key Vault events, sent to webhooks; see the README):
  --event-subscription URL A webhook that gets SecretNewVersionCreated, SecretNearExpiry and
                           SecretExpired once it answers Event Grid's handshake (repeatable;
                           KEYVAULT_EMULATOR_EVENT_SUBSCRIPTION takes a comma-separated list)
  --event-schema SCHEMA    EventGridSchema (default) or CloudEventSchemaV1_0, for those webhooks
  --near-expiry-days N     Days ahead of a secret's expiry at which SecretNearExpiry is sent,
                           0..${maxNearExpiryDays} (default 30)

Faults (all off by default):
  --throttle-limit N       Requests per 10-second window before answering 429
  --no-retry-after         Send 429 without Retry-After
  --error-rate R           Share of requests (0..1) answered with 500 or 503
  --latency-ms N           Milliseconds added before every answer
  --drop-rate R            Share of requests (0..1) whose connection is dropped without an answer

  -h, --help               Show this help
  --version                Print the version

Every option is also read from an environment variable: --some-flag from
KEYVAULT_EMULATOR_SOME_FLAG (e.g. KEYVAULT_EMULATOR_PORT=8443, KEYVAULT_EMULATOR_HTTPS=true).
A flag on the command line wins over its variable. Give secrets (the backup key, the identity
header) in the environment: every user of the machine can read a command line (ps).

Example:
  keyvault-emulator --port 0 --https --location ./.vault
`;

/** What the command line asked for: help, or a vault to start. */
export type ParsedCliArguments =
  | { help: true }
  | {
      help: false;
      /** Options for `startLocalVault`. */
      options: LocalVaultOptions;
      /** Where to write the generated CA certificate (only with a generated certificate). */
      caOut?: string;
      /** Warnings to print before starting (secrets given as flags). */
      warnings: string[];
    };

/** Flags that carry a secret, with the option they set: a command line is visible to others. */
const secretFlags = [
  ["backup-key", "backupKey"],
  ["identity-header", "identityHeader"],
] as const;

/**
 * Warns about each secret given as a flag, naming the variable to use instead.
 * @param options - the parsed options
 * @param fromEnvironment - the flags taken from the environment
 * @returns one warning per secret flag given on the command line
 */
function secretFlagWarnings(
  options: LocalVaultOptions,
  fromEnvironment: ReadonlyMap<string, string>,
): string[] {
  return secretFlags
    .filter(([flag, option]) => options[option] !== undefined && !fromEnvironment.has(flag))
    .map(
      ([flag]) =>
        `keyvault-emulator: WARNING: --${flag} on the command line is visible to every user of ` +
        `this machine (ps, /proc); set ${environmentName(flag)} in the environment instead.`,
    );
}

/** The flag that sets an option (`recoverableDays` → `--recoverable-days`), for messages. */
function flagOf(option: string): string {
  if (option === "hostnames") return "--hostname";
  if (option === "eventSubscriptions") return "--event-subscription";
  const kebab = option
    .replace(/InMs$/, "Ms")
    .replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
  return `--${kebab}`;
}

// The flags' text becomes typed values here; ranges are checked by checkLocalVaultOptions.
function parseWhole(flag: string, text: string): number {
  if (!/^\d+$/.test(text)) {
    throw new TypeError(`--${flag} must be a whole number, got "${text}".`);
  }
  return Number(text);
}

function parseRate(flag: string, text: string): number {
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(text)) {
    throw new TypeError(`--${flag} must be a number from 0 to 1, got "${text}".`);
  }
  return Number(text);
}

function readPemFile(flag: string, file: string, label: RegExp): string {
  let content: string;
  try {
    content = readFileSync(file, "utf8");
  } catch (error) {
    throw new TypeError(`Cannot read the --${flag} file "${file}": ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (!label.test(content)) {
    throw new TypeError(`The --${flag} file "${file}" is not PEM (${label.source} not found).`);
  }
  return content;
}

/** Runs node:util's parser (strict: unknown options and positionals are errors). */
function parseTokens(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: cliOptions,
      strict: true,
      allowPositionals: false,
      tokens: true,
    });
  } catch (error) {
    throw parseError(error);
  }
}

/** The subcommands, for a mistyped one. */
const subcommands = ["export", "healthcheck"];

/**
 * Rewrites node:util's parse errors for a command that takes no positional arguments; a mistyped
 * option or subcommand gets the closest known one.
 */
function parseError(error: unknown): Error {
  const code = (error as NodeJS.ErrnoException).code;
  const message = (error as Error).message;
  if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
    const argument = /'([^']+)'/.exec(message)?.[1] ?? "";
    const subcommand = closestMatch(argument, subcommands);
    return new TypeError(
      `Unexpected argument '${argument}': keyvault-emulator takes options only${subcommand === undefined ? "" : ` (did you mean keyvault-emulator ${subcommand}?)`}.`,
    );
  }
  return new TypeError(parseArgsErrorMessage(error, [...Object.keys(cliOptions), "version"]));
}

/**
 * Parses the `keyvault-emulator` command line into local vault options. It reads the files named
 * by `--cert` and `--key` and otherwise has no effect.
 *
 * @param argv - the arguments after the command (`process.argv.slice(2)`)
 * @returns `{ help: true }` for `--help`, otherwise the vault options and, with a generated
 *   certificate, the path where the CA certificate should be written
 * @throws TypeError for an unknown option, a missing or malformed value, or an unreadable file;
 *   RangeError for a value out of range
 * @example
 * ```ts
 * const parsed = parseCliArguments(["--port", "0", "--https"]);
 * if (!parsed.help) {
 *   console.log(parsed.options.port, parsed.caOut);
 * }
 * ```
 */
export function parseCliArguments(
  argv: string[],
  env: Record<string, string | undefined> = {},
): ParsedCliArguments {
  const { argv: all, fromEnvironment } = withEnvironment(argv, env, cliOptions, new Set(["help"]));
  try {
    const parsed = parseWithEnvironment(all);
    if (!parsed.help) parsed.warnings = secretFlagWarnings(parsed.options, fromEnvironment);
    return parsed;
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    const message = nameEnvironmentSource(error.message, fromEnvironment);
    if (message === error.message) throw error;
    throw error instanceof RangeError
      ? new RangeError(message, { cause: error })
      : new TypeError(message, { cause: error });
  }
}

/** The events' flags: subscriptions (all in one schema) and the near-expiry threshold. */
function readEventFlags(
  values: ReturnType<typeof parseTokens>["values"],
  options: LocalVaultOptions,
): void {
  const endpoints = values["event-subscription"];
  const schema = values["event-schema"] as LocalVaultEventSubscription["schema"];
  if (endpoints !== undefined) {
    options.eventSubscriptions = endpoints.map((endpoint) =>
      schema === undefined ? { endpoint } : { endpoint, schema },
    );
  } else if (schema !== undefined) {
    throw new TypeError("--event-schema applies to the --event-subscription webhooks: name one.");
  }
  const days = values["near-expiry-days"];
  if (days !== undefined) {
    const whole = parseWhole("near-expiry-days", days);
    if (whole > maxNearExpiryDays) {
      throw new RangeError(
        `--near-expiry-days must be from 0 to ${maxNearExpiryDays}, got ${whole}.`,
      );
    }
    options.events = { nearExpiryInMs: whole * 86_400_000 };
  }
}

function parseWithEnvironment(argv: string[]): ParsedCliArguments {
  const parsed = parseTokens(argv);
  const seen = new Set<string>();
  for (const token of parsed.tokens) {
    if (token.kind === "option" && !repeatable.has(token.name)) {
      if (seen.has(token.name)) {
        throw new TypeError(`--${token.name} is given more than once.`);
      }
      seen.add(token.name);
    }
  }
  const values = parsed.values;
  if (values.help) {
    return { help: true };
  }

  const options: LocalVaultOptions = {
    host: "127.0.0.1",
    port: 8443,
  };
  if (values.host !== undefined) {
    options.host = values.host.replace(/^\[(.*)\]$/, "$1");
  }
  if (values.hostname !== undefined) {
    options.hostnames = values.hostname;
  }
  if (values.port !== undefined) {
    options.port = parseWhole("port", values.port);
  }
  if (values.location !== undefined) {
    if (values.location === "") {
      throw new TypeError("--location must name a directory.");
    }
    options.location = path.resolve(values.location);
  }

  if (values.seed !== undefined) {
    if (values.seed === "") throw new TypeError("--seed must name a file.");
    options.seed = path.resolve(values.seed);
  }

  let caOut: string | undefined;
  if ((values.cert === undefined) !== (values.key === undefined)) {
    throw new TypeError("--cert and --key go together: give both (or neither, with --https).");
  }
  if (values.cert !== undefined && values.key !== undefined) {
    options.https = {
      cert: readPemFile("cert", values.cert, /-----BEGIN CERTIFICATE-----/),
      key: readPemFile("key", values.key, /-----BEGIN [A-Z ]*PRIVATE KEY-----/),
    };
  } else if (values.https) {
    options.https = true;
    caOut = path.resolve(options.location ?? process.cwd(), caFileName);
  }

  if (values["recoverable-days"] !== undefined) {
    options.recoverableDays = parseWhole("recoverable-days", values["recoverable-days"]);
  }
  if (values["recovery-level"] !== undefined) {
    options.recoveryLevel = values["recovery-level"];
  }
  if (values["strict-auth"]) {
    options.strictAuth = true;
  }
  if (values["delay-ms"] !== undefined) {
    options.delayMs = parseWhole("delay-ms", values["delay-ms"]);
  }
  if (values["tenant-id"] !== undefined) {
    options.tenantId = values["tenant-id"];
  }
  if (values["empty-pages"]) {
    options.emptyPages = true;
  }
  if (values["claims-challenge"]) {
    options.claimsChallenge = true;
  }
  if (values["backup-key"] !== undefined) {
    options.backupKey = values["backup-key"];
  }
  if (values["identity-header"] !== undefined) {
    options.identityHeader = values["identity-header"];
  }

  readEventFlags(values, options);

  const faults: NonNullable<LocalVaultOptions["faults"]> = {};
  if (values["throttle-limit"] !== undefined) {
    faults.throttleLimit = parseWhole("throttle-limit", values["throttle-limit"]);
  }
  if (values["no-retry-after"]) {
    faults.throttleRetryAfter = false;
  }
  if (values["error-rate"] !== undefined) {
    faults.errorRate = parseRate("error-rate", values["error-rate"]);
  }
  if (values["latency-ms"] !== undefined) {
    faults.latencyMs = parseWhole("latency-ms", values["latency-ms"]);
  }
  if (values["drop-rate"] !== undefined) {
    faults.dropRate = parseRate("drop-rate", values["drop-rate"]);
  }
  if (Object.keys(faults).length > 0) {
    options.faults = faults;
  }
  const wholeNumbers = [
    ["restore-conflict-after-purge-ms", "restoreConflictAfterPurgeInMs"],
    ["headers-timeout-ms", "headersTimeoutInMs"],
    ["request-timeout-ms", "requestTimeoutInMs"],
    ["keep-alive-timeout-ms", "keepAliveTimeoutInMs"],
    ["max-connections", "maxConnections"],
  ] as const;
  for (const [flag, option] of wholeNumbers) {
    const text = values[flag];
    if (text !== undefined) options[option] = parseWhole(flag, text);
  }

  // The same checks as startLocalVault, with the flags' names in the messages.
  const checked = checkLocalVaultOptions(options, flagOf);
  if (options.recoveryLevel !== undefined) options.recoveryLevel = checked.recoveryLevel;
  if (options.hostnames !== undefined) options.hostnames = checked.hostnames;
  if (checked.backupKey !== undefined) options.backupKey = checked.backupKey.toString("base64");

  return caOut === undefined
    ? { help: false, options, warnings: [] }
    : { help: false, options, caOut, warnings: [] };
}
