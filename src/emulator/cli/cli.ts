/**
 * The `keyvault-emulator` command: starts the vault that the command line asks for (parsed by
 * `cliArguments.ts`), prints how to point clients at it and closes it on a signal. The program's
 * entry file is `bin.ts`.
 */

import { mkdirSync } from "node:fs";
import * as path from "node:path";
import { parseCliArguments, helpText, type ParsedCliArguments } from "./cliArguments.js";
import { challengesWithParent } from "../http/auth.js";
import { isLoopbackHost } from "../http/hosts.js";
import { writePrivateFile } from "../persistence/privateFiles.js";
import { packageVersion } from "../../constants.js";

/**
 * Runs the `keyvault-emulator` command: parses the arguments, starts the local vault, prints how
 * to reach it and closes it on SIGINT or SIGTERM. Sets `process.exitCode` on failure.
 * @param argv - the arguments after the command (`process.argv.slice(2)`)
 * @returns a promise that resolves once the vault is listening (or the command failed)
 */
export async function runCli(argv: string[]): Promise<void> {
  if (argv[0] === "page-link") {
    const { runPageLink } = await import("./pageLink.js");
    process.exitCode = await runPageLink(argv.slice(1), process.env, {
      stdout: (text) => process.stdout.write(text),
      stderr: (text) => process.stderr.write(text),
    });
    return;
  }
  if (argv[0] === "export") {
    // Loaded here: the client is needed by this command only.
    const { interruptedExitCode, runExport } = await import("./exportVault.js");
    const interrupt = new AbortController();
    // The first signal stops the export once the vault is as it was; a second exits at once.
    const stop = (signal: NodeJS.Signals): void => {
      if (interrupt.signal.aborted) {
        console.error(`keyvault-emulator export: ${signal} again, exiting at once.`);
        process.exit(interruptedExitCode);
      }
      interrupt.abort();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    try {
      process.exitCode = await runExport(
        argv.slice(1),
        process.env,
        {
          stdout: (text) => process.stdout.write(text),
          stderr: (text) => process.stderr.write(text),
        },
        interrupt.signal,
      );
    } finally {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
    }
    return;
  }
  const healthcheck = argv[0] === "healthcheck";
  const rest = healthcheck ? argv.slice(1) : argv;
  if (rest.slice(0, rest.includes("--") ? rest.indexOf("--") : undefined).includes("--version")) {
    console.log(packageVersion);
    return;
  }
  let parsed: ParsedCliArguments;
  try {
    parsed = parseCliArguments(rest, process.env);
  } catch (error) {
    console.error(`keyvault-emulator: ${(error as Error).message}`);
    console.error("Run 'keyvault-emulator --help' to see the options.");
    process.exitCode = 2;
    return;
  }
  if (parsed.help) {
    process.stdout.write(helpText);
    return;
  }
  for (const warning of parsed.warnings) console.warn(warning);
  if (healthcheck) {
    const { probeHealth } = await import("../routes/health.js");
    const options = parsed.options;
    const health = await probeHealth({
      host: options.host ?? "127.0.0.1",
      port: options.port ?? 8443,
      https: options.https !== undefined && options.https !== false,
    });
    if (health.ok) {
      console.log("keyvault-emulator: healthy");
    } else {
      console.error(
        `keyvault-emulator: unhealthy: ${health.error ?? `GET /healthz answered ${health.status}`}`,
      );
      process.exitCode = 1;
    }
    return;
  }

  // Loaded here so that --help and argument errors do not load the server.
  const { startLocalVault } = await import("../index.js");
  let vault: Awaited<ReturnType<typeof startLocalVault>>;
  try {
    vault = await startLocalVault(parsed.options);
  } catch (error) {
    console.error(`keyvault-emulator: the local vault did not start: ${(error as Error).message}`);
    process.exitCode = 1;
    return;
  }

  // A used page link costs no restart (which empties a vault kept in memory): SIGUSR2 prints a
  // new one. Only the process's owner (or root) can send it.
  const printPageLink = (): void => console.log(`New page link (opens once): ${vault.pageUrl()}`);
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      console.error(`keyvault-emulator: ${signal} again, exiting without waiting.`);
      process.exit(1);
    }
    stopping = true;
    console.log(`keyvault-emulator: ${signal} received, closing the local vault.`);
    vault.close().then(
      () => {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        process.off("SIGUSR2", printPageLink);
        process.exitCode = 0;
        // Should a stray handle keep the process alive, exit anyway; unref'd, it never delays exit.
        setTimeout(() => process.exit(), 2000).unref();
      },
      (error: unknown) => {
        console.error(`keyvault-emulator: closing failed: ${(error as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  if (process.platform !== "win32") process.on("SIGUSR2", printPageLink);

  const host = parsed.options.host ?? "127.0.0.1";
  if (!isLoopbackHost(host)) {
    console.warn(
      exposureWarning(
        host,
        parsed.options.strictAuth === true,
        parsed.options.https !== undefined && parsed.options.https !== false,
      ),
    );
  }
  let caPath: string | undefined;
  if (vault.caCertificate !== undefined && parsed.caOut !== undefined) {
    caPath = parsed.caOut;
    mkdirSync(path.dirname(caPath), { recursive: true });
    // Written aside and renamed: a link planted at caPath is replaced, never followed.
    await writePrivateFile(caPath, vault.caCertificate);
  }
  console.log(
    startBanner({
      vaultUrl: vault.vaultUrl,
      identityEndpoint: vault.identityEndpoint,
      identityHeader: vault.identityHeader,
      caPath,
      pageUrl: vault.pageUrl(),
      location: parsed.options.location,
      parentDomainUrl: parentDomainUrl(vault.vaultUrl, parsed.options.hostnames),
    }),
  );
}

/** The vault's URL by its first host name with a parent domain, if it has one. */
function parentDomainUrl(
  vaultUrl: string,
  hostnames: readonly string[] | undefined,
): string | undefined {
  const named = (hostnames ?? []).filter(challengesWithParent);
  if (named.length === 0) return undefined;
  const url = new URL(vaultUrl);
  url.hostname = named[0]!;
  return url.origin;
}

/** What the start banner tells. */
export interface StartBannerFacts {
  vaultUrl: string;
  identityEndpoint: string;
  identityHeader: string;
  /** The CA file written for an https vault with a generated certificate. */
  caPath: string | undefined;
  pageUrl: string;
  location: string | undefined;
  /**
   * The vault's URL by its first `--hostname` with a parent domain (`myvault.localhost`), where it
   * challenges with that parent, which clients that verify the challenge resource accept.
   */
  parentDomainUrl?: string;
}

/**
 * The text the command prints once the vault listens: an environment block to paste into a shell
 * (`export` lines), the SecretClient options the vault needs, the page link and how to get
 * another, and how to stop.
 * @param facts - the running vault
 * @returns the banner
 */
export function startBanner(facts: StartBannerFacts): string {
  const { vaultUrl, caPath } = facts;
  const https = vaultUrl.startsWith("https:");
  const lines = [
    `Local Key Vault listening on ${vaultUrl}`,
    "",
    "Environment for clients (paste into a shell):",
    `  export KEYVAULT_URI=${shellWord(vaultUrl)}`,
    `  export IDENTITY_ENDPOINT=${shellWord(facts.identityEndpoint)}`,
    `  export IDENTITY_HEADER=${shellWord(facts.identityHeader)}`,
  ];
  if (caPath !== undefined) lines.push(`  export NODE_EXTRA_CA_CERTS=${shellWord(caPath)}`);
  lines.push(
    "",
    "IDENTITY_ENDPOINT and IDENTITY_HEADER let ManagedIdentityCredential and DefaultAzureCredential",
    "take tokens from the local vault.",
  );
  const options = https ? "tlsOptions: { ca }" : "allowInsecureConnection: true";
  lines.push("SecretClient options for this vault:");
  if (facts.parentDomainUrl !== undefined) {
    lines.push(
      `  { ${options} }`,
      "  Clients that verify the challenge resource (every official SDK does by default) reach the",
      `  vault as ${facts.parentDomainUrl}: there it challenges with the parent domain, which they accept.`,
    );
  } else {
    lines.push(
      https
        ? "  { disableChallengeResourceVerification: true, tlsOptions: { ca } }"
        : "  { allowInsecureConnection: true, disableChallengeResourceVerification: true }",
      "  disableChallengeResourceVerification: its challenge names https://vault.azure.net, not this host",
      `  (or start with --hostname myvault.localhost and reach the vault as ${https ? "https" : "http"}://myvault.localhost:<port>).`,
    );
  }
  lines.push(
    https
      ? "  tlsOptions: { ca }: the vault's CA certificate (PEM), unless NODE_EXTRA_CA_CERTS names it."
      : "  allowInsecureConnection: the vault speaks plain http (loopback only; --https for TLS).",
  );
  if (caPath !== undefined) {
    lines.push(
      `The CA is in ${caPath}: NODE_EXTRA_CA_CERTS above makes every Node.js process started from`,
      'that shell trust it (credentials included); in code, tlsOptions: { ca: readFileSync(that file, "utf8") }.',
    );
  }
  lines.push(
    "",
    "Look inside (this link opens the page once, in one browser tab):",
    `  ${facts.pageUrl}`,
    "  Another link, the vault still running: `keyvault-emulator page-link` in a shell with the",
    `  lines above${process.platform === "win32" ? "" : `, or kill -USR2 ${process.pid}`}.`,
    "",
    `Health: ${vaultUrl}/healthz`,
    facts.location !== undefined
      ? `State is kept in ${facts.location}.`
      : "State is kept in memory only (use --location DIR to keep it).",
    `From a script: kill ${process.pid} (SIGTERM closes the vault as Ctrl+C does).`,
    "Press Ctrl+C to stop.",
  );
  return lines.join("\n");
}

/** A value as one shell word: as it is when it needs no quoting, else in single quotes. */
function shellWord(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, "'\\''")}'`;
}

/**
 * The warning printed when the vault listens on an address other than loopback.
 * @param host - the address
 * @param strictAuth - whether only vault-issued tokens are accepted
 * @param https - whether the vault speaks TLS
 * @returns the warning
 */
export function exposureWarning(host: string, strictAuth: boolean, https = false): string {
  return [
    `keyvault-emulator: WARNING: listening on ${host}, not loopback: the vault is exposed to every machine that can reach this address.`,
    strictAuth
      ? "  Requests need a token the vault issued (--strict-auth); its managed identity endpoint hands them to anyone who knows IDENTITY_HEADER."
      : "  Any bearer token is accepted (start with --strict-auth to accept only tokens the vault issued): anyone who can connect can read, change and delete its secrets and use its test controls (reset, clock, faults).",
    https
      ? "  Traffic is encrypted (--https); clients must trust the vault's generated CA."
      : "  Traffic is not encrypted: start with --https to encrypt it.",
  ].join("\n");
}
