/**
 * Key Vault error bodies and the exact messages real vaults send, in one place so the server and
 * the store agree on them.
 */
import type { KeyVaultErrorResponseWire } from "../api/wireTypes.js";

/** An error the local vault answers with: an HTTP status and a Key Vault error body. */
export class VaultError extends Error {
  /** HTTP status of the answer. */
  readonly status: number;
  /** `error.code` of the body. */
  readonly code: string;
  /** `error.innererror.code` of the body, when the service sends one. */
  readonly innerCode: string | undefined;
  /** Extra response headers (e.g. `WWW-Authenticate`, `Retry-After`). */
  readonly headers: Record<string, string> | undefined;

  /**
   * Creates an error answer.
   * @param status - HTTP status
   * @param code - `error.code`
   * @param message - `error.message`, as the real service words it
   * @param innerCode - `error.innererror.code`, if any
   * @param headers - extra response headers, if any
   */
  constructor(
    status: number,
    code: string,
    message: string,
    innerCode?: string,
    headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "VaultError";
    this.status = status;
    this.code = code;
    this.innerCode = innerCode;
    this.headers = headers;
  }

  /**
   * Builds the wire body of this error.
   * @returns the `{ error: { code, message, innererror? } }` envelope
   */
  toWire(): KeyVaultErrorResponseWire {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.innerCode === undefined ? {} : { innererror: { code: this.innerCode } }),
      },
    };
  }
}

/**
 * 400 `BadParameter`.
 * @param message - what was wrong
 * @returns the error
 */
export function badParameter(message: string): VaultError {
  return new VaultError(400, "BadParameter", message);
}

/**
 * 400 for a name outside `^[0-9a-zA-Z-]+$` or longer than 127 characters.
 * @param name - the name as sent
 * @returns the error
 */
export function invalidName(name: string): VaultError {
  return badParameter(`The request URI contains an invalid name: ${name}`);
}

/**
 * 400 `BadParameter` for a property outside its limits (tags, contentType, attributes).
 * @returns the error
 */
export function invalidProperty(): VaultError {
  return badParameter("Property has invalid value");
}

/**
 * 404 `SecretNotFound` for a secret (or version) that does not exist.
 * @param name - the name or `name/version` asked for
 * @returns the error
 */
export function secretNotFound(name: string): VaultError {
  return new VaultError(
    404,
    "SecretNotFound",
    `A secret with (name/id) ${name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
  );
}

/**
 * 404 `SecretNotFound` for a deleted secret that does not exist (or is still being deleted).
 * @param name - the name asked for
 * @returns the error
 */
export function deletedSecretNotFound(name: string): VaultError {
  return new VaultError(404, "SecretNotFound", `Deleted Secret not found: ${name}`);
}

/**
 * 403 `Forbidden` / `SecretDisabled` for reading a disabled secret.
 * @returns the error
 */
export function secretDisabled(): VaultError {
  return new VaultError(
    403,
    "Forbidden",
    "Operation get is not allowed on a disabled secret.",
    "SecretDisabled",
  );
}

/**
 * 409 `Conflict` / `ObjectIsDeletedButRecoverable` for reusing the name of a deleted secret.
 * @param name - the secret name
 * @returns the error
 */
export function deletedButRecoverable(name: string): VaultError {
  return new VaultError(
    409,
    "Conflict",
    `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`,
    "ObjectIsDeletedButRecoverable",
  );
}

/**
 * 409 `Conflict` / `ObjectIsBeingRecovered` for touching a secret whose recovery is in progress.
 * @param name - the secret name
 * @returns the error
 */
export function beingRecovered(name: string): VaultError {
  return new VaultError(
    409,
    "Conflict",
    `Secret ${name} is currently being recovered and cannot be re-created; retry later.`,
    "ObjectIsBeingRecovered",
  );
}

/**
 * 409 `Conflict` for purging or recovering a secret whose deletion is still in progress.
 * @returns the error
 */
export function beingDeleted(): VaultError {
  return new VaultError(409, "Conflict", "Secret is currently being deleted.");
}

/**
 * 401 `Unauthorized` with the vault's authentication challenge.
 * @param message - the `AKV…` message
 * @param challenge - the `WWW-Authenticate` value
 * @returns the error
 */
export function unauthorized(message: string, challenge: string): VaultError {
  return new VaultError(401, "Unauthorized", message, undefined, {
    "www-authenticate": challenge,
  });
}
