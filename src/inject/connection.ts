/**
 * How `keyvault-secrets run` and the preload reach a vault: `DefaultAzureCredential` from the
 * optional peer dependency `@azure/identity`, and the client options and credential a loopback
 * vault (the local vault) needs, granted only when the token comes from that vault itself.
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

/** The credentials a load signs in with, one per kind of vault. */
export interface Credentials {
  /** For vaults in Azure: `DefaultAzureCredential`. */
  azure: TokenCredential;
  /**
   * For the local vault: a token from `IDENTITY_ENDPOINT` only (the vault's own endpoint), never
   * from Azure CLI or a service principal of the environment, whose real token the vault (or a
   * process squatting its port) would receive.
   */
  localVault: TokenCredential;
}

/** A vault's credential and client options. */
export interface VaultConnection {
  credential: TokenCredential;
  clientOptions: SecretClientOptions;
}

/**
 * Creates the credentials from `@azure/identity`, an optional peer dependency:
 * `DefaultAzureCredential` and `ManagedIdentityCredential`.
 * @returns the credentials
 * @throws InjectError telling how to install `@azure/identity` when it is missing
 */
export async function defaultCredentials(): Promise<Credentials> {
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
  return {
    azure: new identity.DefaultAzureCredential(),
    // It reads IDENTITY_ENDPOINT and IDENTITY_HEADER from process.env: the environment that
    // clientOptionsFor checks in run and in both preloads.
    localVault: new identity.ManagedIdentityCredential(),
  };
}

/**
 * How to reach a vault: see {@link clientOptionsFor}; a local vault signs in with the credential
 * of its own identity endpoint, any other vault with `DefaultAzureCredential`.
 * @param vaultUrl - the vault URL
 * @param env - the environment (for `IDENTITY_ENDPOINT`)
 * @param credentials - the credentials
 * @returns the credential and client options
 * @throws what {@link clientOptionsFor} throws
 */
export function connectionFor(
  vaultUrl: string,
  env: Record<string, string | undefined>,
  credentials: Credentials,
): VaultConnection {
  const clientOptions = clientOptionsFor(vaultUrl, env);
  // clientOptionsFor has checked the URL, and that a loopback vault serves IDENTITY_ENDPOINT.
  const isLocalVault = isLoopbackHost(new URL(vaultUrl).hostname);
  return {
    credential: isLocalVault ? credentials.localVault : credentials.azure,
    clientOptions,
  };
}

/**
 * The client options for a vault. A loopback vault (the local vault) gets
 * `disableChallengeResourceVerification` (its challenge names https://vault.azure.net) and, over
 * http, `allowInsecureConnection`, but only when `IDENTITY_ENDPOINT` is on the vault's own origin
 * (the local vault serves `/__local/identity/token`): then the token comes from the vault itself.
 * A loopback `IDENTITY_ENDPOINT` elsewhere is no proof: App Service on Windows and Container Apps
 * set one for the platform's identity, whose real token, for whatever resource a process
 * squatting the vault's port names in its challenge, must never be sent there.
 * @param vaultUrl - the vault URL
 * @param env - the environment (for `IDENTITY_ENDPOINT`)
 * @returns the options
 * @throws InjectError for a loopback vault whose origin does not serve `IDENTITY_ENDPOINT`, or a
 *   URL that is not a vault URL
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
  const identityIsTheVault =
    identityEndpoint !== undefined &&
    URL.canParse(identityEndpoint) &&
    new URL(identityEndpoint).origin === url.origin;
  if (!identityIsTheVault || !env["IDENTITY_HEADER"]) {
    throw new InjectError(
      `The vault ${url.origin} is on this machine (a local vault), but IDENTITY_ENDPOINT and IDENTITY_HEADER do not name that vault's own identity endpoint, so a real token could be sent to whatever listens there. Set both as keyvault-emulator prints them: IDENTITY_ENDPOINT=${url.origin}/__local/identity/token and its IDENTITY_HEADER.`,
    );
  }
  return {
    disableChallengeResourceVerification: true,
    allowInsecureConnection: url.protocol === "http:",
  };
}
