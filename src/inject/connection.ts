/**
 * How `keyvault-secrets run` and the preload reach a vault: `DefaultAzureCredential` from the
 * optional peer dependency `@azure/identity`, and the client options a loopback vault (the local
 * vault) needs, granted only when the token also comes from a loopback endpoint.
 */
import type { TokenCredential } from "@azure/core-auth";
import type { SecretClientOptions } from "../models.js";
import { isLoopbackHost } from "../loopbackHost.js";

/** An error of the command or the preload that is reported as its message alone. */
export class InjectError extends Error {
  /**
   * Creates the error.
   * @param message - what went wrong and what to do
   * @param exitCode - the process status to exit with
   */
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "InjectError";
  }
}

/**
 * Creates `DefaultAzureCredential` from `@azure/identity`, an optional peer dependency.
 * @returns the credential
 * @throws InjectError telling how to install `@azure/identity` when it is missing
 */
export async function defaultCredential(): Promise<TokenCredential> {
  let identity: typeof import("@azure/identity");
  try {
    identity = await import("@azure/identity");
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (
      (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") &&
      String((error as Error).message).includes("@azure/identity")
    ) {
      throw new InjectError(
        "@azure/identity is not installed. keyvault-secrets signs in with its DefaultAzureCredential (Azure CLI, environment, workload or managed identity, and the local vault's identity endpoint): install it next to keyvault-secrets with `npm install @azure/identity`.",
      );
    }
    throw error;
  }
  return new identity.DefaultAzureCredential();
}

/**
 * The client options for a vault. A loopback vault (the local vault) gets
 * `disableChallengeResourceVerification` (its challenge names https://vault.azure.net) and, over
 * http, `allowInsecureConnection`, but only when `IDENTITY_ENDPOINT` is a loopback URL too: then
 * the token comes from the local vault's own identity endpoint, and no Azure token is ever sent to
 * a process on this machine.
 * @param vaultUrl - the vault URL
 * @param env - the environment (for `IDENTITY_ENDPOINT`)
 * @returns the options
 * @throws InjectError for a loopback vault without a loopback `IDENTITY_ENDPOINT`, or a URL that is
 *   not a vault URL
 */
export function clientOptionsFor(
  vaultUrl: string,
  env: Record<string, string | undefined>,
): SecretClientOptions {
  let url: URL;
  try {
    url = new URL(vaultUrl);
  } catch {
    throw new InjectError(
      `"${vaultUrl}" is not a vault URL; expected e.g. https://myvault.vault.azure.net or the local vault's http://127.0.0.1:8443.`,
      2,
    );
  }
  if (!isLoopbackHost(url.hostname)) return {};
  const identityEndpoint = env["IDENTITY_ENDPOINT"];
  const identityIsLocal =
    identityEndpoint !== undefined &&
    URL.canParse(identityEndpoint) &&
    isLoopbackHost(new URL(identityEndpoint).hostname);
  if (!identityIsLocal || !env["IDENTITY_HEADER"]) {
    throw new InjectError(
      `The vault ${url.origin} is on this machine (a local vault), but IDENTITY_ENDPOINT and IDENTITY_HEADER do not name a local identity endpoint, so a real Azure token could be sent to it. Set both as keyvault-emulator prints them (IDENTITY_ENDPOINT=${url.origin}/__local/identity/token).`,
    );
  }
  return {
    disableChallengeResourceVerification: true,
    allowInsecureConnection: url.protocol === "http:",
  };
}
