import { isRestError } from "@azure/core-rest-pipeline";
import type { ReadOutcome } from "./changes.js";
import { getRetryAfterInMs } from "../util/retry.js";

/** One secret a {@link SecretCache} could not read, and why. */
export interface SecretCacheFailure {
  /** The secret's name, or `"(listing)"` when the list of secrets itself failed. */
  secretName: string;
  /** Why, in words: the status code, service error code and message. Never a value. */
  reason: string;
  /** The error the client threw (a `RestError` for a service answer). */
  error: unknown;
}

/**
 * A load, refresh or fetch of a {@link SecretCache} that failed. The message names each secret
 * that failed and why (up to ten; `failures` has all of them) and never contains a value.
 *
 * @example
 * ```ts
 * try {
 *   await cache.load();
 * } catch (error) {
 *   if (error instanceof SecretCacheError) {
 *     for (const { secretName, reason } of error.failures) console.error(secretName, reason);
 *   }
 * }
 * ```
 */
export class SecretCacheError extends Error {
  /** Every secret that failed. */
  readonly failures: SecretCacheFailure[];

  /**
   * Creates the error.
   * @param message - what failed
   * @param failures - each secret that failed and why
   */
  constructor(message: string, failures: SecretCacheFailure[]) {
    super(message, failures.length === 1 ? { cause: failures[0]!.error } : undefined);
    this.name = "SecretCacheError";
    this.failures = failures;
  }
}

/** Name used in failures of the listing itself. */
export const listingFailureName = "(listing)";
/** Failures named in an error message; the rest are counted. */
const failuresInMessage = 10;

/** Whether an error is the vault throttling the caller (HTTP 429). */
export function isThrottled(error: unknown): boolean {
  return isRestError(error) && error.statusCode === 429;
}

/**
 * How long a throttled request was asked to wait, read as the client's retry policy reads it
 * (`retry-after-ms`, `x-ms-retry-after-ms`, `Retry-After` in seconds or as a date); undefined when
 * the response named no valid wait.
 */
export function retryAfterInMs(error: unknown, nowMs: number = Date.now()): number | undefined {
  return isRestError(error) ? getRetryAfterInMs(error.response, nowMs) : undefined;
}

/** A 429 that outlasted every attempt. */
export class StillThrottledError extends Error {
  constructor(
    readonly attempts: number,
    readonly lastError: unknown,
  ) {
    const retryAfter = retryAfterInMs(lastError);
    super(
      `still throttled (429) after ${attempts} attempt${attempts === 1 ? "" : "s"}${retryAfter === undefined ? "" : `; the vault last asked to wait ${Math.ceil(retryAfter / 1000)} s`}`,
    );
    this.name = "StillThrottledError";
  }
}

/**
 * Why a read found a secret gone: `"deleted"` for a 404, `"disabled"` for 403 `SecretDisabled`
 * (Forbidden on get of a disabled secret); undefined for any other error.
 */
export function goneReason(error: unknown): "deleted" | "disabled" | undefined {
  if (!isRestError(error)) return undefined;
  if (error.statusCode === 404) return "deleted";
  // innerError is 4.x's (and our) deserialized name; innererror the wire's, for other clients.
  type Inner = { code?: string } | undefined;
  const details = error.details as
    { error?: { innerError?: Inner; innererror?: Inner } } | undefined;
  const inner = (details?.error?.innerError ?? details?.error?.innererror)?.code;
  return error.statusCode === 403 && inner === "SecretDisabled" ? "disabled" : undefined;
}

/**
 * One failure in words (status, service code, message); never a value. Without a final period:
 * messages put it inside a sentence of their own.
 */
export function describeError(error: unknown): string {
  return withoutFinalPeriod(describeErrorAsIs(error));
}

function describeErrorAsIs(error: unknown): string {
  if (error instanceof StillThrottledError) return error.message;
  if (isRestError(error)) {
    const status = error.statusCode === undefined ? "no response" : String(error.statusCode);
    const code = error.code === undefined ? "" : ` ${error.code}`;
    return `${status}${code}: ${error.message}`;
  }
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

function withoutFinalPeriod(text: string): string {
  return text.endsWith(".") && !text.endsWith("..") ? text.slice(0, -1) : text;
}

/** The failures of a load or refresh for an error message: the first ten named, the rest counted. */
export function describeFailures(failures: SecretCacheFailure[], attempted: number): string {
  const named = failures
    .slice(0, failuresInMessage)
    .map((failure) => `"${failure.secretName}" (${failure.reason})`)
    .join(", ");
  const more =
    failures.length > failuresInMessage ? ` and ${failures.length - failuresInMessage} more` : "";
  return `${failures.length} of ${attempted} secrets: ${named}${more}`;
}

/** Why `getOrFetch` cannot give a secret that a read found absent or excluded. */
export function fetchRefusal(
  secretName: string,
  outcome: Extract<ReadOutcome, { kind: "removed" }>,
): SecretCacheError {
  const prefix = `SecretCache.getOrFetch("${secretName}")`;
  switch (outcome.reason) {
    case "deleted":
    case "disabled": {
      const reason = describeError(outcome.error);
      return new SecretCacheError(`${prefix} failed: ${reason}.`, [
        { secretName, reason, error: outcome.error },
      ]);
    }
    case "filteredOut":
      return new SecretCacheError(
        `${prefix}: the secret is excluded by the cache's tag filter or filter function.`,
        [],
      );
    case "expired":
    case "notYetValid": {
      const when =
        outcome.reason === "expired"
          ? `expired on ${outcome.date!.toISOString()}`
          : `not valid before ${outcome.date!.toISOString()}`;
      return new SecretCacheError(
        `${prefix}: the secret is ${when}; set includeOutsideValidityPeriod to read it anyway.`,
        [],
      );
    }
  }
}
