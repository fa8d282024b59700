/**
 * When to retry and how long to wait: shared by the client's retry policy, the challenge policy
 * and SecretCache's shared backoff.
 */
import type { PipelineResponse, PipelineRetryOptions } from "@azure/core-rest-pipeline";

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
 * Whether an answer with this status may change on a retry: 408, 429 and 5xx, except 501 Not
 * Implemented and 505 HTTP Version Not Supported.
 *
 * @returns True when the request may be sent again.
 */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}
