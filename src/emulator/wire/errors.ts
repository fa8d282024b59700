/**
 * Key Vault error bodies and the exact messages real vaults send, in one place so the server and
 * the store agree on them.
 */
import type { KeyVaultErrorResponseWire } from "../../api/wireTypes.js";

/** What a {@link VaultError} answers with. */
export interface VaultErrorOptions {
  /** HTTP status of the answer. */
  status: number;
  /** `error.code` of the body. */
  code: string;
  /** `error.message` of the body, as the real service words it. */
  message: string;
  /** `error.innererror.code` of the body, when the service sends one. */
  innerCode?: string;
  /** Extra response headers (e.g. `WWW-Authenticate`, `Retry-After`). */
  headers?: Record<string, string>;
}

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
   * @param options - its status, code, message, inner code and extra headers
   */
  constructor(options: VaultErrorOptions) {
    super(options.message);
    this.name = "VaultError";
    this.status = options.status;
    this.code = options.code;
    this.innerCode = options.innerCode;
    this.headers = options.headers;
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
 */
export function badParameter(message: string): VaultError {
  return new VaultError({ status: 400, code: "BadParameter", message });
}

/**
 * 400 for a name outside `^[0-9a-zA-Z-]+$` or longer than 127 characters.
 * @param name - the name as sent
 */
export function invalidName(name: string): VaultError {
  return badParameter(`The request URI contains an invalid name: ${name}`);
}

/**
 * 400 `BadParameter` for a property outside its limits (tags, contentType, attributes).
 */
export function invalidProperty(): VaultError {
  return badParameter("Property has invalid value");
}

/**
 * 404 `SecretNotFound` for a secret (or version) that does not exist.
 * @param name - the name or `name/version` asked for
 */
export function secretNotFound(name: string): VaultError {
  return new VaultError({
    status: 404,
    code: "SecretNotFound",
    message: `A secret with (name/id) ${name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
  });
}

/**
 * 404 `SecretNotFound` for a deleted secret that does not exist (or is still being deleted).
 * @param name - the name asked for
 */
export function deletedSecretNotFound(name: string): VaultError {
  return new VaultError({
    status: 404,
    code: "SecretNotFound",
    message: `Deleted Secret not found: ${name}`,
  });
}

/**
 * 403 `Forbidden` / `SecretDisabled` for reading a disabled secret.
 */
export function secretDisabled(): VaultError {
  return new VaultError({
    status: 403,
    code: "Forbidden",
    message: "Operation get is not allowed on a disabled secret.",
    innerCode: "SecretDisabled",
  });
}

/**
 * 409 `Conflict` / `ObjectIsDeletedButRecoverable` for reusing the name of a deleted secret.
 * @param name - the secret name
 */
export function deletedButRecoverable(name: string): VaultError {
  return new VaultError({
    status: 409,
    code: "Conflict",
    message: `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`,
    innerCode: "ObjectIsDeletedButRecoverable",
  });
}

/**
 * 409 `Conflict` / `ObjectIsBeingRecovered` for touching a secret whose recovery is in progress.
 * @param name - the secret name
 */
export function beingRecovered(name: string): VaultError {
  return new VaultError({
    status: 409,
    code: "Conflict",
    message: `Secret ${name} is currently being recovered and cannot be re-created; retry later.`,
    innerCode: "ObjectIsBeingRecovered",
  });
}

/**
 * 409 `Conflict` for purging or recovering a secret whose deletion is still in progress.
 */
export function beingDeleted(): VaultError {
  return new VaultError({
    status: 409,
    code: "Conflict",
    message: "Secret is currently being deleted.",
  });
}

/**
 * 401 `Unauthorized` with the vault's authentication challenge.
 * @param message - the `AKV…` message
 * @param challenge - the `WWW-Authenticate` value
 */
export function unauthorized(message: string, challenge: string): VaultError {
  return new VaultError({
    status: 401,
    code: "Unauthorized",
    message: message,
    headers: {
      "www-authenticate": challenge,
    },
  });
}

/**
 * 404 `NotFound` for a path that names no resource.
 * @param path - the request path
 */
export function resourceNotFound(path: string): VaultError {
  return new VaultError({
    status: 404,
    code: "NotFound",
    message: `The requested resource ${path} was not found.`,
  });
}

/**
 * 405 `MethodNotAllowed` for a method a route does not take.
 * @param method - the request method
 * @param path - the request path
 * @param allow - the methods the route takes, for the `Allow` header
 */
export function methodNotAllowed(method: string, path: string, allow: string): VaultError {
  return new VaultError({
    status: 405,
    code: "MethodNotAllowed",
    message: `The requested method ${method} is not allowed on ${path}; allowed: ${allow}.`,
    headers: { allow },
  });
}

/**
 * 429 `Throttled`, the service's answer past its request limit.
 * @param retryAfterSeconds - the `Retry-After` value, or undefined for none
 */
export function throttled(retryAfterSeconds: number | undefined): VaultError {
  return new VaultError({
    status: 429,
    code: "Throttled",
    message:
      "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached",
    headers:
      retryAfterSeconds === undefined ? undefined : { "retry-after": String(retryAfterSeconds) },
  });
}

/**
 * An injected 500 or 503.
 * @param status - 500 or 503
 */
export function injectedFault(status: 500 | 503): VaultError {
  return status === 500
    ? new VaultError({
        status: 500,
        code: "InternalServerError",
        message: "An internal server error occurred (injected fault).",
      })
    : new VaultError({
        status: 503,
        code: "ServiceUnavailable",
        message: "The service is temporarily unavailable (injected fault).",
      });
}

/**
 * 500 for a failure inside the vault; never echoes internals (they could hold request data).
 */
export function internalError(): VaultError {
  return new VaultError({
    status: 500,
    code: "InternalServerError",
    message: "The local vault failed to process the request.",
  });
}

/**
 * 403 `Forbidden` for a purge on a vault whose recovery level is not purgeable.
 */
export function purgeNotAllowed(): VaultError {
  return new VaultError({
    status: 403,
    code: "Forbidden",
    message: `Operation "purge" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed.`,
  });
}

/**
 * 409 `Conflict` for a restore whose name is in use, or was purged a moment ago.
 * @param id - id of the backup's latest version, as the vault names it
 */
export function restoreConflict(id: string): VaultError {
  return new VaultError({
    status: 409,
    code: "Conflict",
    message: `There was a conflict restoring the secret '${id}'. This can happen if either: a second secret with the same name was created after the first secret was deleted; thus trying to restore a secret whose name is already in use. To fix this, rename the second secret to something else so that the restore works. The second probable cause of this exception is when multiple operations are performed in parallel against the secret. To avoid this error, perform operations against a secret in a sequential manner.`,
  });
}

/**
 * 400 `BadParameter` for `outContentType` on a secret that is not a PFX certificate (every secret
 * of this vault: it holds no certificates).
 * @param target - `PEM` or `PFX`, the format asked for
 */
export function transformationNotSupported(target: "PEM" | "PFX"): VaultError {
  return badParameter(
    `The 'Unsupported' to '${target}' transformation is not supported. Only PFX to PEM transformation is supported.`,
  );
}

/**
 * 405 `MethodNotAllowed` for a method on the collection itself (`PUT /secrets/`), as the service
 * words it: no `Allow` header.
 * @param method - the request method
 */
export function collectionMethodNotAllowed(method: string): VaultError {
  return new VaultError({
    status: 405,
    code: "MethodNotAllowed",
    message: `HTTP ${method} not allowed`,
  });
}

/**
 * 401 for a token used before its `nbf` (refused as an expired one is).
 * @param challenge - the `WWW-Authenticate` value
 */
export function tokenNotYetValid(challenge: string): VaultError {
  return unauthorized("AKV10020: The access token is not yet valid.", challenge);
}

/**
 * 400 for a request body above the vault's limit.
 * @param maxBytes - the limit
 */
export function bodyTooLarge(maxBytes: number): VaultError {
  return badParameter(`The request body is larger than ${maxBytes} bytes.`);
}

/**
 * 400 for a body that is not JSON.
 */
export function bodyNotJson(): VaultError {
  return badParameter("The request body is not valid JSON.");
}

/**
 * 400 for a JSON body that is not an object.
 */
export function bodyNotObject(): VaultError {
  return badParameter("The request body must be a JSON object.");
}

/**
 * 400 for a body without its required `value`.
 */
export function missingValue(): VaultError {
  return badParameter("The request body is missing the required property 'value'.");
}

/**
 * 400 for a value above the service's length limit.
 * @param maxLength - the limit in characters
 */
export function valueTooLong(maxLength: number): VaultError {
  return badParameter(`Secret is beyond the maximum permitted length of ${maxLength} characters.`);
}

/**
 * 400 for a request without `api-version`.
 * @param latest - the newest version, named in the message
 */
export function apiVersionMissing(latest: string): VaultError {
  return badParameter(
    `The api-version query parameter is missing. Consider using the latest supported version (${latest}).`,
  );
}

/**
 * 400 for an `api-version` the service does not know.
 * @param version - the version asked for
 * @param latest - the newest version, named in the message
 */
export function apiVersionUnknown(version: string, latest: string): VaultError {
  return badParameter(
    `The specified version (${version}) is not recognized. Consider using the latest supported version (${latest}).`,
  );
}

/**
 * 400 for a `$skiptoken` the vault did not issue.
 * @param token - the token as sent
 */
export function invalidSkipToken(token: string): VaultError {
  return badParameter(
    `The $skiptoken ${token} is not valid; use the nextLink of the previous page.`,
  );
}

/**
 * 400 for `maxresults` outside 1..limit.
 * @param raw - the value as sent
 * @param limit - the largest page
 */
export function invalidMaxResults(raw: string, limit: number): VaultError {
  return badParameter(
    `Invalid maxresults value '${raw}': it must be an integer between 1 and ${limit}.`,
  );
}

/**
 * 401 for a request without a bearer token.
 * @param challenge - the `WWW-Authenticate` value
 */
export function missingToken(challenge: string): VaultError {
  return unauthorized("AKV10000: Request is missing a Bearer, PoP, or MTLS_POP token.", challenge);
}

/**
 * 401 for an expired token.
 * @param challenge - the `WWW-Authenticate` value
 */
export function tokenExpired(challenge: string): VaultError {
  return unauthorized("AKV10021: The access token has expired.", challenge);
}

/**
 * 401 for a token that is not a JWT.
 * @param challenge - the `WWW-Authenticate` value
 */
export function tokenMalformed(challenge: string): VaultError {
  return unauthorized("AKV10001: The access token is malformed.", challenge);
}

/**
 * 401 for a token whose signature does not verify.
 * @param challenge - the `WWW-Authenticate` value
 */
export function tokenSignatureInvalid(challenge: string): VaultError {
  return unauthorized("AKV10005: The access token signature could not be verified.", challenge);
}

/**
 * 401 for a token from another issuer.
 * @param expected - the issuer expected
 * @param found - the issuer found
 * @param challenge - the `WWW-Authenticate` value
 */
export function tokenIssuerInvalid(expected: string, found: string, challenge: string): VaultError {
  return unauthorized(
    `AKV10032: Invalid issuer. Expected one of ${expected}, found ${found}.`,
    challenge,
  );
}

/**
 * 401 for a token for another audience.
 * @param expected - the audience expected
 * @param found - the audience found
 * @param challenge - the `WWW-Authenticate` value
 */
export function tokenAudienceInvalid(
  expected: string,
  found: string,
  challenge: string,
): VaultError {
  return unauthorized(
    `AKV10022: Invalid audience. Expected ${expected}, found: ${found}.`,
    challenge,
  );
}

/**
 * 401 CAE claims challenge.
 * @param challenge - the `WWW-Authenticate` value (`insufficient_claims`)
 */
export function claimsRequired(challenge: string): VaultError {
  return unauthorized(
    "AKV10024: The token does not satisfy the claims required by continuous access evaluation.",
    challenge,
  );
}

/**
 * 400 `Malformed backup blob` for restore bytes that are not a backup.
 */
export function malformedBackup(): VaultError {
  return new VaultError({
    status: 400,
    code: "Malformed backup blob",
    message: "Backup blob contains invalid or corrupt version.",
  });
}

/**
 * 400 `Malformed backup blob` for restore bytes too short to be a backup (the service's answer to
 * a 12-byte blob).
 */
export function backupCorrupt(): VaultError {
  return new VaultError({
    status: 400,
    code: "Malformed backup blob",
    message: "Backup blob is corrupt.",
  });
}

/**
 * 400 `BadParameter` for a backup this vault cannot open (another vault's key).
 */
export function backupNotDecryptable(): VaultError {
  return badParameter("Cannot decrypt backup blob");
}

/**
 * 421 for a request whose `Host` does not name the vault (missing, malformed or foreign: a web page
 * rebinding its own DNS name to the vault's address gets this, and nothing is read or changed).
 * @param allowed - the names the vault answers to
 */
export function hostNotAllowed(allowed: readonly string[]): VaultError {
  return new VaultError({
    status: 421,
    code: "MisdirectedRequest",
    message: `The Host header does not name this vault. The local vault answers to ${allowed.join(", ")}; start it with --hostname NAME (option hostnames) to add a name.`,
  });
}

/**
 * 403 for a request sent by a web page of another origin (an `Origin` that is not the vault's, or
 * `Sec-Fetch-Site: cross-site`/`same-site`).
 */
export function originNotAllowed(): VaultError {
  return new VaultError({
    status: 403,
    code: "Forbidden",
    message:
      "Requests from other origins are not accepted: the local vault does not serve web pages of other sites.",
  });
}

/**
 * 415 for a state-changing request whose body is not `application/json`.
 */
export function unsupportedMediaType(): VaultError {
  return new VaultError({
    status: 415,
    code: "UnsupportedMediaType",
    message: "The request body must be sent with Content-Type: application/json.",
  });
}
