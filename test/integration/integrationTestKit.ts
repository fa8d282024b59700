/**
 * Shared helpers of the integration and interop specs: a client for a local vault, a request log
 * policy, RestError assertions and the exact messages of the service.
 */
import assert from "node:assert/strict";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import {
  isRestError,
  SecretClient,
  type AdditionalPolicyConfig,
  type RestError,
  type SecretClientOptions,
} from "../../src/index.js";
import { randomBytes } from "node:crypto";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import { openJournal } from "../../src/emulator/persistence/persistence.js";

import { loopbackClientOptions } from "../helpers/testKit.js";

export { collect, loopbackClientOptions, pause, uniqueName } from "../helpers/testKit.js";

/** Fast retries: the specs never wait seconds. */
export const fastRetryOptions = { retryDelayInMs: 10, maxRetryDelayInMs: 50 };

/**
 * A client of the local vault with its credential.
 * @param vault - the running vault
 * @param options - options added to {@link loopbackClientOptions}
 * @returns the client
 */
export function localClient(vault: LocalVault, options: SecretClientOptions = {}): SecretClient {
  return new SecretClient(vault.vaultUrl, vault.credential, {
    ...loopbackClientOptions,
    retryOptions: fastRetryOptions,
    ...options,
  });
}

/** One request as a {@link RequestLog} saw it. */
export interface LoggedRequest {
  method: string;
  /** Path of the URL, without the query. */
  path: string;
  /** Status of the response, or 0 when the request failed without one. */
  status: number;
  /** Whether the request carried an `Authorization` header. */
  authorized: boolean;
}

/** A policy that records every request it passes, and the records. */
export interface RequestLog {
  config: AdditionalPolicyConfig;
  requests: LoggedRequest[];
  /**
   * Requests matching a method and path.
   * @param method - HTTP method
   * @param path - exact path
   * @returns the matching records
   */
  matching(method: string, path: string): LoggedRequest[];
}

/**
 * Creates a request log.
 * @param position - `perCall` sees one request per operation; `perRetry` sees every attempt
 *   (including the unauthenticated challenge request and retries)
 * @returns the log
 */
export function requestLog(position: "perCall" | "perRetry"): RequestLog {
  const requests: LoggedRequest[] = [];
  const policy: PipelinePolicy = {
    name: `testRequestLog-${position}`,
    async sendRequest(request, next) {
      const record: LoggedRequest = {
        method: request.method,
        path: new URL(request.url).pathname,
        status: 0,
        authorized: request.headers.has("authorization"),
      };
      requests.push(record);
      try {
        const response = await next(request);
        record.status = response.status;
        return response;
      } catch (error) {
        if (isRestError(error) && error.statusCode !== undefined) record.status = error.statusCode;
        throw error;
      }
    },
  };
  return {
    config: { policy, position },
    requests,
    matching: (method, path) => requests.filter((r) => r.method === method && r.path === path),
  };
}

/** What a RestError is expected to carry. */
export interface ExpectedRestError {
  /** undefined for a failure without an answer (a network error). */
  statusCode: number | undefined;
  code?: string;
  /** Exact message (string) or pattern. */
  message?: string | RegExp;
  /** Expected `details.error.innererror.code`; null = no inner error. */
  innerCode?: string | null;
}

/**
 * Asserts that a promise rejects with a RestError as expected.
 * @param promise - the operation
 * @param expected - status, code, message and inner code
 * @returns the error, for further checks
 */
export async function assertRestError(
  promise: Promise<unknown>,
  expected: ExpectedRestError,
): Promise<RestError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught !== undefined, "expected the operation to fail");
  assert.ok(isRestError(caught), `expected a RestError, got ${String(caught)}`);
  const error = caught as RestError;
  assert.equal(error.statusCode, expected.statusCode, error.message);
  if (expected.code !== undefined) assert.equal(error.code, expected.code);
  if (typeof expected.message === "string") assert.equal(error.message, expected.message);
  else if (expected.message !== undefined) assert.match(error.message, expected.message);
  if (expected.innerCode !== undefined) {
    const details = error.details as { error?: { innererror?: { code?: string } } } | undefined;
    assert.equal(details?.error?.innererror?.code, expected.innerCode ?? undefined);
  }
  return error;
}

/**
 * The 404 message of a secret (or version) that does not exist, as real vaults send it.
 * @param name - name or name/version
 * @returns the message
 */
export function secretNotFoundMessage(name: string): string {
  return `A secret with (name/id) ${name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`;
}

/**
 * The 404 message of a deleted secret that does not exist.
 * @param name - the name
 * @returns the message
 */
export function deletedSecretNotFoundMessage(name: string): string {
  return `Deleted Secret not found: ${name}`;
}

/**
 * The 409 message for reusing the name of a deleted secret.
 * @param name - the name
 * @returns the message
 */
export function deletedButRecoverableMessage(name: string): string {
  return `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`;
}

/** The 403 message of a get on a disabled version. */
export const secretDisabledMessage = "Operation get is not allowed on a disabled secret.";

/** The 429 message of a throttled request. */
export const throttledMessage =
  "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached";

/** A day in milliseconds. */
export const dayInMs = 86_400_000;

/**
 * A date on a whole second (the service keeps Unix seconds).
 * @param offsetMs - milliseconds from now
 * @returns the date
 */
export function wholeSecondDate(offsetMs: number): Date {
  return new Date(Math.floor((Date.now() + offsetMs) / 1000) * 1000);
}

/** An `exp` the vault refuses today but an older vault kept: 1e13 seconds is no JavaScript date. */
export const refusedExp = 1e13;

/**
 * Starts a vault over a journal an older vault wrote, holding secrets with an `exp` that set and
 * update now refuse.
 * @param directory - an empty directory for the vault's files
 * @param expByName - each secret's name and its `exp` in Unix seconds
 * @returns the running vault (its `location` is `directory`)
 */
export async function startVaultWithRefusedDates(
  directory: string,
  expByName: Record<string, number>,
): Promise<LocalVault> {
  const journal = await openJournal(directory);
  for (const [name, exp] of Object.entries(expByName)) {
    await journal.append({
      type: "set",
      key: name.toLowerCase(),
      name,
      version: randomBytes(16).toString("hex"),
      at: Math.floor(Date.now() / 1000),
      value: "kept-by-an-older-vault",
      exp,
    });
  }
  await journal.close();
  return startLocalVault({ location: directory, delayMs: 0 });
}
