import type { PipelinePolicy } from "@azure/core-rest-pipeline";

/** The name of the policy that keeps unusable redirects away from core's redirect policy. */
export const redirectLocationPolicyName = "keyVaultRedirectLocationPolicy";

/**
 * Key Vault does not redirect, but a proxy or a hostile server may. Core's redirect policy throws
 * an unrelated `TypeError: Invalid URL` on a `Location` it cannot parse; this policy, placed just
 * inside it, removes such a header so the 3xx reaches the caller as a service error instead.
 *
 * @returns The policy.
 */
export function redirectLocationPolicy(): PipelinePolicy {
  return {
    name: redirectLocationPolicyName,
    // Not async: one `then` on the way back, no promise of its own on the way out.
    sendRequest(request, next) {
      return next(request).then((response) => {
        if (response.status < 300 || response.status >= 400) return response;
        const location = response.headers.get("location");
        if (location !== undefined) {
          try {
            new URL(location, request.url);
          } catch {
            response.headers.delete("location");
          }
        }
        return response;
      });
    },
  };
}
