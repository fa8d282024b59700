/**
 * The request log, in place of core's `logPolicy`, which it runs on a sanitized view of the
 * request. Core assumptions: its log policy writes the view it is given (so nothing else of the
 * request reaches the log) and a line beginning "Response status code: " (given the elapsed time).
 */
import type { Debugger } from "@azure/logger";
import {
  logPolicy,
  type LogPolicyOptions,
  type PipelinePolicy,
  type PipelineRequest,
} from "@azure/core-rest-pipeline";
import { logger } from "../log.js";

/** The name of the policy that logs each request and response (in place of core's logPolicy). */
export const requestLogPolicyName = "keyVaultRequestLogPolicy";

/** The line core's log policy writes for a response's status; the elapsed time is appended to it. */
export const statusLinePrefix = "Response status code: ";

/**
 * The part of a request a log may show. Core's log policy writes the whole request object:
 * with it the HTTP agent and its pooled sockets (hundreds of lines per request) and the TLS
 * settings, private key included. Only what identifies the request goes to the log.
 */
function loggableView(request: PipelineRequest): PipelineRequest {
  return {
    url: request.url,
    method: request.method,
    headers: request.headers,
    timeout: request.timeout,
    requestId: request.requestId,
  } as PipelineRequest;
}

/** Wraps a logger so that the status line says how long the request took. */
function withElapsedTime(log: Debugger, startedAt: number): Debugger {
  const timed = (message: unknown, ...args: unknown[]): void => {
    if (typeof message === "string" && message.startsWith(statusLinePrefix)) {
      log(`${message} (${Math.round(performance.now() - startedAt)} ms)`, ...args);
    } else {
      log(message, ...args);
    }
  };
  return Object.assign(timed, {
    enabled: true,
    namespace: log.namespace,
    destroy: () => false,
    log: timed,
    extend: (namespace: string) => log.extend(namespace),
  });
}

/**
 * Logs each request and response as core's log policy does (method, URL with only allowed query
 * parameters, allowed headers, status, response headers; never a body), plus the elapsed time,
 * and nothing else: no agent, no sockets, no TLS settings.
 *
 * @param options - Core's logging options: the logger (default: this package's `info` logger)
 *   and the header names and query parameters that may be logged unredacted.
 * @returns The policy, to be added `afterPhase: "Sign"` in place of core's `logPolicy`.
 */
export function requestLogPolicy(options: LogPolicyOptions = {}): PipelinePolicy {
  const log = options.logger ?? logger.info;
  return {
    name: requestLogPolicyName,
    sendRequest(request, next) {
      if (!log.enabled) return next(request);
      // Core's policy does the sanitizing (redacted headers and query parameters); it sees only
      // the loggable view, while the real request goes on down the pipeline.
      const sanitizing = logPolicy({
        ...options,
        logger: withElapsedTime(log, performance.now()),
      });
      return sanitizing.sendRequest(loggableView(request), () => next(request));
    },
  };
}
