/**
 * The retry policy: Key Vault's strategies (policies/retryStrategies.ts) in core's retry loop
 * (`retryPolicy`), in place of core's `defaultRetryPolicy`. Core assumptions: the loop sends every
 * attempt through `next`, the first one included (replayFirst.ts hands it an answer already
 * received), and the words of its `info` lines (`retryEvent`) tell its retries and its giving up
 * from the lines it writes for every request.
 */
import {
  type PipelinePolicy,
  type PipelineRequest,
  type PipelineRetryOptions,
  type RetryStrategy,
  retryPolicy,
} from "@azure/core-rest-pipeline";
import type { AzureLogger } from "@azure/logger";
import { logger } from "../log.js";
import { isTransientStatus } from "../util/retry.js";
import { asksForThrottlingHandOff } from "../util/throttlingHandOff.js";
import { replayFirst, type AttemptOutcome } from "./replayFirst.js";
import { explainConnectionFailure } from "../policies/connectionErrors.js";
import {
  retryAfterStrategy,
  throttledBackoffStrategy,
  transientFailureStrategy,
} from "../policies/retryStrategies.js";

/**
 * The name of the Key Vault retry policy in a pipeline.
 */
export const keyVaultRetryPolicyName = "keyVaultRetryPolicy";

/** What core's retry loop writes when it actually retries or gives up: worth an `info` line. */
const retryEvent = /retries after|redirects to|Maximum retries/;

/**
 * Whether a line of core's retry loop tells of a retry (its wait or redirect) or of giving up,
 * rather than of an attempt like every other.
 *
 * @param message - The first argument of the loop's `logger.info` call.
 * @returns true for a retry or giving up.
 */
export function isRetryEvent(message: unknown): boolean {
  return typeof message === "string" && retryEvent.test(message);
}

/**
 * Core's retry loop writes five `info` lines for every request, retried or not ("Attempting to
 * send", "Processing 3 retry strategies", "Skipped", ...). Those go to `verbose`; a retry (its
 * wait or redirect) and giving up stay at `info`, errors and warnings where they were.
 */
const retryLogger: AzureLogger = {
  ...logger,
  info: Object.assign(
    (message: unknown, ...args: unknown[]): void => {
      const target = isRetryEvent(message) ? logger.info : logger.verbose;
      target(message, ...args);
    },
    {
      get enabled() {
        return logger.info.enabled || logger.verbose.enabled;
      },
      namespace: logger.info.namespace,
      destroy: () => false,
      log: (...args: unknown[]) => logger.info.log(...args),
      extend: (namespace: string) => logger.info.extend(namespace),
    },
  ),
};

// Network failures and 5xx: core's default of 3 retries (about 1, 2, 4 s). Throttling (a 429, or a
// 503 that says when to come back): 5 retries, Key Vault's advice of 1, 2, 4, 8, 16 s.
const defaultMaxRetries = 3;
const defaultMaxThrottledRetries = 5;

/** `strategy`, except that it leaves 429s alone. */
function notOnThrottled(strategy: RetryStrategy): RetryStrategy {
  return {
    name: strategy.name,
    retry: (state) =>
      state.response?.status === 429 ? { skipStrategy: true } : strategy.retry(state),
  };
}

/**
 * Creates the retry policy for Key Vault. It replaces core's default retry policy because Key Vault
 * throttles with 429 responses that do not always carry `Retry-After`, which core gives straight
 * back. In order, it:
 * 1. honours `Retry-After` (seconds or HTTP date), `retry-after-ms` and `x-ms-retry-after-ms` on
 *    429 and 503;
 * 2. retries any other 429 with exponential backoff from `retryDelayInMs`: about 1, 2, 4, 8 and
 *    16 s by default, as the service advises, with up to 20 % jitter, capped at
 *    `maxRetryDelayInMs`;
 * 3. retries network errors and 408/5xx (except 501 and 505) with the same backoff.
 *
 * Without `maxRetries`, throttled requests (1 and 2) are retried up to 5 times and failures (3) up to
 * 3 times; `maxRetries` sets both. After the last retry the last response is returned or the last
 * error thrown; a connection failure's message then says what went wrong and what to do
 * (policies/connectionErrors.ts), e.g. that nothing listens at a loopback URL (the local vault on
 * the wrong port), and how long it was retried. Each retry is logged
 * at `info` level (`AZURE_LOG_LEVEL=info`). Waits end early when the request's abort signal fires,
 * and the `AbortError` then carries the signal's `reason` as `cause`.
 *
 * @param options - `maxRetries` (default 5 for throttling, 3 for failures), `retryDelayInMs`
 *   (default 1000) and `maxRetryDelayInMs` (default 64000).
 * @returns A pipeline policy named {@link keyVaultRetryPolicyName}.
 * @example
 * ```ts
 * import { createPipelineFromOptions } from "@azure/core-rest-pipeline";
 *
 * const pipeline = createPipelineFromOptions({});
 * pipeline.removePolicy({ name: "defaultRetryPolicy" });
 * pipeline.addPolicy(keyVaultRetryPolicy({ maxRetries: 5 }), { phase: "Retry" });
 * ```
 */
export function keyVaultRetryPolicy(options: PipelineRetryOptions = {}): PipelinePolicy {
  const maxRetries = options.maxRetries;
  if (maxRetries !== undefined && (!Number.isInteger(maxRetries) || maxRetries < 0)) {
    throw new RangeError(`maxRetries must be a whole number of 0 or more; got ${maxRetries}.`);
  }
  const maxThrottledRetries = maxRetries ?? defaultMaxThrottledRetries;
  const maxFailureRetries = maxRetries ?? defaultMaxRetries;
  const strategies = [
    retryAfterStrategy(maxThrottledRetries),
    throttledBackoffStrategy(options, maxThrottledRetries),
    transientFailureStrategy(options, maxFailureRetries),
  ];
  const retryOptions = {
    maxRetries: Math.max(maxThrottledRetries, maxFailureRetries),
    logger: retryLogger,
  };
  const throttlingRetried = retryPolicy(strategies, retryOptions);
  // For requests that ask for the throttling hand-off (util/throttlingHandOff.ts): 429s go back to
  // the caller at once, every other failure is retried as usual.
  const throttlingPassedOn = retryPolicy(strategies.map(notOnThrottled), retryOptions);
  return {
    name: keyVaultRetryPolicyName,
    async sendRequest(request, next) {
      const started = Date.now();
      let attempts = 1;
      // The first attempt goes out here. An answer no strategy would retry (most of them) is
      // returned as it is, without core's retry loop and the nine log calls it makes per request.
      let first: AttemptOutcome;
      try {
        first = { response: await next(request) };
        if (!isTransientStatus(first.response.status) && request.abortSignal?.aborted !== true) {
          return first.response;
        }
      } catch (error) {
        first = { error };
      }
      // Everything else goes through core's loop, which is handed the first attempt's outcome
      // as if it had sent it itself: the same retries, waits and log lines as without this path.
      const policy = asksForThrottlingHandOff(request) ? throttlingPassedOn : throttlingRetried;
      try {
        return await policy.sendRequest(
          request,
          replayFirst(first, (attempt) => {
            attempts++;
            return next(attempt);
          }),
        );
      } catch (error) {
        keepAbortReason(error, request);
        // Only here, once the retries are over: the request that succeeds pays nothing for it.
        await explainConnectionFailure(error, request, {
          attempts,
          elapsedInMs: Date.now() - started,
        });
        throw error;
      }
    },
  };
}

// An abort from the caller's signal keeps the signal's reason (e.g. a TimeoutError), whichever
// layer noticed the abort first.
function keepAbortReason(error: unknown, request: PipelineRequest): void {
  const signal = request.abortSignal as { aborted: boolean; reason?: unknown } | undefined;
  if (
    error instanceof Error &&
    error.name === "AbortError" &&
    signal?.aborted === true &&
    error.cause === undefined &&
    signal.reason !== undefined
  ) {
    error.cause = signal.reason;
  }
}
