/**
 * Core's redirect policy, entered only on a 3xx. Core assumption: it passes any other answer on
 * as it is, and asks `next` for its first attempt (replayFirst.ts).
 */
import {
  redirectPolicy as coreRedirectPolicy,
  redirectPolicyName,
  type PipelinePolicy,
  type RedirectPolicyOptions,
} from "@azure/core-rest-pipeline";
import { replayFirst } from "./replayFirst.js";

/**
 * Core's redirect policy (same name, same rules), entered only for a 3xx answer: core's is an
 * async step on every request, and Key Vault answers nearly every request with a 2xx or 4xx.
 * A 3xx is handed to core's policy as the answer to its own first attempt.
 *
 * @param options - As core's: `maxRetries` (default 20) and `allowCrossOriginRedirects`.
 * @returns The policy, named as core's.
 */
export function redirectPolicy(options?: RedirectPolicyOptions): PipelinePolicy {
  const core = coreRedirectPolicy(options);
  return {
    name: redirectPolicyName,
    sendRequest(request, next) {
      return next(request).then((response) =>
        response.status >= 300 && response.status < 400
          ? core.sendRequest(request, replayFirst({ response }, next))
          : response,
      );
    },
  };
}
