/**
 * The HTTP spans, in place of core's `tracingPolicy`: the same span (name, kind, attributes,
 * status, package `@azure/core-rest-pipeline` and core's version), started only when recorded.
 * Core assumptions: the attributes core gives a span and how it sanitizes `http.url`; core's
 * version, read from the User-Agent core's policy sends (userAgentPolicy.ts).
 */
import {
  isRestError,
  type PipelinePolicy,
  type PipelineRequest,
  type PipelineResponse,
  type SendRequest,
} from "@azure/core-rest-pipeline";
import {
  createTracingClient,
  type TracingClient,
  type TracingContext,
  type TracingSpan,
} from "@azure/core-tracing";
import { logger } from "../log.js";
import { isUnrecordedContext } from "./tracingClient.js";
import { computeUserAgent, type UserAgent } from "./userAgentPolicy.js";

/**
 * The name of the policy that records an `HTTP <method>` span per request: core's name, so that
 * `removePolicy({ name: "tracingPolicy" })` removes this one as it removed core's.
 */
export const tracingPolicyName = "tracingPolicy";

/** Options of {@link tracingPolicy}: those core's tracing policy reads. */
export interface TracingPolicyOptions {
  /** The prefix of the User-Agent (the span's `http.user_agent` is the full value). */
  userAgentPrefix?: string;
  /** The User-Agent itself, when the pipeline has computed it already (then the prefix is unused). */
  userAgent?: UserAgent;
  /** Query parameters shown in the span's `http.url`; the others read `REDACTED`. */
  additionalAllowedQueryParameters?: string[];
}

const redacted = "REDACTED";

/**
 * Core's version, as the User-Agent of core's policy names it (`core-rest-pipeline/<version>`).
 *
 * @param userAgent - The User-Agent core's policy sends.
 * @returns The version, or "" when the value names none.
 */
export function coreVersionIn(userAgent: string): string {
  const versions = [...userAgent.matchAll(/(?:^| )core-rest-pipeline\/(\S+)/g)];
  return versions.at(-1)?.[1] ?? "";
}
/** URLs the WHATWG parser leaves exactly as they are: no dot segments, nothing to escape. */
const alreadyNormalUrl =
  /^https?:\/\/[A-Za-z0-9.\-:[\]]+\/[A-Za-z0-9\-._~%/!$'()*+,;=:@]*(\?[A-Za-z0-9\-._~%!$'()*+,;=:@/?&]*)?$/;

/**
 * The same spans as core's tracing policy (name, kind, attributes, status, propagation headers),
 * paid for only when they are recorded. Under a client span that the instrumenter does not record
 * (no instrumenter set, or sampled out), no span is started: its child would not be recorded
 * either. Otherwise the span is started with the attributes core gives at start (the URL with
 * query values other than the allowed ones redacted, parsed only when it needs to be), and when
 * it is not recorded the request goes on at once.
 *
 * @param options - The user agent prefix and the query parameters allowed in `http.url`.
 * @returns The policy.
 */
export function tracingPolicy(options: TracingPolicyOptions = {}): PipelinePolicy {
  // Created once core's version is known (from the user agent): spans name core as their package.
  let tracingClient: TracingClient | undefined;
  const allowed = new Set(
    ["api-version", ...(options.additionalAllowedQueryParameters ?? [])].map((name) =>
      name.toLowerCase(),
    ),
  );
  let userAgent: string | undefined;
  const userAgentReady = (
    options.userAgent ?? computeUserAgent(options.userAgentPrefix)
  ).ready.then((value) => {
    tracingClient = createTracingClient({
      namespace: "",
      packageName: "@azure/core-rest-pipeline",
      packageVersion: coreVersionIn(value),
    });
    userAgent = value;
    return value;
  });

  function sanitizeUrl(url: string): string {
    if (alreadyNormalUrl.test(url) && !url.includes("/.")) {
      const queryStart = url.indexOf("?");
      if (queryStart === -1) return url;
      const allAllowed = url
        .slice(queryStart + 1)
        .split("&")
        .every((pair) => {
          const equals = pair.indexOf("=");
          const key = decodeURIComponent(equals === -1 ? pair : pair.slice(0, equals));
          return allowed.has(key.toLowerCase());
        });
      if (allAllowed) return url;
    }
    // The general case, as core's sanitizer does it.
    const parsed = new URL(url);
    if (!parsed.search) return url;
    for (const [key] of parsed.searchParams) {
      if (!allowed.has(key.toLowerCase())) parsed.searchParams.set(key, redacted);
    }
    return parsed.toString();
  }

  function startSpan(
    tracingClient: TracingClient,
    request: PipelineRequest,
    agent: string,
  ): { span: TracingSpan; tracingContext: TracingContext } | undefined {
    try {
      const { span, updatedOptions } = tracingClient.startSpan(
        `HTTP ${request.method}`,
        { tracingOptions: request.tracingOptions },
        {
          spanKind: "client",
          spanAttributes: {
            "http.url": sanitizeUrl(request.url),
            "http.method": request.method,
            "http.user_agent": agent,
            requestId: request.requestId,
          },
        },
      );
      if (!span.isRecording()) {
        span.end();
        return undefined;
      }
      const tracingContext = updatedOptions.tracingOptions!.tracingContext!;
      const headers = tracingClient.createRequestHeaders(tracingContext);
      for (const [name, value] of Object.entries(headers)) request.headers.set(name, value);
      return { span, tracingContext };
    } catch (error) {
      logger.warning(`Skipping creating a tracing span due to an error: ${describe(error)}`);
      return undefined;
    }
  }

  return {
    name: tracingPolicyName,
    // Not async: under a client span that is not recorded, this one would not be either, and the
    // request goes on with no promise of this policy's own.
    sendRequest(request, next) {
      if (isUnrecordedContext(request.tracingOptions?.tracingContext)) return next(request);
      return traced(request, next);
    },
  };

  async function traced(request: PipelineRequest, next: SendRequest): Promise<PipelineResponse> {
    const agent = userAgent ?? (await userAgentReady);
    const started = startSpan(tracingClient!, request, agent);
    if (started === undefined) return next(request);
    const { span, tracingContext } = started;
    try {
      const response = await tracingClient!.withContext(tracingContext, next, request);
      try {
        span.setAttribute("http.status_code", response.status);
        const serviceRequestId = response.headers.get("x-ms-request-id");
        if (serviceRequestId) span.setAttribute("serviceRequestId", serviceRequestId);
        // Semantic conventions: the status is an error only for 4xx and 5xx, otherwise unset.
        if (response.status >= 400) span.setStatus({ status: "error" });
        span.end();
      } catch (error) {
        logger.warning(`Skipping tracing span processing due to an error: ${describe(error)}`);
      }
      return response;
    } catch (error) {
      try {
        span.setStatus({ status: "error", error: error instanceof Error ? error : undefined });
        if (isRestError(error) && error.statusCode) {
          span.setAttribute("http.status_code", error.statusCode);
        }
        span.end();
      } catch (spanError) {
        logger.warning(`Skipping tracing span processing due to an error: ${describe(spanError)}`);
      }
      throw error;
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
