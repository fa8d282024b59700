import {
  type PipelinePolicy,
  type PipelineRetryOptions,
  retryPolicy,
} from "@azure/core-rest-pipeline";
import type { AzureLogger } from "@azure/logger";
import { logger } from "../log.js";
import {
  retryAfterStrategy,
  throttledBackoffStrategy,
  transientFailureStrategy,
} from "./retryStrategies.js";

/**
 * The name of the Key Vault retry policy in a pipeline.
 */
export const keyVaultRetryPolicyName = "keyVaultRetryPolicy";

/** What core's retry loop writes when it actually retries or gives up: worth an `info` line. */
const retryEvent = /retries after|redirects to|Maximum retries/;

/**
 * Core's retry loop writes five `info` lines for every request, retried or not ("Attempting to
 * send", "Processing 3 retry strategies", "Skipped", ...). Those go to `verbose`; a retry (its
 * wait or redirect) and giving up stay at `info`, errors and warnings where they were.
 */
const retryLogger: AzureLogger = {
  ...logger,
  info: Object.assign(
    (message: unknown, ...args: unknown[]): void => {
      const target =
        typeof message === "string" && retryEvent.test(message) ? logger.info : logger.verbose;
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

// Core's default: 3 retries, 4 attempts in all.
const defaultMaxRetries = 3;

/**
 * Creates the retry policy for Key Vault. It replaces core's default retry policy because Key Vault
 * throttles with 429 responses that do not always carry `Retry-After`, which core gives straight
 * back. In order, it:
 * 1. honours `Retry-After` (seconds or HTTP date), `retry-after-ms` and `x-ms-retry-after-ms` on
 *    429 and 503;
 * 2. retries any other 429 with exponential backoff from `retryDelayInMs` (about 1, 2, 4, 8, 16 s by
 *    default, as the service advises, with a little jitter), capped at `maxRetryDelayInMs`;
 * 3. retries network errors and 408/5xx (except 501 and 505) with the same backoff.
 *
 * Waits end early when the request's abort signal fires. After `maxRetries` the last response is
 * returned or the last error thrown.
 *
 * @param options - `maxRetries` (default 3), `retryDelayInMs` (default 1000) and
 *   `maxRetryDelayInMs` (default 64000).
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
  const maxRetries = options.maxRetries ?? defaultMaxRetries;
  if (!Number.isInteger(maxRetries) || maxRetries < 0) {
    throw new RangeError(`maxRetries must be a whole number of 0 or more; got ${maxRetries}.`);
  }
  const policy = retryPolicy(
    [retryAfterStrategy(), throttledBackoffStrategy(options), transientFailureStrategy(options)],
    { maxRetries, logger: retryLogger },
  );
  return {
    name: keyVaultRetryPolicyName,
    sendRequest: (request, next) => policy.sendRequest(request, next),
  };
}
