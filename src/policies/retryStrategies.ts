import {
  RestError,
  type PipelineRequest,
  type PipelineRetryOptions,
  type RetryStrategy,
} from "@azure/core-rest-pipeline";
import { logger } from "../log.js";
import { backoffDelayInMs, getRetryAfterInMs, isTransientStatus } from "../util/retry.js";

// @azure/core-rest-pipeline 1.25 exports `retryPolicy` and the `RetryStrategy` type but not its
// `throttlingRetryStrategy` / `exponentialRetryStrategy` factories (they live in
// @typespec/ts-http-runtime, which does not export them either), so the strategies are written here.

/**
 * Retries a 429 or 503 that says when to come back (`Retry-After` in seconds or as an HTTP date,
 * `retry-after-ms`, `x-ms-retry-after-ms`), after exactly that wait.
 */
export function retryAfterStrategy(maxRetries: number = Infinity): RetryStrategy {
  return {
    name: "keyVaultRetryAfterStrategy",
    retry({ response, retryCount }) {
      const retryAfterInMs = getRetryAfterInMs(response);
      if (retryAfterInMs === undefined || retryCount >= maxRetries) return { skipStrategy: true };
      logRetry(
        response!.request,
        retryCount,
        retryAfterInMs,
        `${response!.status} with a retry-after header`,
      );
      return { retryAfterInMs };
    },
  };
}

/**
 * Retries a 429 that does not say when to come back, with exponential backoff. Key Vault does not
 * promise a `Retry-After`, and core's default policy gives such a 429 straight back.
 *
 * @param options - The base delay and its cap.
 */
export function throttledBackoffStrategy(
  options: PipelineRetryOptions = {},
  maxRetries: number = Infinity,
): RetryStrategy {
  return {
    name: "keyVaultThrottledBackoffStrategy",
    retry({ response, retryCount }) {
      if (
        response?.status !== 429 ||
        getRetryAfterInMs(response) !== undefined ||
        retryCount >= maxRetries
      ) {
        return { skipStrategy: true };
      }
      const retryAfterInMs = backoffDelayInMs(retryCount, options);
      logRetry(response.request, retryCount, retryAfterInMs, "429 without a retry-after header");
      return { retryAfterInMs };
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
export function transientFailureStrategy(
  options: PipelineRetryOptions = {},
  maxRetries: number = Infinity,
): RetryStrategy {
  return {
    name: "keyVaultTransientFailureStrategy",
    retry({ response, responseError, retryCount }) {
      const retriable =
        response !== undefined
          ? isTransientStatus(response.status)
          : isTransientError(responseError);
      // Skipping (never `errorToThrow`) lets the retry policy give back the response or rethrow the
      // error itself, without logging the error object.
      if (!retriable || retryCount >= maxRetries) return { skipStrategy: true };
      const retryAfterInMs = backoffDelayInMs(retryCount, options);
      const request = response?.request ?? responseError?.request;
      const reason =
        response !== undefined
          ? String(response.status)
          : `${responseError!.code}: ${responseError!.message}`;
      if (request !== undefined) logRetry(request, retryCount, retryAfterInMs, reason);
      return { retryAfterInMs };
    },
  };
}

// One info line per retry (AZURE_LOG_LEVEL=info): the origin and path, never the query or a body.
function logRetry(
  request: PipelineRequest,
  retryCount: number,
  retryAfterInMs: number,
  reason: string,
): void {
  logger.info(
    `Retry ${retryCount + 1} of ${request.method} ${describeUrl(request.url)} in ${formatDuration(retryAfterInMs)} after ${reason}.`,
  );
}

function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.origin + parsed.pathname;
  } catch {
    return "(an unparseable URL)";
  }
}

/**
 * A duration for people: milliseconds below one second, else seconds with one decimal.
 *
 * @param milliseconds - The duration.
 * @returns For example `"250 ms"` or `"7.4 s"`.
 * @internal
 */
export function formatDuration(milliseconds: number): string {
  return milliseconds < 1000
    ? `${Math.round(milliseconds)} ms`
    : `${(Math.round(milliseconds / 100) / 10).toFixed(1)} s`;
}
