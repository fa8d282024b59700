/**
 * `keyvault-emulator page-link`: asks a running local vault for a new one-time link to its page
 * (`POST /__local/page-link` with the vault's identity header), so that a used link does not cost a
 * restart, which empties a vault kept in memory.
 */
import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { parseArgs } from "node:util";
import { isLoopbackHost } from "../http/hosts.js";

/** Usage of `keyvault-emulator page-link`. */
export const pageLinkHelpText = `Usage: keyvault-emulator page-link [--vault URL] [--ca FILE]

Prints a new link to the page of a running local vault (each link opens the page once). The vault
keeps running with its secrets. It needs the vault's identity header as keyvault-emulator printed
it: IDENTITY_HEADER (or KEYVAULT_EMULATOR_IDENTITY_HEADER) in the environment.

  --vault URL   The vault (default: the vault of $IDENTITY_ENDPOINT, else $KEYVAULT_URI,
                else http://127.0.0.1:8443)
  --ca FILE     PEM CA certificate to trust for https (or set NODE_EXTRA_CA_CERTS)

IDENTITY_HEADER goes only to the vault of $IDENTITY_ENDPOINT; KEYVAULT_EMULATOR_IDENTITY_HEADER also
to a vault on this machine (loopback).
On Linux and macOS, \`kill -USR2 <pid of keyvault-emulator>\` makes the vault print a new link too.
`;

/** The path of the identity endpoint under a vault's origin. */
const identityPath = "/__local/identity/token";

/** What the command prints to. */
export interface PageLinkIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/**
 * Runs `keyvault-emulator page-link`.
 * @param argv - the arguments after `page-link`
 * @param env - the environment
 * @param io - where the link and messages go
 * @returns the exit code: 0 printed, 1 failed, 2 bad arguments
 */
export async function runPageLink(
  argv: string[],
  env: Record<string, string | undefined>,
  io: PageLinkIo,
): Promise<number> {
  let values: { vault?: string; ca?: string; help?: boolean };
  try {
    values = parseArgs({
      args: argv,
      options: {
        vault: { type: "string" },
        ca: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }).values;
  } catch (error) {
    io.stderr(`keyvault-emulator page-link: ${(error as Error).message}\n${pageLinkHelpText}`);
    return 2;
  }
  if (values.help === true) {
    io.stdout(pageLinkHelpText);
    return 0;
  }
  const fail = (message: string): number => {
    io.stderr(`keyvault-emulator page-link: ${message}\n`);
    return 1;
  };
  const header = env.KEYVAULT_EMULATOR_IDENTITY_HEADER || env.IDENTITY_HEADER;
  if (!header) {
    return fail(
      "set IDENTITY_HEADER to the value keyvault-emulator printed when it started (its line IDENTITY_HEADER=...), then run this again.",
    );
  }
  const identityOrigin = originOfIdentityEndpoint(env.IDENTITY_ENDPOINT);
  const vault = values.vault ?? identityOrigin ?? env.KEYVAULT_URI ?? "http://127.0.0.1:8443";
  let url: URL;
  try {
    url = new URL(vault);
  } catch {
    return fail(`"${vault}" is not a URL; pass the vault as --vault http://127.0.0.1:8443.`);
  }
  const isIdentityVault = url.origin === identityOrigin;
  if (!isLoopbackHost(url.hostname) && !isIdentityVault) {
    return fail(
      `${url.origin} is not on this machine and not the vault of IDENTITY_ENDPOINT: the identity header is sent to neither. Set IDENTITY_ENDPOINT as keyvault-emulator printed it.`,
    );
  }
  // On App Service, Functions and Container Apps, IDENTITY_HEADER is the platform's secret: it
  // goes only to the vault whose identity endpoint IDENTITY_ENDPOINT names, never to whatever
  // listens on a port of this machine.
  if (!env.KEYVAULT_EMULATOR_IDENTITY_HEADER && !isIdentityVault) {
    return fail(
      `IDENTITY_HEADER goes only to the vault of IDENTITY_ENDPOINT, and that is not ${url.origin}: set IDENTITY_ENDPOINT=${url.origin}${identityPath} as keyvault-emulator printed it, or pass the header as KEYVAULT_EMULATOR_IDENTITY_HEADER.`,
    );
  }
  let ca: string | undefined;
  try {
    ca = values.ca === undefined ? undefined : readFileSync(values.ca, "utf8");
  } catch (error) {
    return fail(`cannot read --ca ${values.ca}: ${(error as Error).message}`);
  }
  try {
    io.stdout(`${await requestLink(url, header, ca)}\n`);
    return 0;
  } catch (error) {
    return fail((error as Error).message);
  }
}

/** The vault origin of an identity endpoint the local vault printed, if it is one. */
function originOfIdentityEndpoint(endpoint: string | undefined): string | undefined {
  if (endpoint === undefined || !URL.canParse(endpoint)) return undefined;
  const url = new URL(endpoint);
  return url.pathname === identityPath ? url.origin : undefined;
}

/** Asks the vault at `vault` for a page link. */
function requestLink(vault: URL, header: string, ca: string | undefined): Promise<string> {
  const target = new URL("/__local/page-link", vault.origin);
  const send = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      {
        method: "POST",
        headers: { "x-identity-header": header, "content-length": "0" },
        timeout: 10_000,
        ...(ca === undefined ? {} : { ca }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const body = parseBody(Buffer.concat(chunks).toString("utf8"));
          if (res.statusCode === 200 && typeof body?.url === "string") resolve(body.url);
          else reject(new Error(refusal(vault, res.statusCode ?? 0, body)));
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${vault.origin} did not answer in 10 s.`)));
    req.on("error", (error: NodeJS.ErrnoException) =>
      reject(new Error(connectionProblem(vault, error))),
    );
    req.end();
  });
}

function parseBody(text: string): { url?: unknown; error?: { message?: unknown } } | undefined {
  try {
    const body: unknown = JSON.parse(text);
    return typeof body === "object" && body !== null ? body : undefined;
  } catch {
    return undefined;
  }
}

function refusal(
  vault: URL,
  status: number,
  body: { error?: { message?: unknown } } | undefined,
): string {
  const message = body?.error?.message;
  if (status === 401) {
    return `${vault.origin} refused the identity header: set IDENTITY_HEADER to the value this vault printed when it started (a vault without --location gets a new one at every start).`;
  }
  if (status === 404) {
    return `${vault.origin} gives no page links: is it a local vault (keyvault-emulator) of this version, with its page?`;
  }
  return `${vault.origin} answered ${status}${typeof message === "string" ? `: ${message}` : "."}`;
}

function connectionProblem(vault: URL, error: NodeJS.ErrnoException): string {
  if (error.code === "ECONNREFUSED") {
    return `nothing is listening at ${vault.origin}: is keyvault-emulator running there? Name it with --vault URL.`;
  }
  if (/CERT|SIGNATURE/.test(error.code ?? "")) {
    return `${vault.origin}'s certificate is not trusted (${error.code}): pass the vault's CA with --ca keyvault-emulator-ca.pem (the file keyvault-emulator wrote and printed).`;
  }
  return `${vault.origin} could not be reached: ${error.message}`;
}
