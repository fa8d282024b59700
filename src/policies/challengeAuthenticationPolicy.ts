import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/core-auth";
import type {
  PipelinePolicy,
  PipelineRequest,
  PipelineResponse,
  SendRequest,
} from "@azure/core-rest-pipeline";
import { logger } from "../log.js";
import { isLoopbackHost } from "../loopbackHost.js";
import { isTransientStatus } from "../util/retry.js";
import { type ChallengeState, getCachedChallenge, setCachedChallenge } from "./challengeCache.js";
import { withLocalVaultCredentialHint } from "./localVaultCredentialHint.js";
import { type BearerChallenge, decodeClaims, parseBearerChallenge } from "./wwwAuthenticate.js";

/**
 * The name of the Key Vault challenge authentication policy in a pipeline.
 */
export const challengeAuthenticationPolicyName = "keyVaultChallengeAuthenticationPolicy";

/**
 * Options for {@link challengeAuthenticationPolicy}.
 */
export interface ChallengeAuthenticationPolicyOptions {
  /** The credential that issues tokens for the scope the vault names in its challenge. */
  credential: TokenCredential;
  /** The client's vault URL; tokens are only ever sent to this origin. */
  vaultUrl: string;
  /**
   * Skip the dot-suffix resource check (local vault, private clouds).
   * @default false
   */
  disableChallengeResourceVerification?: boolean;
}

// Refresh a token this long before it expires, so that it does not expire in flight.
const refreshMarginInMs = 2 * 60 * 1000;

// Methods whose body is held back until the vault has said which token it wants: the body may be
// a secret value, and the first request goes out before we know the vault is the vault.
const bodyWithheldMethods = new Set(["PUT", "POST", "PATCH"]);

interface TokenRequestOptions {
  /** Decoded claims of a continuous access evaluation challenge. */
  claims?: string;
  /** Ask the credential even when a cached token is still valid (the vault rejected it). */
  forceRefresh?: boolean;
}

type GetAccessToken = ((
  state: ChallengeState,
  request: PipelineRequest,
  options?: TokenRequestOptions,
) => Promise<AccessToken>) & {
  /** The cached token for `state` when it needs no refresh: no promise, no wait. */
  cached(state: ChallengeState): AccessToken | undefined;
};

/**
 * Creates the policy that authenticates requests to a Key Vault the way the service asks to:
 * the first request to a vault goes out without a token (and without its body), the 401
 * challenge names the token scope and tenant, and the request is then sent with a bearer token.
 * Challenges are remembered per vault for the whole process; tokens per policy instance.
 * Continuous access evaluation (claims) challenges are answered once.
 *
 * Add it with `{ phase: "Sign" }`, so that it runs on every retry and every redirect hop.
 *
 * @param options - The credential, the vault URL and whether to verify the challenge resource.
 * @returns A pipeline policy named {@link challengeAuthenticationPolicyName}.
 * @example
 * ```ts
 * import { createEmptyPipeline } from "@azure/core-rest-pipeline";
 * import { DefaultAzureCredential } from "@azure/identity";
 *
 * const pipeline = createEmptyPipeline();
 * pipeline.addPolicy(
 *   challengeAuthenticationPolicy({
 *     credential: new DefaultAzureCredential(),
 *     vaultUrl: "https://myvault.vault.azure.net",
 *   }),
 *   { phase: "Sign" },
 * );
 * ```
 */
export function challengeAuthenticationPolicy(
  options: ChallengeAuthenticationPolicyOptions,
): PipelinePolicy {
  const { credential, vaultUrl } = options ?? ({} as ChallengeAuthenticationPolicyOptions);
  if (
    credential === undefined ||
    credential === null ||
    typeof credential.getToken !== "function"
  ) {
    throw new TypeError(
      "challengeAuthenticationPolicy needs a TokenCredential, e.g. new DefaultAzureCredential() from @azure/identity.",
    );
  }
  const vaultOrigin = parseUrl(vaultUrl)?.origin;
  if (vaultOrigin === undefined || vaultOrigin === "null") {
    throw new TypeError(
      `The vault URL must be an absolute URL such as "https://myvault.vault.azure.net"; got ${JSON.stringify(vaultUrl)}.`,
    );
  }
  // Requests the client builds start with the vault origin: they need no URL parsing per request.
  const vaultPrefix = `${vaultOrigin}/`;
  const vaultOriginUrl = new URL(vaultOrigin);
  // Only requests to the vault origin carry a token, so whether the transport may carry one is
  // decided once, here; it is thrown on the first such request.
  const refusal = transportRefusal(vaultOriginUrl);
  const verifyResource = options.disableChallengeResourceVerification !== true;
  const getAccessToken = createTokenCache(credential, vaultOriginUrl);
  // The last cached challenge this policy verified: the check depends only on the challenge and
  // the vault host, so each cached entry is verified once, not on every request.
  let verifiedState: ChallengeState | undefined;

  const stateFromChallenge = (
    challenge: BearerChallenge,
    requestUrl: URL,
  ): ChallengeState | undefined => {
    const scope = nonEmpty(challenge.scope) ?? scopeFromResource(nonEmpty(challenge.resource));
    // Key Vault names its resource by URL; anything else is a malformed challenge, not a vault to trust.
    if (scope === undefined || parseUrl(scope) === undefined) {
      return undefined;
    }
    const resource = nonEmpty(challenge.resource);
    if (resource !== undefined && parseUrl(resource) === undefined) {
      return undefined;
    }
    if (verifyResource) {
      verifyChallengeHost(scope, requestUrl, "scope");
      if (resource !== undefined) {
        verifyChallengeHost(resource, requestUrl, "resource");
      }
    }
    const tenantId = tenantFromAuthority(challenge.authorization ?? challenge.authorizationUri);
    return tenantId === undefined ? { scope } : { scope, tenantId };
  };

  // Sends the request without a token to learn what the vault wants. Returns either the state to
  // authenticate with, or the response to give back to the caller.
  const discoverChallenge = async (
    request: PipelineRequest,
    next: SendRequest,
    requestUrl: URL,
  ): Promise<{ state: ChallengeState } | { response: PipelineResponse }> => {
    request.headers.delete("Authorization");
    const body = request.body;
    const withholdBody = bodyWithheldMethods.has(request.method.toUpperCase()) && body != null;
    let response: PipelineResponse;
    if (withholdBody) {
      request.body = undefined;
      // A length left by an earlier attempt would announce a body that is not sent.
      request.headers.delete("Content-Length");
      try {
        response = await next(request);
      } finally {
        // Restored whatever happens: the retry policy outside re-sends this same request object.
        request.body = body;
        request.headers.delete("Content-Length");
      }
    } else {
      response = await next(request);
    }

    if (response.status !== 401) {
      // A throttled or failing vault has not said whether it wants a token: the retry policy sends
      // this request again, still without its body until the vault challenges.
      if (!withholdBody || isTransientStatus(response.status)) {
        return { response };
      }
      // The vault did not ask for a token (a local vault without authentication), but it answered
      // a request without its body: send the real one, and take a challenge if it brings one.
      response = await next(request);
      if (response.status !== 401) {
        return { response };
      }
    }
    const challenge = parseBearerChallenge(response.headers.get("WWW-Authenticate"));
    const state = challenge === undefined ? undefined : stateFromChallenge(challenge, requestUrl);
    if (state === undefined) {
      logger.warning(
        `${challengeAuthenticationPolicyName}: 401 from ${requestUrl.host} without a usable Bearer challenge; returning it.`,
      );
      return { response };
    }
    setCachedChallenge(vaultOrigin, state);
    logger.info(
      `${challengeAuthenticationPolicyName}: ${requestUrl.host} asked for scope ${state.scope}` +
        (state.tenantId === undefined ? "." : ` in tenant ${state.tenantId}.`),
    );
    return { state };
  };

  const sendAuthorized = async (
    request: PipelineRequest,
    next: SendRequest,
    requestUrl: URL,
    initialState: ChallengeState,
    answered?: PipelineResponse,
  ): Promise<PipelineResponse> => {
    let state = initialState;
    // `answered`: the 401 to a request already sent with the cached token.
    let token = answered === undefined ? await getAccessToken(state, request) : undefined;
    let claimsChallengeAnswered = false;
    let challengeAnswered = false;
    for (;;) {
      let response: PipelineResponse;
      if (token === undefined) {
        response = answered!;
      } else {
        request.headers.set("Authorization", `Bearer ${token.token}`);
        response = await next(request);
      }
      if (response.status !== 401) {
        return response;
      }
      const challenge = parseBearerChallenge(response.headers.get("WWW-Authenticate"));
      if (challenge === undefined) {
        return response;
      }
      if (challenge.error === "insufficient_claims" && nonEmpty(challenge.claims) !== undefined) {
        if (claimsChallengeAnswered) {
          // Answering again would loop: the caller decides (e.g. the user must sign in again).
          logger.warning(
            `${challengeAuthenticationPolicyName}: second claims challenge in a row from ${requestUrl.host}; returning it.`,
          );
          return response;
        }
        claimsChallengeAnswered = true;
        const claims = decodeClaims(challenge.claims!);
        if (claims === undefined) {
          logger.warning(
            `${challengeAuthenticationPolicyName}: claims challenge from ${requestUrl.host} could not be decoded; returning it.`,
          );
          return response;
        }
        logger.info(
          `${challengeAuthenticationPolicyName}: claims challenge from ${requestUrl.host}; requesting a new token.`,
        );
        token = await getAccessToken(state, request, { claims });
        continue;
      }
      if (challengeAnswered) {
        return response;
      }
      challengeAnswered = true;
      // The token was rejected with a normal challenge: the vault may have moved tenant or
      // resource, or the token was revoked. Learn the challenge again and try once more.
      const newState = stateFromChallenge(challenge, requestUrl);
      if (newState === undefined) {
        return response;
      }
      setCachedChallenge(vaultOrigin, newState);
      state = newState;
      logger.info(
        `${challengeAuthenticationPolicyName}: token rejected by ${requestUrl.host}; requesting a new one for scope ${state.scope}.`,
      );
      token = await getAccessToken(state, request, { forceRefresh: true });
    }
  };

  return {
    name: challengeAuthenticationPolicyName,
    async sendRequest(request: PipelineRequest, next: SendRequest): Promise<PipelineResponse> {
      const requestUrl = request.url.startsWith(vaultPrefix)
        ? vaultOriginUrl
        : parseUrl(request.url);
      if (requestUrl === undefined || requestUrl.origin !== vaultOrigin) {
        // Never a token to another origin (a redirect, a nextLink naming another host): a previous
        // attempt on this same request object may have set one.
        request.headers.delete("Authorization");
        return next(request);
      }
      if (refusal !== undefined) throw refusal;
      let state = getCachedChallenge(vaultOrigin);
      if (state === undefined) {
        const discovered = await discoverChallenge(request, next, requestUrl);
        if ("response" in discovered) {
          return discovered.response;
        }
        state = discovered.state;
      } else if (verifyResource && state !== verifiedState) {
        // The cache is shared by every client in the process, including ones that turned the
        // check off; a client that wants it must not trust their entries blindly.
        verifyChallengeHost(state.scope, requestUrl, "scope");
        verifiedState = state;
      }
      // The common case: a cached token, one attempt, an answer other than 401.
      const token = getAccessToken.cached(state);
      if (token === undefined) return sendAuthorized(request, next, requestUrl, state);
      request.headers.set("Authorization", `Bearer ${token.token}`);
      const response = await next(request);
      if (response.status !== 401) return response;
      return sendAuthorized(request, next, requestUrl, state, response);
    },
  };
}

// A token cache for one policy instance: reuses a valid token, refreshes it early, and shares one
// in-flight getToken call between concurrent requests. A credential's failure to sign in to a
// vault on this machine gets the hint of how to point it at the local vault.
function createTokenCache(credential: TokenCredential, vaultOrigin: URL): GetAccessToken {
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
          `${challengeAuthenticationPolicyName}: token refresh failed; using the current token until it expires.`,
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

function parseUrl(value: unknown): URL | undefined {
  if (typeof value !== "string") {
    return undefined;
  }
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function scopeFromResource(resource: string | undefined): string | undefined {
  if (resource === undefined) {
    return undefined;
  }
  if (resource.endsWith("/.default")) {
    return resource;
  }
  return `${resource.replace(/\/+$/, "")}/.default`;
}

// The tenant is the first path segment of the authority URL (`https://login.windows.net/{tenant}`).
function tenantFromAuthority(authority: string | undefined): string | undefined {
  const url = parseUrl(authority);
  const segment = url?.pathname.split("/").find((part) => part !== "");
  // Only plausible tenant names (GUIDs, domain names, "common"/"organizations") go to the credential.
  return segment !== undefined && /^[0-9A-Za-z][0-9A-Za-z.-]*$/.test(segment) ? segment : undefined;
}

/**
 * The `code` of the error thrown when the challenge's resource does not match the vault host (the
 * token is not requested). Not exported: callers test for the string itself, which is documented
 * (and so stable) on `SecretClientOptions.disableChallengeResourceVerification` and in the README's
 * troubleshooting.
 *
 * @internal
 */
export const challengeResourceMismatchCode = "ChallengeResourceMismatch";

// Key Vault names its resource in the challenge; a host that is not a subdomain of that resource is
// not the vault it claims to be, and must not receive a token for the resource.
function verifyChallengeHost(value: string, requestUrl: URL, kind: "scope" | "resource"): void {
  const challengeHost = parseUrl(value)?.hostname.toLowerCase();
  const requestHost = requestUrl.hostname.toLowerCase();
  if (challengeHost && requestHost.endsWith(`.${challengeHost}`)) {
    return;
  }
  throw Object.assign(
    new Error(
      `The challenge resource${kind === "scope" ? " (scope)" : ""} "${value}" and the vault host "${requestHost}" do not match: the vault host must end with ` +
        `".${challengeHost || "<resource host>"}". If this is the local vault or a private cloud, set ` +
        "disableChallengeResourceVerification: true in SecretClientOptions to turn this check off.",
    ),
    { code: challengeResourceMismatchCode },
  );
}

function transportRefusal(url: URL): Error | undefined {
  if (url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(url.hostname))) {
    return undefined;
  }
  return new Error(
    `Refusing to send a Key Vault token to ${url.host} over ${url.protocol.replace(/:$/, "")}: tokens are only sent ` +
      "over https, or over http to a loopback host (localhost, 127.0.0.0/8, ::1) such as the local vault. Use an https vault URL.",
  );
}
