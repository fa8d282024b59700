/**
 * The `keyvault-secrets` command. `keyvault-secrets run [options] -- command [args...]` loads
 * secrets from a vault (and resolves App Service Key Vault references) into the environment of a
 * command, forwards signals to it and exits as it does. Values are never printed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { constants } from "node:os";
import { parseArgs } from "node:util";
import { InjectError } from "./connection.js";
import {
  asInjectError,
  checkSettings,
  flagFromEnvironment,
  loadEnvironmentUntilInterrupted,
  loadSummary,
  loadWarnings,
  parseNames,
  parseTag,
  preloadVariables,
  type InjectSettings,
  type SettingNames,
} from "./loadEnvironment.js";
import { referenceVaultsVariable } from "./referenceSyntax.js";
import { maskMarker, minimumMaskedLength, SecretMasker } from "./secretMasker.js";
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
  DB_PASSWORD='@Microsoft.KeyVault(VaultName=myvault;SecretName=db-password)' \\
    keyvault-secrets run --reference-vault myvault=http://127.0.0.1:8443 -- node app.js
`;

/** Signals passed on to the command. */
const forwardedSignals: NodeJS.Signals[] = [
  "SIGINT",
  "SIGTERM",
  "SIGHUP",
  "SIGQUIT",
  "SIGUSR1",
  "SIGUSR2",
  "SIGWINCH",
];

interface RunCommand {
  settings: InjectSettings;
  mask: boolean;
  command: string;
  args: string[];
}

/** The flags of `run`. */
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
  help: { type: "boolean", short: "h" },
} as const;

/** How `run`'s settings are spelled in messages. */
const runSettingNames: SettingNames = {
  prefix: "--prefix",
  stripPrefix: "--strip-prefix",
  names: "--names",
  tag: "--tag",
  allowEmpty: `pass --allow-empty (or set ${preloadVariables.allowEmpty}=true)`,
};

function parseRun(argv: string[]): RunCommand | "help" {
  const separator = argv.indexOf("--");
  const optionArgs = separator < 0 ? argv : argv.slice(0, separator);
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: optionArgs,
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
    throw new InjectError(
      `Put the command after --, e.g. keyvault-secrets run --vault URL -- node app.js${positionals.length > 0 ? ` (unexpected "${positionals[0]}" before --)` : ""}.`,
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
  return {
    settings,
    mask: values.mask === true,
    command: argv[separator + 1]!,
    args: argv.slice(separator + 2),
  };
}

async function run(argv: string[]): Promise<void> {
  const parsed = parseRun(argv);
  if (parsed === "help") {
    process.stdout.write(usage);
    return;
  }
  const { settings, mask, command, args } = parsed;
  const hasReferences = Object.values(process.env).some((value) =>
    value?.trimStart().toLowerCase().startsWith("@microsoft.keyvault"),
  );
  if (settings.vaultUrl === undefined && !hasReferences) {
    throw new InjectError(
      "No vault: pass --vault URL or set KEYVAULT_URI (e.g. https://myvault.vault.azure.net).",
      2,
    );
  }
  let result;
  try {
    result = await loadEnvironmentUntilInterrupted(settings, process.env);
  } catch (error) {
    throw asInjectError(error, 1);
  }
  for (const line of loadWarnings(result)) process.stderr.write(`keyvault-secrets: ${line}\n`);
  const summary = loadSummary(result, settings);
  if (summary !== undefined) process.stderr.write(`keyvault-secrets: ${summary}\n`);
  const env = { ...process.env, ...result.variables };
  let masked: SecretMasker[] = [];
  if (mask) {
    const short = Object.entries(result.variables)
      .filter(([, value]) => value.length < minimumMaskedLength)
      .map(([key]) => key)
      .sort();
    if (short.length > 0) {
      process.stderr.write(
        `keyvault-secrets: not masked, shorter than ${minimumMaskedLength} characters: ${short.join(", ")}\n`,
      );
    }
    masked = [
      new SecretMasker(Object.values(result.variables)),
      new SecretMasker(Object.values(result.variables)),
    ];
  }
  await startChild(command, args, env, masked);
}

async function startChild(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  maskers: SecretMasker[],
): Promise<void> {
  let child: ChildProcess;
  try {
    child = spawn(command, args, {
      env,
      stdio: maskers.length > 0 ? ["inherit", "pipe", "pipe"] : "inherit",
    });
  } catch (error) {
    throw cannotStart(command, error as NodeJS.ErrnoException);
  }
  const forward = (signal: NodeJS.Signals): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  for (const signal of forwardedSignals) process.on(signal, forward);
  const flushed: Array<Promise<unknown>> = [];
  if (maskers.length > 0) {
    const [outMasker, errMasker] = maskers as [SecretMasker, SecretMasker];
    child.stdout!.pipe(outMasker).pipe(process.stdout, { end: false });
    child.stderr!.pipe(errMasker).pipe(process.stderr, { end: false });
    flushed.push(once(outMasker, "end"), once(errMasker, "end"));
  }
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(
    (resolve, reject) => {
      child.once("error", reject);
      child.once("close", (exitCode: number | null, exitSignal: NodeJS.Signals | null) =>
        resolve([exitCode, exitSignal]),
      );
    },
  ).catch((error: NodeJS.ErrnoException) => {
    for (const s of forwardedSignals) process.off(s, forward);
    throw cannotStart(command, error);
  });
  await Promise.all(flushed);
  for (const s of forwardedSignals) process.off(s, forward);
  if (signal !== null) {
    // End as the command did, so that a shell or supervisor sees the same signal.
    process.kill(process.pid, signal);
    process.exit(128 + (constants.signals[signal] ?? 0));
  }
  process.exit(code ?? 1);
}

/**
 * Why the command could not be started. Node's own message is left out: for a bad environment
 * it quotes the value.
 */
function cannotStart(command: string, error: NodeJS.ErrnoException): InjectError {
  if (error.code === "ENOENT") return new InjectError(`${command}: command not found.`, 127);
  if (error.code === "EACCES") {
    return new InjectError(`${command}: permission denied (not executable).`, 126);
  }
  return new InjectError(`${command} could not be started (${error.code ?? error.name}).`, 126);
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
