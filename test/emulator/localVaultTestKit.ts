/**
 * Shared helpers of the local vault specs: one HTTP call with the defaults every spec needs.
 */
import assert from "node:assert/strict";
import type { LocalVault } from "../../src/emulator/index.js";

import { sendWithHost } from "../helpers/testKit.js";

export { pause } from "../helpers/testKit.js";

/** The api-version the specs speak unless a test is about versions. */
export const testApiVersion = "7.6";

/** An answer as the specs look at it. */
export interface Answer {
  status: number;
  headers: Headers;
  /** Parsed JSON body, or undefined when the body is empty. */
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  text: string;
}

/** Options of {@link callVault}. */
export interface CallOptions {
  body?: unknown;
  /** Raw body text (for malformed JSON). */
  rawBody?: string;
  /** Bearer token; null sends no Authorization header. */
  token?: string | null;
  /** api-version; null sends none. */
  apiVersion?: string | null;
  /** Extra query text appended as is (without leading `&`). */
  query?: string;
  /** Extra headers; a `host` header is sent as given (through node:http, which allows it). */
  headers?: Record<string, string>;
}

/**
 * Calls the vault.
 * @param vault - the running vault (or its URL)
 * @param method - HTTP method
 * @param path - path starting with `/`
 * @param options - body, token, api-version, headers
 * @returns status, headers and parsed body
 */
export async function callVault(
  vault: LocalVault | string,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<Answer> {
  const base = typeof vault === "string" ? vault : vault.vaultUrl;
  const params: string[] = [];
  const apiVersion = options.apiVersion === undefined ? testApiVersion : options.apiVersion;
  if (apiVersion !== null) params.push(`api-version=${encodeURIComponent(apiVersion)}`);
  if (options.query !== undefined) params.push(options.query);
  const url = path.startsWith("http")
    ? path
    : `${base}${path}${params.length > 0 ? `${path.includes("?") ? "&" : "?"}${params.join("&")}` : ""}`;
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token === undefined ? "any-token" : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers["content-type"] ??= "application/json";
  // fetch may not set Host: a call that names one goes through node:http.
  const {
    status,
    headers: answerHeaders,
    text,
  } = headers.host === undefined
    ? await fetch(url, { method, headers, body }).then(async (response) => ({
        status: response.status,
        headers: response.headers,
        text: await response.text(),
      }))
    : await sendWithHost(url, { method, headers, body });
  return { status, headers: answerHeaders, body: text === "" ? undefined : JSON.parse(text), text };
}

/**
 * Asserts a Key Vault error answer.
 * @param answer - the answer
 * @param status - expected status
 * @param code - expected `error.code`
 * @param message - expected `error.message` (string = exact, RegExp = match)
 * @param innerCode - expected `error.innererror.code`, if any
 */
export function assertVaultError(
  answer: Answer,
  status: number,
  code: string,
  message: string | RegExp,
  innerCode?: string,
): void {
  assert.equal(answer.status, status, answer.text);
  assert.equal(answer.headers.get("content-type"), "application/json; charset=utf-8");
  assert.equal(answer.body.error.code, code);
  if (typeof message === "string") assert.equal(answer.body.error.message, message);
  else assert.match(answer.body.error.message, message);
  if (innerCode === undefined) assert.equal(answer.body.error.innererror, undefined);
  else assert.deepEqual(answer.body.error.innererror, { code: innerCode });
}

/**
 * The 404 message of a secret that does not exist.
 * @param name - name or name/version
 * @returns the exact message
 */
export function notFoundMessage(name: string): string {
  return `A secret with (name/id) ${name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`;
}

/** What a browser holds of a page session: the cookie, and the key the page's script keeps. */
export interface PageSession {
  /** `kv-page-{port}=...`, as a Cookie header. */
  cookie: string;
  /** The key, from the fragment of the redirect. */
  key: string;
}

/**
 * Opens a page link as a browser does.
 * @param pageUrl - the link
 * @param cookie - the cookie the browser already holds, if any
 * @returns the session's cookie and key
 */
export async function openSession(pageUrl: string, cookie?: string): Promise<PageSession> {
  const answer = await fetch(pageUrl, {
    redirect: "manual",
    headers: cookie === undefined ? {} : { cookie },
  });
  assert.equal(answer.status, 303);
  const setCookie = answer.headers.get("set-cookie") ?? "";
  const key = /#([\w-]{43})$/.exec(answer.headers.get("location") ?? "")?.[1];
  assert.ok(key !== undefined, "the key is in the redirect's fragment");
  return { cookie: setCookie.split(";")[0], key };
}

/** The headers of the page's API calls. */
export const sessionHeaders = (session: PageSession): Record<string, string> => ({
  cookie: session.cookie,
  "x-kv-page-session": session.key,
});
