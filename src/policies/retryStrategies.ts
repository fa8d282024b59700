import {
  RestError,
  type PipelineRequest,
  type PipelineResponse,
  type PipelineRetryOptions,
  type RetryStrategy,
} from "@azure/core-rest-pipeline";
import { logger } from "../log.js";

// @azure/core-rest-pipeline 1.25 exports `retryPolicy` and the `RetryStrategy` type but not its
// `throttlingRetryStrategy` / `exponentialRetryStrategy` factories (they live in
// @typespec/ts-http-runtime, which does not export them either), so the strategies are written here.

const defaultRetryDelayInMs = 1000;
const defaultMaxRetryDelayInMs = 64 * 1000;

// Retry-after headers in order of precedence: the millisecond ones are more precise.
const millisecondRetryAfterHeaders = ["retry-after-ms", "x-ms-retry-after-ms"];

/**
 * Reads how long a throttled response asks the client to wait.
 *
 * @param response - A response; only 429 and 503 are considered.
 * @param now - The current time in milliseconds since the epoch (for `Retry-After` dates).
 * @returns The wait in milliseconds (0 for a date in the past), or `undefined` when the response is
 *   not a 429/503 or carries no valid `retry-after-ms`, `x-ms-retry-after-ms` or `Retry-After`.
 * @internal
 */
export function getRetryAfterInMs(
  response: PipelineResponse | undefined,
  now: number = Date.now(),
): number | undefined {
  if (response === undefined || (response.status !== 429 && response.status !== 503)) {
    return undefined;
  }
  for (const name of millisecondRetryAfterHeaders) {
    const milliseconds = parseNonNegativeNumber(response.headers.get(name));
    if (milliseconds !== undefined) {
      return milliseconds;
    }
  }
  const retryAfter = response.headers.get("Retry-After")?.trim();
  if (!retryAfter) {
    return undefined;
  }
  if (!Number.isNaN(Number(retryAfter))) {
    // A number, valid or not: never reinterpret it as a date ("-1" parses as the year -1).
    const seconds = parseNonNegativeNumber(retryAfter);
    return seconds === undefined ? undefined : seconds * 1000;
  }
  const date = Date.parse(retryAfter);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

function parseNonNegativeNumber(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === "") {
    return undefined;
  }
  const number = Number(value);
  return Number.isFinite(number) && number >= 0 ? number : undefined;
}

/**
 * The exponential backoff delay before a retry: `retryDelayInMs × 2^retryCount` capped at
 * `maxRetryDelayInMs`, plus up to 20 % jitter (still capped) so that many clients throttled together
 * do not come back together. With the defaults: about 1, 2, 4, 8, 16 s, as Key Vault advises.
 *
 * @param retryCount - Retries so far (0 before the first retry).
 * @param options - `retryDelayInMs` (default 1000) and `maxRetryDelayInMs` (default 64000).
 * @param random - A source of numbers in [0, 1); injectable for tests.
 * @returns The delay in milliseconds.
 * @internal
 */
export function backoffDelayInMs(
  retryCount: number,
  options: PipelineRetryOptions = {},
  random: () => number = Math.random,
): number {
  const base = Math.max(0, options.retryDelayInMs ?? defaultRetryDelayInMs);
  const max = Math.max(0, options.maxRetryDelayInMs ?? defaultMaxRetryDelayInMs);
  const exponential = Math.min(max, base * Math.pow(2, Math.max(0, retryCount)));
  return Math.min(max, Math.round(exponential * (1 + 0.2 * random())));
}

/**
 * Retries a 429 or 503 that says when to come back (`Retry-After` in seconds or as an HTTP date,
 * `retry-after-ms`, `x-ms-retry-after-ms`), after exactly that wait.
 *
 * @param maxRetries - Retries this strategy allows (retries of any kind so far count).
 * @returns The strategy.
 * @internal
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
 * @param maxRetries - Retries this strategy allows (retries of any kind so far count).
 * @returns The strategy.
 * @internal
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

function isTransientStatus(status: number): boolean {
  // 501 Not Implemented and 505 HTTP Version Not Supported will not change on a retry.
  return status === 408 || (status >= 500 && status !== 501 && status !== 505);
}

/**
 * Retries network failures (a `RestError` with a connection error code such as `ECONNRESET` or
 * `REQUEST_SEND_ERROR`) and 408/5xx responses (except 501 and 505) with exponential backoff.
 *
 * @param options - The base delay and its cap.
 * @param maxRetries - Retries this strategy allows (retries of any kind so far count).
 * @returns The strategy.
 * @internal
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
