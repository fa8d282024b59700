/**
 * The `keyvault-secrets` command. `keyvault-secrets run [options] -- command [args...]` loads
 * secrets from a vault (and resolves App Service Key Vault references) into the environment of a
 * command, forwards signals to it and exits as it does. Values are never printed.
 */
import { constants } from "node:os";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { ChildSupervisor, type ChildExit } from "./childSupervisor.js";
import { InjectError } from "./connection.js";
import type { EnvironmentSource } from "./environmentSource.js";
import { describeChange, diffVariables, EnvironmentWatcher } from "./environmentWatcher.js";
import {
  asInjectError,
  checkSettings,
  flagFromEnvironment,
  loadSummary,
  loadWarnings,
  openEnvironmentUntilInterrupted,
  parseNames,
  parseTag,
  preloadVariables,
  writeLine,
  type InjectSettings,
  type SettingNames,
} from "./loadEnvironment.js";
import { referenceVaultsVariable } from "./referenceSyntax.js";
import { RestartSchedule } from "./restartSchedule.js";
import { maskMarker, minimumMaskedLength } from "./secretMasker.js";
import {
  testTimingFrom,
  watchDefaults,
  watchSettingsFrom,
  type WatchSettings,
} from "./watchSettings.js";
import { closestMatch, parseArgsErrorMessage } from "../util/suggestion.js";

const usage = `Usage: keyvault-secrets run [options] -- command [args...]

Loads secrets from Azure Key Vault (or the local vault) into the environment of a command, then
starts it. Values in the environment written as App Service Key Vault references,
@Microsoft.KeyVault(SecretUri=...) or @Microsoft.KeyVault(VaultName=...;SecretName=...), are
resolved too. Nothing is started when a secret or reference cannot be read, when no secret of the
vault matches the filters (unless --allow-empty), or on SIGINT or SIGTERM during the load. Secrets
that are expired or not yet valid are left out, and named (never their values) in a warning on
stderr. One line on stderr says how many secrets were loaded ("loaded 2 secrets from URL").

Options:
  --vault URL             the vault (default: $KEYVAULT_URI); without one, only references are resolved
  --prefix TEXT           only secrets whose name starts with TEXT (case-insensitive)
  --names A,B,...         only these secrets (repeatable)
  --tag NAME[=VALUE]      only secrets carrying this tag (with this value)
  --env-prefix TEXT       put TEXT before every variable name (APP_ -> APP_DB_PASSWORD)
  --strip-prefix          drop --prefix from the names before mapping them
  --override              replace variables that are already set (by default they win)
  --allow-missing         start even when a secret of --names is missing or disabled in the
                          vault (it is named in a warning); by default nothing is started
                          (also $KEYVAULT_SECRETS_ALLOW_MISSING=true)
  --allow-empty           start even when no secret of the vault matches --prefix, --tag or
                          --names; by default nothing is started (also
                          $KEYVAULT_SECRETS_ALLOW_EMPTY=true)
  --verbose               name the secrets loaded and the references resolved (never their
                          values), not only count them (also $KEYVAULT_SECRETS_VERBOSE=true)
  --mask                  replace every loaded value in the command's stdout and stderr with
                          ${maskMarker}, also each line of a multi-line value and
                          the value escaped in JSON or util.inspect output or percent-encoded
                          (not base64, hex or other transformations); values under
                          ${minimumMaskedLength} characters are listed in a warning, not masked; the
                          output becomes a pipe, not a TTY
  --reference-vault NAME=URL
                          read references to vault NAME (or vault URL) from URL, e.g. the local
                          vault (repeatable; also $${referenceVaultsVariable}="name=url,...")
  -h, --help              show this help

Watching (rotation):
  --watch[=INTERVAL]      keep reading the vault every INTERVAL (default ${watchDefaults.interval}; at least 1s)
                          and restart the command when a value changed; INTERVAL is seconds
                          or a number with s, m or h (30s, 5m, 1h)
  --stop-signal SIGNAL    stops the command before a restart (default ${watchDefaults.stopSignal})
  --grace DURATION        then waits this long before SIGKILL (default ${watchDefaults.grace})
  --jitter DURATION       waits a random part of this before each restart, so that a fleet
                          does not restart at one moment (default a tenth of the interval)
  --min-restart-interval DURATION
                          the least time between two starts of the command (default ${watchDefaults.minRestartInterval}):
                          a change found sooner waits, so a flapping secret cannot crash-loop it

  Under --watch a change is applied only when every changed value was read: a read that fails
  (429, 5xx, 403, no connection) restarts nothing; the command keeps its values, and one line on
  stderr names what failed (one per failure episode, one more when reads succeed again). A secret
  deleted, disabled or expired in the vault is a change: the command restarts without it. A read
  that matches no secret at all fails as at the start (no restart) unless --allow-empty.
  References without a version follow the latest one; versioned ones never change. Each restart
  is logged on stderr with the variables that changed (names only). When the command exits on
  its own, run exits with it.

Secret names become variable names as SecretCache.toEnv maps them: upper case, "-" to "_"
(db-password -> DB_PASSWORD, Database--Password -> DATABASE__PASSWORD). A secret's name never
chooses a variable that runs code or redirects connections (NODE_OPTIONS, BASH_ENV, LD_PRELOAD,
PATH, HTTPS_PROXY, KEYVAULT_*, ...) unless the secret is listed in --names: such variables are
left out and named, with the reason, on stderr. A value holding a NUL character stops the load.

Sign-in: DefaultAzureCredential from @azure/identity (npm install @azure/identity): Azure CLI,
environment, workload or managed identity. A vault on this machine (the local vault, e.g.
http://127.0.0.1:8443) is used only when IDENTITY_ENDPOINT is that vault's own identity endpoint
(with IDENTITY_HEADER), as keyvault-emulator prints them; its token then comes from there only,
and its http and challenge settings are automatic.

True/false variables take 1/0, true/false, yes/no or on/off, in any case.

Exit status: the command's (or its signal); 1 when loading failed, 2 for usage errors, 126/127
when the command cannot be run.

Examples:
  keyvault-secrets run --vault https://myvault.vault.azure.net --prefix orders- --strip-prefix -- node server.js
  KEYVAULT_URI=https://myvault.vault.azure.net keyvault-secrets run --names db-password,api-key -- npm start
  keyvault-secrets run --tag app=billing --env-prefix BILLING_ --mask -- ./deploy.sh
  keyvault-secrets run --prefix orders- --strip-prefix --watch=1m --grace 30s -- node server.js
  DB_PASSWORD='@Microsoft.KeyVault(VaultName=myvault;SecretName=db-password)' \\
    keyvault-secrets run --reference-vault myvault=http://127.0.0.1:8443 -- node app.js
`;

/**
 * The flags of `run`, as parseArgs reads them: the one table a flag is added to (its help is in
 * the usage above).
 */
const runFlags = {
  vault: { type: "string" },
  prefix: { type: "string" },
  names: { type: "string", multiple: true },
  tag: { type: "string" },
  "env-prefix": { type: "string" },
  "strip-prefix": { type: "boolean" },
  override: { type: "boolean" },
  "allow-missing": { type: "boolean" },
  "allow-empty": { type: "boolean" },
  verbose: { type: "boolean" },
  mask: { type: "boolean" },
  "reference-vault": { type: "string", multiple: true },
  watch: { type: "string" },
  "stop-signal": { type: "string" },
  grace: { type: "string" },
  jitter: { type: "string" },
  "min-restart-interval": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const satisfies NonNullable<ParseArgsConfig["options"]>;

/** Flags of {@link runFlags} whose value may be left out, and the value they then take. */
const optionalValues: Partial<Record<keyof typeof runFlags, string>> = {
  watch: watchDefaults.interval,
};

interface RunCommand {
  settings: InjectSettings;
  mask: boolean;
  /** Undefined without --watch. */
  watch: WatchSettings | undefined;
  command: string;
  args: string[];
}

/** How `run`'s settings are spelled in messages. */
const runSettingNames: SettingNames = {
  prefix: "--prefix",
  stripPrefix: "--strip-prefix",
  names: "--names",
  tag: "--tag",
  allowEmpty: `pass --allow-empty (or set ${preloadVariables.allowEmpty}=true)`,
};

/** The option arguments with `--flag` of a flag with an optional value written `--flag=value`. */
function withOptionalValues(optionArgs: string[]): string[] {
  return optionArgs.map((arg) => {
    const flag = arg.startsWith("--") ? (arg.slice(2) as keyof typeof runFlags) : undefined;
    const value = flag === undefined ? undefined : optionalValues[flag];
    return value === undefined ? arg : `${arg}=${value}`;
  });
}

function parseRun(argv: string[]): RunCommand | "help" {
  const separator = argv.indexOf("--");
  const optionArgs = separator < 0 ? argv : argv.slice(0, separator);
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: withOptionalValues(optionArgs),
      allowPositionals: true,
      strict: true,
      options: runFlags,
    }));
  } catch (error) {
    const message = parseArgsErrorMessage(error, Object.keys(runFlags));
    throw new InjectError(`${message}\nSee keyvault-secrets run --help.`, 2);
  }
  if (values.help) return "help";
  if (positionals.length > 0 || separator < 0 || separator === argv.length - 1) {
    const stray = positionals[0];
    const afterWatch =
      stray !== undefined && optionArgs[optionArgs.indexOf(stray) - 1] === "--watch";
    throw new InjectError(
      afterWatch
        ? `--watch takes its interval after "=": --watch=${stray}.`
        : `Put the command after --, e.g. keyvault-secrets run --vault URL -- node app.js${stray !== undefined ? ` (unexpected "${stray}" before --)` : ""}.`,
      2,
    );
  }
  const vaultUrl = values.vault ?? (process.env["KEYVAULT_URI"]?.trim() || undefined);
  const referenceVaults = [
    process.env[referenceVaultsVariable] ?? "",
    ...(values["reference-vault"] ?? []),
  ].join(",");
  const settings = checkSettings(
    {
      vaultUrl,
      prefix: values.prefix === "" ? undefined : values.prefix,
      names: values.names === undefined ? undefined : parseNames(values.names.join(","), "--names"),
      tag: values.tag === undefined ? undefined : parseTag(values.tag, "--tag"),
      envPrefix: values["env-prefix"] ?? "",
      stripPrefix: values["strip-prefix"] === true,
      override: values.override === true,
      allowMissing:
        values["allow-missing"] === true ||
        flagFromEnvironment(process.env, preloadVariables.allowMissing),
      allowEmpty:
        values["allow-empty"] === true ||
        flagFromEnvironment(process.env, preloadVariables.allowEmpty),
      verbose:
        values.verbose === true || flagFromEnvironment(process.env, preloadVariables.verbose),
      referenceVaults: {
        text: referenceVaults,
        source: `--reference-vault or ${referenceVaultsVariable}`,
      },
    },
    runSettingNames,
  );
  const watch = watchSettingsFrom(
    {
      watch: values.watch,
      stopSignal: values["stop-signal"],
      grace: values.grace,
      jitter: values.jitter,
      minRestartInterval: values["min-restart-interval"],
    },
    process.env,
  );
  return {
    settings,
    mask: values.mask === true,
    watch,
    command: argv[separator + 1]!,
    args: argv.slice(separator + 2),
  };
}

/** Writes one line of `run` to stderr. */
function say(line: string): void {
  writeLine("keyvault-secrets", line);
}

async function run(argv: string[]): Promise<void> {
  const parsed = parseRun(argv);
  if (parsed === "help") {
    process.stdout.write(usage);
    return;
  }
  const { settings, mask, watch, command, args } = parsed;
  const hasReferences = Object.values(process.env).some((value) =>
    value?.trimStart().toLowerCase().startsWith("@microsoft.keyvault"),
  );
  if (settings.vaultUrl === undefined && !hasReferences) {
    throw new InjectError(
      "No vault: pass --vault URL or set KEYVAULT_URI (e.g. https://myvault.vault.azure.net).",
      2,
    );
  }
  let source: EnvironmentSource;
  try {
    source = await openEnvironmentUntilInterrupted(settings, process.env, {
      fastRetries: testTimingFrom(process.env) !== undefined,
    });
  } catch (error) {
    throw asInjectError(error, 1);
  }
  for (const line of loadWarnings(source.result)) say(line);
  const summary = loadSummary(source.result, settings);
  if (summary !== undefined) say(summary);
  const supervisor = new ChildSupervisor({
    command,
    args,
    mask,
    stopSignal: watch?.stopSignal ?? watchDefaults.stopSignal,
    graceInMs: watch?.graceInMs ?? 0,
  });
  let exit: ChildExit;
  if (watch === undefined) {
    source.close();
    startCommand(supervisor, source.result.variables, mask);
    exit = await supervisor.finished;
  } else {
    exit = await runWatching(supervisor, source, watch, mask);
  }
  exitAs(exit);
}

/** The command's whole environment: ours, then the variables loaded. */
function childEnv(variables: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, ...variables };
}

/** Under --mask, names the variables too short to be masked (never their values). */
function warnUnmasked(variables: Record<string, string>, mask: boolean): void {
  if (!mask) return;
  const short = Object.entries(variables)
    .filter(([, value]) => value.length < minimumMaskedLength)
    .map(([key]) => key)
    .sort();
  if (short.length > 0) {
    say(`not masked, shorter than ${minimumMaskedLength} characters: ${short.join(", ")}`);
  }
}

function startCommand(
  supervisor: ChildSupervisor,
  variables: Record<string, string>,
  mask: boolean,
): void {
  warnUnmasked(variables, mask);
  supervisor.start(childEnv(variables), Object.values(variables));
}

/**
 * Runs the command under --watch: reads the vault every interval and, when values changed (every
 * changed value read), restarts the command after the rate cap and the jitter.
 * @returns how the command ended on its own
 */
async function runWatching(
  supervisor: ChildSupervisor,
  source: EnvironmentSource,
  watch: WatchSettings,
  mask: boolean,
): Promise<ChildExit> {
  const schedule = new RestartSchedule(watch);
  let commandVariables = source.result.variables;
  let latest = commandVariables;
  let due: NodeJS.Timeout | undefined;
  const restartNow = (): void => {
    due = undefined;
    const change = diffVariables(commandVariables, latest);
    if (change.added.length + change.updated.length + change.removed.length === 0) {
      say("the values are back to those the command has; it is not restarted.");
      return;
    }
    const changed = { ...change, variables: latest };
    warnUnmasked(
      Object.fromEntries([...change.added, ...change.updated].map((key) => [key, latest[key]!])),
      mask,
    );
    if (!supervisor.canRestart) return;
    say(
      `restarting the command (${watch.stopSignal}, SIGKILL after ${seconds(watch.graceInMs)}): ${describeChange({ ...changed, details: [] })}.`,
    );
    supervisor.restart(childEnv(latest), Object.values(latest));
    schedule.started();
    commandVariables = latest;
  };
  const watcher = new EnvironmentWatcher({
    intervalInMs: watch.intervalInMs,
    reload: (abortSignal) => source.reload(abortSignal),
    variables: commandVariables,
    knownWarnings: loadWarnings(source.result),
    holder: "the command",
    warn: say,
    onChange: (change) => {
      latest = change.variables;
      if (due !== undefined) {
        say(`${describeChange(change)}; the restart already due will apply it.`);
        return;
      }
      const { delayInMs, capped } = schedule.delay();
      say(
        `${describeChange(change)}; restarting the command in ${seconds(delayInMs)}${capped ? " (--min-restart-interval since its last start)" : ""}.`,
      );
      due = setTimeout(restartNow, delayInMs);
    },
  });
  startCommand(supervisor, commandVariables, mask);
  schedule.started();
  watcher.start();
  try {
    return await supervisor.finished;
  } finally {
    watcher.close();
    clearTimeout(due);
    source.close();
  }
}

/** A duration for a log line: `0.25 s`, `30 s`. */
function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

/** Ends `run` as the command ended: its status, or its signal. */
function exitAs({ code, signal }: ChildExit): never {
  if (signal !== null) {
    // End as the command did, so that a shell or supervisor sees the same signal.
    process.kill(process.pid, signal);
    process.exit(128 + (constants.signals[signal] ?? 0));
  }
  process.exit(code ?? 1);
}

/**
 * Runs the `keyvault-secrets` command.
 * @param argv - the arguments after the program name
 * @returns once the command is done (a started child ends the process with its status)
 */
export async function runCli(argv: string[]): Promise<void> {
  const [subcommand, ...rest] = argv;
  if (subcommand === undefined || subcommand === "-h" || subcommand === "--help") {
    process.stdout.write(usage);
    if (subcommand === undefined) process.exitCode = 2;
    return;
  }
  if (subcommand !== "run") {
    const suggestion =
      closestMatch(subcommand, ["run"]) === undefined ? "" : " (did you mean run?)";
    throw new InjectError(
      `Unknown command "${subcommand}"${suggestion}. See keyvault-secrets --help.`,
      2,
    );
  }
  await run(rest);
}

/**
 * Reports an error of the command on stderr and sets the exit status.
 * @param error - the error
 */
export function reportCliError(error: unknown): void {
  if (error instanceof InjectError) {
    process.stderr.write(`keyvault-secrets: ${error.message}\n`);
    process.exitCode = error.exitCode;
  } else {
    // An unexpected error: its message may come from a dependency, never from a value we hold.
    process.stderr.write(
      `keyvault-secrets: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`,
    );
    process.exitCode = 1;
  }
}
