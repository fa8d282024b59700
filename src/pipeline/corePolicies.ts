/**
 * Core's policies that have nothing to do on most Key Vault requests, entered only when they do:
 * each of core's is an async step (a promise and a wait) on every request. Mirrors core's proxy
 * policy (the environment variables it reads its default proxy from), its abort-signal policy
 * (nothing to do without a signal) and its request id policy (the header it sets); and names the
 * two policies core adds without exporting their names.
 */
import {
  setClientRequestIdPolicyName,
  type PipelinePolicy,
  type PipelineRequest,
} from "@azure/core-rest-pipeline";

/** The name of core's default retry policy, which core does not export. */
export const defaultRetryPolicyName = "defaultRetryPolicy";

/** The name of core's policy that wraps an abort signal like, which core does not export. */
export const wrapAbortSignalLikePolicyName = "wrapAbortSignalLikePolicy";

/**
 * `policy` (same name), entered only for requests that `needed` says it has work on; the others
 * go straight on.
 *
 * @param policy - One of core's policies.
 * @param needed - Whether the policy has anything to do on a request.
 * @returns The policy.
 */
export function onlyWhen(
  policy: PipelinePolicy,
  needed: (request: PipelineRequest) => boolean,
): PipelinePolicy {
  return {
    name: policy.name,
    sendRequest: (request, next) =>
      needed(request) ? policy.sendRequest(request, next) : next(request),
  };
}

/**
 * The environment variables core's proxy policy reads its default proxy from (each also in lower
 * case).
 */
export const proxyVariables = ["HTTPS_PROXY", "ALL_PROXY", "HTTP_PROXY"];

/**
 * Whether core's proxy policy, created now, has a proxy for requests without `proxySettings`:
 * one given in the options, or one in the environment (read once, when the policy is created,
 * as core does).
 *
 * @param proxyOptions - The client's `proxyOptions`.
 * @returns true when a proxy is set.
 */
export function hasDefaultProxy(proxyOptions: unknown): boolean {
  if (proxyOptions !== undefined) return true;
  return proxyVariables.some(
    (name) => Boolean(process.env[name]) || Boolean(process.env[name.toLowerCase()]),
  );
}

/**
 * Core's request id policy (same name, same header), without the async step: the request's id
 * goes into the header unless the request has one already.
 *
 * @param headerName - The header (default `x-ms-client-request-id`).
 * @returns The policy, named as core's.
 */
export function requestIdPolicy(headerName = "x-ms-client-request-id"): PipelinePolicy {
  return {
    name: setClientRequestIdPolicyName,
    sendRequest(request, next) {
      if (!request.headers.has(headerName)) request.headers.set(headerName, request.requestId);
      return next(request);
    },
  };
}
