/**
 * The client's pipeline, assembled from core's (`createPipelineFromOptions`). Core assumptions
 * (test/unit/pipeline/coreAssumptions.spec.ts): core's policy names, the two it does not export
 * among them (corePolicies.ts); its order (proxy, abort signal, user agent, request id first;
 * retry, tracing, redirect after the Retry phase); `getOrderedPolicies()` handing out the same
 * array until a policy is added or removed (`composed`); `tlsPolicy` putting one settings object
 * on every request (the agents are keyed by it).
 */
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import type { TokenCredential } from "@azure/core-auth";
import {
  createDefaultHttpClient,
  createPipelineFromOptions,
  decompressResponsePolicyName,
  formDataPolicyName,
  logPolicyName,
  multipartPolicyName,
  redirectPolicyName,
  proxyPolicyName,
  setClientRequestIdPolicyName,
  userAgentPolicyName,
  type HttpClient,
  type Pipeline,
  type PipelinePolicy,
  type PipelineRequest,
  type PipelineResponse,
  type SendRequest,
  type TlsSettings,
} from "@azure/core-rest-pipeline";
import { packageName, packageVersion } from "../constants.js";
import { createKeyVaultHttpClient } from "./keyVaultHttpClient.js";
import { logger } from "../log.js";
import type { SecretClientOptions } from "../models.js";
import { apiVersionPolicy } from "../policies/apiVersionPolicy.js";
import {
  defaultRetryPolicyName,
  hasDefaultProxy,
  onlyWhen,
  requestIdPolicy,
  wrapAbortSignalLikePolicyName,
} from "./corePolicies.js";
import { challengeAuthenticationPolicy } from "../policies/challengeAuthenticationPolicy.js";
import { keyVaultRetryPolicy } from "./keyVaultRetryPolicy.js";
import { redirectLocationPolicy } from "../policies/redirectLocationPolicy.js";
import { redirectPolicy } from "./redirectPolicy.js";
import { tracingPolicy, tracingPolicyName } from "./tracingPolicy.js";
import { requestLogPolicy } from "./requestLogPolicy.js";
import { computeUserAgent, userAgentPolicy } from "./userAgentPolicy.js";

/** Headers of Key Vault responses that are safe to log. */
const loggedHeaderNames = [
  "x-ms-keyvault-region",
  "x-ms-keyvault-network-info",
  "x-ms-keyvault-service-version",
  "x-ms-keyvault-rbac-assignment-id",
  "x-ms-keyvault-rbac-cache",
];
const loggedQueryParameters = ["api-version", "maxresults", "outContentType"];

/** What the pipeline of one client is built from. */
export interface ClientPipelineSettings {
  /** The vault's origin, e.g. `https://myvault.vault.azure.net`. */
  vaultUrl: string;
  credential: TokenCredential;
  apiVersion: string;
  options: SecretClientOptions;
}

/** The pipeline of one client, the HTTP client it sends through, and the agents they use. */
export interface ClientPipeline {
  pipeline: Pipeline;
  httpClient: HttpClient;
  /**
   * Sends a request through the pipeline to the HTTP client, as `pipeline.sendRequest` does, with
   * the chain of policies composed once per list of policies (core composes it on every request).
   */
  send(request: PipelineRequest): Promise<PipelineResponse>;
  /**
   * Destroys the agents this pipeline created, closing their connections; new requests open new
   * ones. A caller's agent or HTTP client, and core's proxy agents, are not touched.
   */
  close(): void;
}

/**
 * Builds a client's pipeline: core's policies without the ones Key Vault does not need, ours in
 * their phases, and the HTTP client. It owns the agents of every connection it opens.
 *
 * @param settings - vault, credential, api-version and the client's options
 * @returns the pipeline, its HTTP client and `close`
 */
export function createClientPipeline(settings: ClientPipelineSettings): ClientPipeline {
  const { vaultUrl, credential, apiVersion, options } = settings;
  const loggingOptions = {
    ...options.loggingOptions,
    logger: options.loggingOptions?.logger ?? logger.info,
    additionalAllowedHeaderNames: [
      ...loggedHeaderNames,
      ...(options.loggingOptions?.additionalAllowedHeaderNames ?? []),
    ],
    additionalAllowedQueryParameters: [
      ...loggedQueryParameters,
      ...(options.loggingOptions?.additionalAllowedQueryParameters ?? []),
    ],
  };
  const userPrefix = options.userAgentOptions?.userAgentPrefix;
  const ourUserAgent = `${packageName}/${packageVersion}`;
  // No `agent` of ours goes into the pipeline options: core's proxy policy only sets its proxy
  // agent on a request that has none. Requests without one get an agent of ours at the transport.
  const pipeline = createPipelineFromOptions({
    ...options,
    userAgentOptions: {
      ...options.userAgentOptions,
      userAgentPrefix: userPrefix ? `${userPrefix} ${ourUserAgent}` : ourUserAgent,
    },
    loggingOptions,
  });
  // Core's user agent policy waits for its value on every request; ours sets the same value,
  // computed once, in the same place.
  const userAgent = computeUserAgent(userPrefix ? `${userPrefix} ${ourUserAgent}` : ourUserAgent);
  // Core's first four policies are async steps on every request, most of the time with nothing to
  // do; they are put back in core's order, each entered only when it has work (proxy, abort
  // signal) or replaced by a synchronous one that does the same (user agent, request id).
  const proxyConfigured = hasDefaultProxy(options.proxyOptions);
  const [proxy] = pipeline.removePolicy({ name: proxyPolicyName });
  const [wrapAbortSignal] = pipeline.removePolicy({ name: wrapAbortSignalLikePolicyName });
  pipeline.removePolicy({ name: userAgentPolicyName });
  pipeline.removePolicy({ name: setClientRequestIdPolicyName });
  if (proxy !== undefined) {
    pipeline.addPolicy(
      onlyWhen(proxy, (request) => proxyConfigured || request.proxySettings !== undefined),
    );
  }
  if (wrapAbortSignal !== undefined) {
    pipeline.addPolicy(onlyWhen(wrapAbortSignal, (request) => request.abortSignal !== undefined));
  }
  pipeline.addPolicy(userAgentPolicy(userAgent));
  pipeline.addPolicy(requestIdPolicy(options.telemetryOptions?.clientRequestIdHeaderName));
  // Core's log policy writes the whole request: TLS key and certificate, a proxy's agent and its
  // sockets. Ours logs what core's allows of it (sanitized), and nothing else.
  pipeline.removePolicy({ name: logPolicyName });
  pipeline.addPolicy(requestLogPolicy(loggingOptions), { afterPhase: "Sign" });
  // Core's default retry does not retry a 429 without Retry-After; Key Vault sends those.
  pipeline.removePolicy({ name: defaultRetryPolicyName });
  // Key Vault takes JSON only: two policies fewer on every request.
  pipeline.removePolicy({ name: formDataPolicyName });
  pipeline.removePolicy({ name: multipartPolicyName });
  // Key Vault answers uncompressed JSON; asking for gzip only costs a decoding stream.
  pipeline.removePolicy({ name: decompressResponsePolicyName });
  pipeline.addPolicy(keyVaultRetryPolicy(options.retryOptions), { phase: "Retry" });
  // Core's tracing policy parses the URL and awaits on every request, recorded or not; ours
  // records the same spans and costs nothing more when no span is recorded. Core's redirect policy
  // is replaced by ours (core's, entered only on a 3xx), after it, so that the order stays core's:
  // retry, tracing, redirect.
  pipeline.removePolicy({ name: tracingPolicyName });
  pipeline.removePolicy({ name: redirectPolicyName });
  pipeline.addPolicy(
    tracingPolicy({
      userAgent,
      additionalAllowedQueryParameters: [
        ...loggedQueryParameters,
        ...(options.loggingOptions?.additionalAllowedQueryParameters ?? []),
      ],
    }),
    { afterPhase: "Retry" },
  );
  pipeline.addPolicy(redirectPolicy(options.redirectOptions), { afterPhase: "Retry" });
  pipeline.addPolicy(
    challengeAuthenticationPolicy({
      credential,
      vaultUrl,
      disableChallengeResourceVerification: options.disableChallengeResourceVerification,
    }),
    { phase: "Sign" },
  );
  pipeline.addPolicy(apiVersionPolicy(apiVersion));
  // Just inside core's redirect policy, so that it sees each 3xx before core follows it.
  pipeline.addPolicy(redirectLocationPolicy(), {
    afterPhase: "Retry",
    afterPolicies: [redirectPolicyName],
  });
  for (const { policy, position } of options.additionalPolicies ?? []) {
    pipeline.addPolicy(policy, position === "perRetry" ? { afterPhase: "Sign" } : {});
  }

  if (options.httpClient !== undefined) {
    // The caller's transport owns its connections.
    const httpClient = options.httpClient;
    return { pipeline, httpClient, send: composed(pipeline, httpClient), close: () => {} };
  }
  const agents = new ClientAgents();
  // Our lean client for the JSON exchanges of Key Vault; core's for everything else.
  const httpClient = createKeyVaultHttpClient(createDefaultHttpClient(), (request) =>
    agents.agentFor(request),
  );
  return {
    pipeline,
    httpClient,
    send: composed(pipeline, httpClient),
    close: () => agents.destroy(),
  };
}

/**
 * `pipeline.sendRequest(httpClient, request)` with the chain of policies kept between requests:
 * it is composed again only when the pipeline's ordered policies change (core hands out the same
 * array until a policy is added or removed).
 */
function composed(
  pipeline: Pipeline,
  httpClient: HttpClient,
): (request: PipelineRequest) => Promise<PipelineResponse> {
  let policies: readonly PipelinePolicy[] | undefined;
  let chain: SendRequest = (request) => httpClient.sendRequest(request);
  return (request) => {
    const current = pipeline.getOrderedPolicies();
    if (current !== policies) {
      policies = current;
      chain = current.reduceRight<SendRequest>(
        (next, policy) => (sent) => policy.sendRequest(sent, next),
        (sent) => httpClient.sendRequest(sent),
      );
    }
    return chain(request);
  };
}

/**
 * The agents of one client, created on first use and destroyed by `destroy`. A request that
 * already has an agent (the caller's `agent`, or core's proxy agent) keeps it.
 */
class ClientAgents {
  private readonly agents = new Map<TlsSettings | undefined, Map<string, HttpAgent>>();

  agentFor(request: PipelineRequest): HttpAgent {
    if (request.agent !== undefined) return request.agent as HttpAgent;
    const isHttps = request.url.startsWith("https:");
    const keepAlive = request.disableKeepAlive !== true;
    // Core's tlsPolicy puts the client's one tlsOptions object on every request.
    const tlsSettings = isHttps ? request.tlsSettings : undefined;
    let byKind = this.agents.get(tlsSettings);
    if (byKind === undefined) {
      byKind = new Map();
      this.agents.set(tlsSettings, byKind);
    }
    const kind = `${isHttps ? "https" : "http"} ${keepAlive ? "keep-alive" : "close"}`;
    let agent = byKind.get(kind);
    if (agent === undefined) {
      // Not Node's global agents: since Node 19 they keep connections alive that no one closes.
      agent = isHttps
        ? new HttpsAgent({ keepAlive, ...tlsSettings })
        : new HttpAgent({ keepAlive });
      byKind.set(kind, agent);
    }
    return agent;
  }

  destroy(): void {
    for (const byKind of this.agents.values()) {
      for (const agent of byKind.values()) agent.destroy();
    }
    this.agents.clear();
  }
}
