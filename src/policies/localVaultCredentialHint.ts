/**
 * What to do when a credential cannot sign in to a vault on this machine (the local vault): the
 * hint `keyvault-secrets run` and the preload give, added to the credential's own error for a user
 * of `SecretClient` as well.
 */
import { isLoopbackHost } from "../loopbackHost.js";

/**
 * The names of `@azure/identity`'s errors for a credential that could not get a token (matched by
 * name: `@azure/identity` is an optional peer, never loaded by the client).
 */
const credentialErrorNames = new Set([
  "CredentialUnavailableError",
  "AuthenticationError",
  // DefaultAzureCredential's: every credential of its chain failed.
  "AggregateAuthenticationError",
]);

/** The words that open the hint; an error that holds them already has it. */
const hintOpening = "The vault is on this machine";

/**
 * Adds to a credential's error how to point the credential at the local vault, when the vault is
 * a loopback one and `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` are not both set. The error object
 * stays the same (its class, `name` and fields, for code that catches it by class or name): its
 * `message` and the first line of its `stack` get the hint. An error whose message cannot be
 * changed (frozen) is replaced by an `Error` with the same name, the hint, and it as `cause`.
 *
 * @param error - What the credential's `getToken` threw.
 * @param vaultOrigin - The origin of the vault the token was for.
 * @param env - The environment the credential reads (`process.env` where there is one).
 * @returns The error to throw.
 */
export function withLocalVaultCredentialHint(
  error: unknown,
  vaultOrigin: URL,
  env: Record<string, string | undefined> | undefined = globalThis.process?.env,
): unknown {
  if (
    !(error instanceof Error) ||
    !credentialErrorNames.has(error.name) ||
    !isLoopbackHost(vaultOrigin.hostname) ||
    (env?.["IDENTITY_ENDPOINT"] && env["IDENTITY_HEADER"]) ||
    String(error.message).includes(hintOpening)
  ) {
    return error;
  }
  const original = String(error.message);
  const message = `${original}\n${localVaultCredentialHint(vaultOrigin.origin)}`;
  try {
    error.message = message;
  } catch {
    // Frozen, or a message that is not writable: strict mode throws on the assignment.
  }
  if (error.message !== message) {
    const replacement = new Error(message, { cause: error });
    replacement.name = error.name;
    return replacement;
  }
  // Node prints the stack of an uncaught error, whose first line holds the message it was made with.
  const head = `${error.name}: ${original}`;
  if (typeof error.stack === "string" && error.stack.startsWith(head)) {
    try {
      error.stack = `${error.name}: ${message}${error.stack.slice(head.length)}`;
    } catch {
      // A stack that cannot be changed keeps the original first line; the message has the hint.
    }
  }
  return error;
}

/**
 * How to point a credential at the local vault. Names variables, never their values.
 * @param vaultOrigin - The local vault's origin, e.g. `http://127.0.0.1:8443`.
 * @returns The hint.
 */
export function localVaultCredentialHint(vaultOrigin: string): string {
  return (
    `${hintOpening} (${vaultOrigin}, a local vault?), and IDENTITY_ENDPOINT and IDENTITY_HEADER are not set: ` +
    `point the credential at it by setting IDENTITY_ENDPOINT=${vaultOrigin}/__local/identity/token and IDENTITY_HEADER ` +
    "as keyvault-emulator prints them (ManagedIdentityCredential and DefaultAzureCredential then take the token from the vault), " +
    "or in tests use a credential with a fixed token (the local vault's credential, from startLocalVault)."
  );
}
