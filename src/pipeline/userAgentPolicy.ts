/**
 * Core's user agent policy, without its wait on every request. Core assumptions: its value does
 * not depend on the request (so it is computed once, by running core's policy on a scratch
 * request), and a request's own User-Agent is kept.
 */
import {
  createHttpHeaders,
  createPipelineRequest,
  userAgentPolicy as coreUserAgentPolicy,
  userAgentPolicyName,
  type PipelinePolicy,
} from "@azure/core-rest-pipeline";

/** The User-Agent value core's policy sends for a prefix, and once known, the value itself. */
export interface UserAgent {
  /** The value, once computed. */
  value: string | undefined;
  /** Resolves to the value. */
  ready: Promise<string>;
}

/**
 * The User-Agent core's own policy would send (`<prefix> core-rest-pipeline/<v> Node/<v> OS/(...)`):
 * computed once, by running core's policy on a scratch request.
 *
 * @param userAgentPrefix - The prefix (the caller's, then ours).
 * @returns The value, and a promise of it.
 */
export function computeUserAgent(userAgentPrefix: string | undefined): UserAgent {
  const userAgent: UserAgent = { value: undefined, ready: Promise.resolve("") };
  userAgent.ready = coreUserAgentPolicy({ userAgentPrefix })
    .sendRequest(createPipelineRequest({ url: "https://localhost" }), (request) =>
      Promise.resolve({ request, status: 0, headers: createHttpHeaders() }),
    )
    .then((response) => {
      userAgent.value = response.request.headers.get("user-agent") ?? "";
      return userAgent.value;
    });
  return userAgent;
}

/**
 * Core's user agent policy (same name, same header, same value), without its wait on every
 * request: once the value is known it is set at once.
 *
 * @param userAgent - The value, from {@link computeUserAgent}.
 * @returns The policy, named as core's.
 */
export function userAgentPolicy(userAgent: UserAgent): PipelinePolicy {
  return {
    name: userAgentPolicyName,
    sendRequest(request, next) {
      if (request.headers.has("User-Agent")) return next(request);
      if (userAgent.value === undefined) {
        return userAgent.ready.then((value) => {
          request.headers.set("User-Agent", value);
          return next(request);
        });
      }
      request.headers.set("User-Agent", userAgent.value);
      return next(request);
    },
  };
}
