import { RestError } from "@azure/core-rest-pipeline";
import type { PipelineRequest, PipelineResponse } from "@azure/core-rest-pipeline";
import { secretNameRule } from "../util/names.js";
import type { KeyVaultErrorResponseWire, KeyVaultErrorWire } from "./wireTypes.js";

/** How the service starts the message of a 400 for a name it refuses. */
const invalidNameMessageStart = "The request URI contains an invalid name";

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
    // The service names the name but not its rule; `details` keeps its message as it was.
    if (status === 400 && message.startsWith(invalidNameMessageStart)) {
      message = `${message}. ${secretNameRule}`;
    }
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
  if (isJson) restError.details = toErrorDetails(parsed);
  return restError;
}

/**
 * The parsed body as `details`, in the shape Microsoft's 4.x secrets client deserializes it to:
 * `{ error: { code, message, innerError } }`, each level with exactly those own keys (holding
 * undefined when absent), so deep-equality checks written for 4.x hold. Each level also answers
 * to the wire's `innererror`, as a non-enumerable alias for code that read the raw body.
 */
function toErrorDetails(parsed: unknown): unknown {
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return parsed;
  return { error: toErrorModel((parsed as KeyVaultErrorResponseWire).error, 0) };
}

/** Nesting beyond this is cut off: the body comes from the network. */
const maxInnerErrorDepth = 16;

function toErrorModel(error: unknown, depth: number): unknown {
  // As 4.x: an absent (falsy) error stays as it was.
  if (!error || depth > maxInnerErrorDepth) return depth > maxInnerErrorDepth ? undefined : error;
  const wire: KeyVaultErrorWire = typeof error === "object" ? error : {};
  const model = {
    code: wire.code,
    message: wire.message,
    innerError: toErrorModel(wire.innererror, depth + 1),
  };
  Object.defineProperty(model, "innererror", { value: model.innerError, enumerable: false });
  return model;
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
