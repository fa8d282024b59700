/**
 * The token cache of one challenge authentication policy: a valid token reused, refreshed early,
 * one getToken call shared by concurrent requests, a token whose refresh failed used until it
 * expires, and the local vault's hint on a credential that failed for a vault on this machine.
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/core-auth";
import type { PipelineRequest } from "@azure/core-rest-pipeline";
import { logger } from "../log.js";
import type { ChallengeState } from "./challengeCache.js";
import { withLocalVaultCredentialHint } from "./localVaultCredentialHint.js";

// Refresh a token this long before it expires, so that it does not expire in flight.
const refreshMarginInMs = 2 * 60 * 1000;

export interface TokenRequestOptions {
  /** Decoded claims of a continuous access evaluation challenge. */
  claims?: string;
  /** Ask the credential even when a cached token is still valid (the vault rejected it). */
  forceRefresh?: boolean;
}

export type GetAccessToken = ((
  state: ChallengeState,
  request: PipelineRequest,
  options?: TokenRequestOptions,
) => Promise<AccessToken>) & {
  /** The cached token for `state` when it needs no refresh: no promise, no wait. */
  cached(state: ChallengeState): AccessToken | undefined;
};

// A token cache for one policy instance: reuses a valid token, refreshes it early, and shares one
// in-flight getToken call between concurrent requests. A credential's failure to sign in to a
// vault on this machine gets the hint of how to point it at the local vault.
export function createTokenCache(
  credential: TokenCredential,
  vaultOrigin: URL,
  policyName: string,
): GetAccessToken {
  let cached: { key: string; token: AccessToken } | undefined;
  let pending: { key: string; promise: Promise<AccessToken> } | undefined;

  const fetchToken = async (
    key: string,
    state: ChallengeState,
    request: PipelineRequest,
    claims: string | undefined,
  ): Promise<AccessToken> => {
    const getTokenOptions: GetTokenOptions = {
      enableCae: true,
      abortSignal: request.abortSignal,
      tracingOptions: request.tracingOptions,
    };
    if (state.tenantId !== undefined) {
      getTokenOptions.tenantId = state.tenantId;
    }
    if (claims !== undefined) {
      getTokenOptions.claims = claims;
    }
    let token: AccessToken | null;
    try {
      token = await credential.getToken(state.scope, getTokenOptions);
    } catch (error) {
      throw withLocalVaultCredentialHint(error, vaultOrigin);
    }
    if (token === null || token === undefined || typeof token.token !== "string" || !token.token) {
      throw new Error(
        `The credential returned no access token for scope "${state.scope}". Check that it can sign in and has access to the vault's tenant.`,
      );
    }
    cached = { key, token };
    return token;
  };

  const cachedToken = (state: ChallengeState): AccessToken | undefined => {
    const current = cached;
    if (current === undefined || current.key !== keyOf(state)) return undefined;
    return needsRefresh(current.token, Date.now()) ? undefined : current.token;
  };

  const getAccessToken = async (
    state: ChallengeState,
    request: PipelineRequest,
    options: TokenRequestOptions = {},
  ): Promise<AccessToken> => {
    const key = keyOf(state);
    if (options.claims !== undefined || options.forceRefresh === true) {
      // A rejected token must not be handed to concurrent requests while the new one is fetched.
      if (cached?.key === key) {
        cached = undefined;
      }
      return fetchToken(key, state, request, options.claims);
    }
    const fresh = cachedToken(state);
    if (fresh !== undefined) return fresh;
    // The token due for a refresh: used if the refresh fails and it has not expired yet.
    const current = cached?.key === key ? cached.token : undefined;
    let inFlight = pending;
    if (inFlight === undefined || inFlight.key !== key) {
      const promise = fetchToken(key, state, request, undefined).finally(() => {
        if (pending?.promise === promise) {
          pending = undefined;
        }
      });
      inFlight = { key, promise };
      pending = inFlight;
    }
    try {
      return await inFlight.promise;
    } catch (error) {
      if (current !== undefined && Date.now() < current.expiresOnTimestamp) {
        logger.warning(
          `${policyName}: token refresh failed; using the current token until it expires.`,
        );
        return current;
      }
      throw error;
    }
  };
  return Object.assign(getAccessToken, { cached: cachedToken });
}

function keyOf(state: ChallengeState): string {
  return `${state.tenantId ?? ""}\n${state.scope}`;
}

function needsRefresh(token: AccessToken, now: number): boolean {
  if (token.refreshAfterTimestamp !== undefined && now >= token.refreshAfterTimestamp) {
    return true;
  }
  return now >= token.expiresOnTimestamp - refreshMarginInMs;
}
