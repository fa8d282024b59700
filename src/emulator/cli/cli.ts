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
  const lines = [`Local Key Vault listening on ${vault.vaultUrl}`, ""];
  let caPath: string | undefined;
  if (vault.caCertificate !== undefined && parsed.caOut !== undefined) {
    caPath = parsed.caOut;
    mkdirSync(path.dirname(caPath), { recursive: true });
    // Written aside and renamed: a link planted at caPath is replaced, never followed.
    await writePrivateFile(caPath, vault.caCertificate);
  }
  lines.push(
    "Environment for clients:",
    `  KEYVAULT_URI=${vault.vaultUrl}`,
    `  IDENTITY_ENDPOINT=${vault.identityEndpoint}`,
    `  IDENTITY_HEADER=${vault.identityHeader}`,
  );
  if (caPath !== undefined) {
    lines.push(`  NODE_EXTRA_CA_CERTS=${caPath}`);
  }
  lines.push(
    "",
    "IDENTITY_ENDPOINT and IDENTITY_HEADER let ManagedIdentityCredential and DefaultAzureCredential",
    "take tokens from the local vault.",
  );
  const named = (parsed.options.hostnames ?? []).filter(challengesWithParent);
  if (named.length > 0) {
    const url = new URL(vault.vaultUrl);
    url.hostname = named[0];
    lines.push(
      `Clients that verify the challenge resource (every official SDK does by default) reach the`,
      `vault as ${url.origin}: there it challenges with the parent domain, which they accept.`,
    );
  } else {
    lines.push(
      "Clients on localhost need `disableChallengeResourceVerification: true` in the SecretClient",
      "options: the authentication challenge names https://vault.azure.net, not this host. Or start",
      "with --hostname myvault.localhost and reach the vault as https://myvault.localhost:<port>.",
    );
  }
  if (caPath !== undefined) {
    lines.push(
      `The certificate's CA is in ${caPath}; trust it by starting Node.js with`,
      `NODE_EXTRA_CA_CERTS=${caPath} (or pass it as \`ca\` to your HTTPS agent).`,
    );
  }
  lines.push(
    "",
    "Look inside (this link opens the page once, in one browser tab):",
    `  ${vault.pageUrl()}`,
    "",
    `Health: ${vault.vaultUrl}/healthz`,
    parsed.options.location !== undefined
      ? `State is kept in ${parsed.options.location}.`
      : "State is kept in memory only (use --location DIR to keep it).",
    "Press Ctrl+C to stop.",
  );
  console.log(lines.join("\n"));
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
