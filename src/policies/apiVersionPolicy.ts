import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import { apiVersionQueryParameter } from "../api/wireTypes.js";

/** The name of the policy that gives every request an api-version. */
export const apiVersionPolicyName = "keyVaultApiVersionPolicy";

/**
 * Adds `api-version` to requests that do not carry one (the service has no default). Requests the
 * client builds already have it; this is for raw requests sent with `SecretClient.sendRequest`.
 *
 * @param apiVersion - The api-version of the client.
 * @returns The policy.
 */
export function apiVersionPolicy(apiVersion: string): PipelinePolicy {
  const marker = `${apiVersionQueryParameter}=`;
  return {
    name: apiVersionPolicyName,
    sendRequest(request, next) {
      // A plain substring test keeps the common case (already set) free of URL parsing.
      if (!request.url.includes(marker)) {
        const url = new URL(request.url);
        url.searchParams.set(apiVersionQueryParameter, apiVersion);
        request.url = url.toString();
      }
      return next(request);
    },
  };
}
