import {
  RestError,
  type PipelineRetryOptions,
  type RetryStrategy,
} from "@azure/core-rest-pipeline";
import { backoffDelayInMs, getRetryAfterInMs, isTransientStatus } from "../util/retry.js";

// @azure/core-rest-pipeline 1.25 exports `retryPolicy` and the `RetryStrategy` type but not its
// `throttlingRetryStrategy` / `exponentialRetryStrategy` factories (they live in
// @typespec/ts-http-runtime, which does not export them either), so the strategies are written here.

/**
 * Retries a 429 or 503 that says when to come back (`Retry-After` in seconds or as an HTTP date,
 * `retry-after-ms`, `x-ms-retry-after-ms`), after exactly that wait.
 */
export function retryAfterStrategy(): RetryStrategy {
  return {
    name: "keyVaultRetryAfterStrategy",
    retry({ response }) {
      const retryAfterInMs = getRetryAfterInMs(response);
      return retryAfterInMs === undefined ? { skipStrategy: true } : { retryAfterInMs };
    },
  };
}

/**
 * Retries a 429 that does not say when to come back, with exponential backoff. Key Vault does not
 * promise a `Retry-After`, and core's default policy gives such a 429 straight back.
 *
 * @param options - The base delay and its cap.
 */
export function throttledBackoffStrategy(options: PipelineRetryOptions = {}): RetryStrategy {
  return {
    name: "keyVaultThrottledBackoffStrategy",
    retry({ response, retryCount }) {
      if (response?.status !== 429 || getRetryAfterInMs(response) !== undefined) {
        return { skipStrategy: true };
      }
      return { retryAfterInMs: backoffDelayInMs(retryCount, options) };
    },
  };
}

// Errors a new attempt may not see: the connection failed or broke, not the request.
const transientErrorCodes = new Set([
  "REQUEST_SEND_ERROR",
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "ETIMEDOUT",
  "ESOCKETTIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOENT",
]);

function isTransientError(error: RestError | undefined): boolean {
  if (error?.code === undefined) return false;
  // Core's HTTP client reports a body cut off mid-response as a parse error without a response:
  // the connection broke, the service did not answer badly.
  if (error.code === RestError.PARSE_ERROR) return error.response === undefined;
  return transientErrorCodes.has(error.code);
}

/**
 * Retries network failures (a `RestError` with a connection error code such as `ECONNRESET` or
 * `REQUEST_SEND_ERROR`) and 408/5xx responses (except 501 and 505) with exponential backoff.
 *
 * @param options - The base delay and its cap.
 */
export function transientFailureStrategy(options: PipelineRetryOptions = {}): RetryStrategy {
  return {
    name: "keyVaultTransientFailureStrategy",
    retry({ response, responseError, retryCount }) {
      const retriable =
        response !== undefined
          ? isTransientStatus(response.status)
          : isTransientError(responseError);
      // Skipping (never `errorToThrow`) lets the retry policy give back the response or rethrow the
      // error itself, without logging the error object.
      return retriable
        ? { retryAfterInMs: backoffDelayInMs(retryCount, options) }
        : { skipStrategy: true };
    },
  };
}
