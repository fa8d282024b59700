/**
 * Hands an answer already received to one of core's policies (retry, redirect) as the answer to
 * its own first attempt. Core assumption: those policies send their first attempt through `next`,
 * once, and treat its answer or error as they would one they sent.
 */
import type { PipelineResponse, SendRequest } from "@azure/core-rest-pipeline";

/** The outcome of an attempt: its response, or what it threw. */
export type AttemptOutcome = { response: PipelineResponse } | { error: unknown };

/**
 * A `next` whose first call gives back an attempt already made, and whose later calls send: for
 * handing an answer to one of core's policies as if it had sent the request itself.
 *
 * @param first - The outcome of the attempt already made.
 * @param next - Sends the later attempts.
 * @returns The `next` to give core's policy.
 */
export function replayFirst(first: AttemptOutcome, next: SendRequest): SendRequest {
  let replayed = false;
  return (request) => {
    if (replayed) return next(request);
    replayed = true;
    return "response" in first ? Promise.resolve(first.response) : Promise.reject(first.error);
  };
}
