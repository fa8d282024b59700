/**
 * Connection failures explained once the retries are over: the retry policy
 * (pipeline/keyVaultRetryPolicy.ts) calls {@link explainConnectionFailure} in the catch of its
 * last error, so that a request that succeeds pays nothing for it (no policy, no promise).
 */
import type { AbortSignalLike } from "@azure/abort-controller";
import { isRestError, type PipelineRequest, type RestError } from "@azure/core-rest-pipeline";
import { connect as connectTls } from "node:tls";
import { isLoopbackHost } from "../loopbackHost.js";
import { formatDuration } from "./retryStrategies.js";

/**
 * The variable of `keyvault-secrets run` and the preload that maps the vault of an App Service Key
 * Vault reference to another URL. The client does not depend on that code; a test checks that this
 * is its name (`referenceVaultsVariable` in inject/referenceSyntax.ts).
 */
export const referenceVaultsVariableName = "KEYVAULT_REFERENCE_VAULTS";

/** How long the check whether a server speaks TLS may take. */
const tlsProbeTimeoutInMs = 2000;

// OpenSSL's words when the server answered a TLS hello in plain text (an HTTP 400, usually).
const plainTextAnswer = /wrong version number|packet length too long|http request/i;

/** Codes of a certificate chain that ends at a CA this process does not trust. */
const untrustedCertificateCodes = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_UNTRUSTED",
]);

/** Key Vault's DNS suffixes (the public cloud, sovereign clouds, Managed HSM). */
const keyVaultHost =
  /^([a-z0-9-]+)\.(vault\.azure\.net|vault\.azure\.cn|vault\.usgovcloudapi\.net|vault\.microsoftazure\.de|managedhsm\.azure\.net)$/i;

/**
 * Marks an error already explained, on the error itself (not enumerable: not in its serialized
 * form): an error can travel through more than one client's pipeline.
 */
const explainedMark = Symbol("keyvault-secrets connection failure explained");

/** What the retry policy knows of a request whose last attempt failed. */
export interface FailedAttempts {
  /** Attempts sent, the first one included. */
  attempts: number;
  /** Time from the first attempt to the last failure. */
  elapsedInMs: number;
}

/**
 * Explains the network failures a newcomer meets, once the retry policy has given up: the error
 * stays the same `RestError` (its `code`, `statusCode` undefined, its `cause`), and its message
 * names the cause and the fix, never a value or a token:
 * - a refused connection: to a loopback host, that nothing listens there (the local vault is not
 *   running, or on another port); how often and how long it was tried;
 * - an `https://` URL to a server that answered in plain HTTP (OpenSSL's "wrong version number"),
 *   and an `http://` URL to a server that speaks TLS (a hang-up: the server is asked, with a TLS
 *   handshake that sends nothing else, whether it speaks TLS; loopback hosts only);
 * - a certificate that this process does not trust (a local vault with `--https`): how to trust it;
 * - a host that does not resolve (`ENOTFOUND`, `EAI_AGAIN`): the host, and for a Key Vault host the
 *   variable that maps a reference's vault to another URL.
 * Other errors, and service answers, are left as they are.
 *
 * @param error - The last error of the request.
 * @param request - The request that failed.
 * @param failed - How many attempts were sent, over how long.
 * @returns A promise that settles once the message is rewritten (or left alone); it never rejects.
 */
export async function explainConnectionFailure(
  error: unknown,
  request: PipelineRequest,
  failed: FailedAttempts,
): Promise<void> {
  if (!isRestError(error) || error.statusCode !== undefined || explainedMark in error) return;
  const message = await explanation(error, request, failed);
  if (message === undefined) return;
  error.message = message;
  Object.defineProperty(error, explainedMark, { value: true });
}

/** The message that explains a failed connection, or undefined when there is nothing to add. */
async function explanation(
  error: RestError,
  request: PipelineRequest,
  failed: FailedAttempts,
): Promise<string | undefined> {
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    return undefined;
  }
  const code = error.code ?? "";
  if (code === "ECONNREFUSED") return refusedConnection(url, error.message, failed);
  const reason = firstLine(error.message);
  const original = reason.includes(code) ? reason : `${code}: ${reason}`;
  const loopback = isLoopbackHost(url.hostname);
  if (url.protocol === "https:") {
    if (isPlainTextAnswer(code, error.message)) return plainHttpAnswered(url, original, loopback);
    if (untrustedCertificateCodes.has(code)) return certificateNotTrusted(url, original, loopback);
    if (code === "ERR_TLS_CERT_ALTNAME_INVALID") return certificateForOtherHost(url, original);
  }
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") {
    return hostNotFound(
      url,
      `${original}; gave up after ${formatDuration(failed.elapsedInMs)}`,
      code,
    );
  }
  if (
    url.protocol === "http:" &&
    loopback &&
    (code === "ECONNRESET" || code.startsWith("HPE_")) &&
    (await speaksTls(url, request.abortSignal))
  ) {
    return tlsServerAddressedWithHttp(url, original);
  }
  return undefined;
}

// `connect ECONNREFUSED 127.0.0.1:8443` after seconds of silent retries reads like a network fault;
// on a loopback host it nearly always means the local vault is not running, or runs on another port.
function refusedConnection(url: URL, original: string, failed: FailedAttempts): string {
  const tried =
    failed.attempts <= 1
      ? "tried once, not retried"
      : `tried ${failed.attempts} times over ${formatDuration(failed.elapsedInMs)}`;
  return isLoopbackHost(url.hostname)
    ? `Nothing is listening at ${url.origin} (${original}; ${tried}). ` +
        "Is the local vault running, and on that port? Check the vault URL."
    : `The connection to ${url.origin} was refused (${original}; ${tried}).`;
}

function isPlainTextAnswer(code: string, message: string): boolean {
  return (
    code === "ERR_SSL_WRONG_VERSION_NUMBER" ||
    code === "ERR_SSL_PACKET_LENGTH_TOO_LONG" ||
    (code === "EPROTO" && plainTextAnswer.test(message))
  );
}

function plainHttpAnswered(url: URL, original: string, loopback: boolean): string {
  const fix = loopback
    ? `Use http://${url.host} as the vault URL (with allowInsecureConnection: true in the SecretClient options), or start the local vault with --https (https: true in startLocalVault) and trust its CA.`
    : `Check the URL: ${url.host} does not speak TLS there (a Key Vault URL is https://<vault-name>.vault.azure.net, without a port).`;
  return `The server at ${url.origin} answered in plain HTTP, not HTTPS (${original}). ${fix}`;
}

function tlsServerAddressedWithHttp(url: URL, original: string): string {
  return (
    `The server at ${url.origin} speaks HTTPS (TLS), not plain HTTP: it closed the connection (${original}). ` +
    `Use https://${url.host} as the vault URL (a local vault started with --https), and trust its CA: ` +
    `tlsOptions: { ca } in the SecretClient options, or NODE_EXTRA_CA_CERTS=<the CA file> when Node.js starts.`
  );
}

function certificateNotTrusted(url: URL, original: string, loopback: boolean): string {
  const fix = loopback
    ? "A local vault started with --https (https: true) signs its certificate with a CA of its own. " +
      "Trust that CA: pass it to the client as tlsOptions: { ca } (vault.caCertificate, or the " +
      "keyvault-emulator-ca.pem file the command wrote and printed), or start Node.js with " +
      "NODE_EXTRA_CA_CERTS=<that file>, which @azure/identity's credentials need too " +
      "(keyvault-emulator export takes it as --ca <that file>)."
    : "If a proxy or firewall on this network inspects TLS, trust its CA: NODE_EXTRA_CA_CERTS=<its PEM file> " +
      "when Node.js starts, or tlsOptions: { ca } in the SecretClient options. Do not turn certificate checks off.";
  return `The certificate of ${url.origin} is not trusted by this process (${original}). ${fix}`;
}

function certificateForOtherHost(url: URL, original: string): string {
  return (
    `The certificate of ${url.origin} does not name ${url.hostname} (${original}). ` +
    `Use a host name the certificate names; a local vault started with --https names localhost, 127.0.0.1, ::1, ` +
    `its --host and every --hostname NAME (add one for ${url.hostname}).`
  );
}

function hostNotFound(url: URL, original: string, code: string): string {
  const what =
    code === "EAI_AGAIN"
      ? `The host ${url.hostname} could not be resolved: DNS did not answer (${original}).`
      : `The host ${url.hostname} was not found (${original}).`;
  const vault = keyVaultHost.exec(url.hostname);
  if (vault === null) {
    return `${what} Check the host name in the vault URL, and this machine's DNS and network.`;
  }
  return (
    `${what} Check the vault name in ${url.origin}: a vault's name resolves only while the vault exists. ` +
    `For a vault named in an App Service Key Vault reference (@Microsoft.KeyVault(...)), map it to another URL, ` +
    `e.g. the local vault: ${referenceVaultsVariableName}=${vault[1]!.toLowerCase()}=http://127.0.0.1:8443.`
  );
}

/**
 * Whether a TLS handshake with the URL's host and port succeeds: the server speaks TLS. Nothing is
 * sent but the handshake, and the certificate is not checked (nothing is trusted with it).
 */
function speaksTls(url: URL, signal: AbortSignalLike | undefined): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const socket = connectTls({
      host: url.hostname.replace(/^\[|\]$/g, ""),
      port: Number(url.port || 80),
      rejectUnauthorized: false,
    });
    const finish = (speaks: boolean): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      socket.destroy();
      resolve(speaks);
    };
    const onAbort = (): void => finish(false);
    const timer = setTimeout(() => finish(false), tlsProbeTimeoutInMs);
    signal?.addEventListener("abort", onAbort);
    socket.once("secureConnect", () => finish(true));
    socket.on("error", () => finish(false));
  });
}

function firstLine(message: string): string {
  const line = message.split("\n")[0]!.trim();
  // OpenSSL's lines carry an address and a source file: keep the reason.
  const openSsl = /error:[0-9A-F]+:[^:]*:[^:]*:([^:]+)/.exec(line);
  return openSsl === null ? line : openSsl[1]!;
}
