import { RestError } from "@azure/core-rest-pipeline";
import type { PipelineRequest, PipelineResponse } from "@azure/core-rest-pipeline";
import type { KeyVaultErrorResponseWire } from "./wireTypes.js";

/** Thrown by the wire mapping when a response body does not have the documented shape. */
export class ResponseShapeError extends Error {
  override name = "ResponseShapeError";
}

/**
 * A copy of the request that is safe to keep on an error: no body (it may hold a secret value).
 * RestError already hides request and response from enumeration and sanitizes headers when inspected.
 */
function withoutBody(request: PipelineRequest): PipelineRequest {
  return request.body === undefined ? request : { ...request, body: undefined };
}

/**
 * The error for a response whose status the operation does not expect: a RestError carrying the
 * status, the service's error code and message, and the parsed body in `details`.
 */
export function createServiceError(response: PipelineResponse): RestError {
  const status = response.status;
  let parsed: unknown;
  let isJson = false;
  if (response.bodyAsText) {
    try {
      parsed = JSON.parse(response.bodyAsText);
      isJson = true;
    } catch {
      // Proxies and gateways answer with HTML or plain text; the message below says so.
    }
  }
  const error =
    isJson && typeof parsed === "object" && parsed !== null
      ? (parsed as KeyVaultErrorResponseWire).error
      : undefined;
  const code = typeof error?.code === "string" ? error.code : undefined;
  let message: string;
  if (typeof error?.message === "string" && error.message.length > 0) {
    message = error.message;
  } else if (!response.bodyAsText) {
    message = `The service answered ${status} with an empty body.`;
  } else if (!isJson) {
    const contentType = response.headers.get("content-type") ?? "no content type";
    message = `The service answered ${status} with a body that is not JSON (${contentType}).`;
  } else {
    message = `The service answered ${status} with a body that is not a Key Vault error.`;
  }
  const restError = new RestError(message, {
    code,
    statusCode: status,
    request: withoutBody(response.request),
    response,
  });
  if (isJson) restError.details = withInnerErrorAlias(parsed);
  return restError;
}

/**
 * The parsed body as `details`, with each `innererror` also readable as `innerError`: the wire
 * spells it in lower case, and code written for Microsoft's 4.x secrets client reads the
 * deserialized, camel-cased name.
 */
function withInnerErrorAlias(parsed: unknown): unknown {
  if (typeof parsed !== "object" || parsed === null) return parsed;
  const body = parsed as KeyVaultErrorResponseWire;
  let error = body.error;
  while (typeof error === "object" && error !== null) {
    const inner = error.innererror;
    if (inner === undefined || inner === null) break;
    (error as { innerError?: unknown }).innerError = inner;
    error = inner;
  }
  return parsed;
}

/** The error for a success status whose body cannot be used. */
export function createParseError(response: PipelineResponse, reason: string): RestError {
  return new RestError(`The service answered ${response.status}, but ${reason}`, {
    code: RestError.PARSE_ERROR,
    statusCode: response.status,
    request: withoutBody(response.request),
    response,
  });
}
