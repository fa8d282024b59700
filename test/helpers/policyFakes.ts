import {
  createHttpHeaders,
  createPipelineRequest,
  type HttpMethods,
  type PipelineRequest,
  type PipelineResponse,
  type RawHttpHeaders,
  type RequestBodyType,
  type SendRequest,
} from "@azure/core-rest-pipeline";

export { fakeCredential, type FakeCredential } from "./fakeCredential.js";

/** What the fake `next` saw on one call, copied at the time of the call. */
export interface SentRequest {
  url: string;
  method: string;
  authorization: string | undefined;
  body: RequestBodyType | undefined;
}

/** A canned answer: a response, or an error to throw. */
export type CannedAnswer =
  { status: number; headers?: RawHttpHeaders; bodyAsText?: string } | { error: unknown };

/**
 * A fake `next`: answers each call with the next canned answer (the last one repeats) and records
 * what was sent.
 */
export function fakeNext(
  answers: CannedAnswer[] | ((request: PipelineRequest, index: number) => CannedAnswer),
): SendRequest & { sent: SentRequest[] } {
  const sent: SentRequest[] = [];
  const next = async (request: PipelineRequest): Promise<PipelineResponse> => {
    const index = sent.length;
    sent.push({
      url: request.url,
      method: request.method,
      authorization: request.headers.get("Authorization"),
      body: request.body,
    });
    const answer =
      typeof answers === "function"
        ? answers(request, index)
        : answers[Math.min(index, answers.length - 1)]!;
    if ("error" in answer) {
      throw answer.error;
    }
    return {
      request,
      status: answer.status,
      headers: createHttpHeaders(answer.headers ?? {}),
      bodyAsText: answer.bodyAsText ?? null,
    };
  };
  return Object.assign(next, { sent });
}

/** A pipeline request with the given method, URL and body. */
export function makeRequest(
  url: string,
  method: HttpMethods = "GET",
  body?: RequestBodyType,
): PipelineRequest {
  const request = createPipelineRequest({ url, method });
  if (body !== undefined) {
    request.body = body;
  }
  return request;
}
