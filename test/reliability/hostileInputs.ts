/**
 * Generated hostile answers (fast-check arbitraries) and the check that one client operation
 * survives them: it settles, never with an accidental error, never sends a token (or anything)
 * to a host other than the vault, and never shows the token or the value in what it gives back.
 * Shared by the property spec and the soak run.
 */
import { AbortError } from "@azure/abort-controller";
import {
  createHttpHeaders,
  RestError,
  type HttpClient,
  type PipelineRequest,
  type PipelineResponse,
} from "@azure/core-rest-pipeline";
import fc from "fast-check";
import { SecretClient } from "../../src/index.js";
import {
  leaksIn,
  newVersion,
  startScriptedServer,
  unexpectedErrorReason,
  visibleText,
  type ScriptedAction,
} from "./reliabilityKit.js";
import { fixedTokenCredential } from "../helpers/fakeCredential.js";

/** Placeholders replaced by the case's vault and foreign origins. */
const VAULT = "{VAULT}";
const FOREIGN = "{FOREIGN}";

/** One generated answer: an HTTP response, or a transport error as the Node HTTP client raises. */
export type HostileAnswer =
  { status: number; headers: Record<string, string>; body: string } | { networkError: string };

/** The operations a case can run. */
export const operations = [
  "get",
  "set",
  "update",
  "delete",
  "recover",
  "getDeleted",
  "purge",
  "backup",
  "restore",
  "list",
  "listVersions",
  "listDeleted",
] as const;

/** One generated case. */
export interface HostilePlan {
  operation: (typeof operations)[number];
  verifyChallengeResource: boolean;
  maxRetries: number;
  /** The answer to the first request without a token. */
  challenge: HostileAnswer;
  /** Answers to every other request, in turn. */
  answers: HostileAnswer[];
}

const validChallenge = `Bearer authorization="https://login.windows.net/t", resource="https://vault.azure.net"`;

const challengeArbitrary: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constant(validChallenge) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      `Bearer authorization="https://login.windows.net/t", scope="https://vault.azure.net/.default"`,
      `Bearer authorization="https://login.windows.net/t", resource="${FOREIGN}"`,
      `Bearer authorization="https://login.windows.net/t", resource="https://evil.example"`,
      `Bearer authorization="https://login.windows.net/t", resource="https://vault.azure.net.evil.example"`,
      `Bearer authorization="http://login.windows.net/t", resource="https://vault.azure.net"`,
      `Bearer authorization="${FOREIGN}/t", resource="https://vault.azure.net"`,
      `Bearer authorization="https://login.windows.net/../../x", resource="https://vault.azure.net"`,
      `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZX19fQ"`,
      `Bearer error="insufficient_claims", claims="%%%not-base64"`,
      `Bearer error="insufficient_claims", claims="{\\"a\\":1}"`,
      `Basic realm="x", Bearer resource="https://vault.azure.net"`,
      `Bearer resource="javascript:alert(1)"`,
      `Bearer scope=""`,
    ),
  },
  {
    weight: 2,
    arbitrary: fc
      .array(
        fc.constantFrom(
          "Bearer",
          " ",
          ",",
          "=",
          '"',
          "\\",
          "authorization=",
          "resource=",
          "scope=",
          "claims=",
          "error=",
          '"https://login.windows.net/t"',
          '"https://vault.azure.net"',
          '"https://evil.example"',
          "insufficient_claims",
          "https://vault.azure.net/.default",
        ),
        { maxLength: 14 },
      )
      .map((parts) => parts.join("")),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
);

const idArbitrary = fc.constantFrom(
  `${VAULT}/secrets/s/0123456789abcdef0123456789abcdef`,
  `${VAULT}/secrets/s`,
  `${VAULT}/secrets/s/`,
  `${FOREIGN}/secrets/s/0123456789abcdef0123456789abcdef`,
  `${VAULT}/keys/k/1`,
  `${VAULT}/deletedsecrets/s`,
  `${VAULT}/secrets/a/b/c/d`,
  "not a url",
  "",
);

const linkArbitrary = fc.constantFrom<string | null>(
  `${FOREIGN}/secrets?api-version=7.6&$skiptoken=f`,
  "file:///etc/passwd?$skiptoken=e",
  "foo://evil.example/secrets?$skiptoken=n",
  `${VAULT}/secrets?api-version=7.6&$skiptoken=v&maxresults=1`,
  `${VAULT}:443/deletedsecrets?$skiptoken=p`,
  "//evil.example/secrets?$skiptoken=s",
  "/secrets?$skiptoken=relative",
  "javascript:alert(1)",
  "not a url",
  "",
  null,
);

const anyJson = (maxDepth: number) => fc.jsonValue({ maxDepth });

const attributesArbitrary = fc.oneof(
  fc.record(
    {
      enabled: fc.oneof(fc.boolean(), anyJson(0)),
      created: fc.oneof(fc.integer(), fc.double(), fc.string({ maxLength: 8 })),
      updated: fc.oneof(fc.integer({ min: 0, max: 2 ** 31 }), anyJson(0)),
      nbf: fc.oneof(fc.constant(1e300), fc.integer(), anyJson(0)),
      exp: fc.oneof(fc.constant(-1e300), fc.integer(), anyJson(0)),
      recoveryLevel: fc.oneof(fc.constant("Recoverable+Purgeable"), anyJson(0)),
      recoverableDays: fc.oneof(fc.integer(), anyJson(0)),
    },
    { requiredKeys: [] },
  ),
  anyJson(1),
);

const bundleArbitrary = fc.record(
  {
    id: fc.oneof({ weight: 4, arbitrary: idArbitrary }, anyJson(1)),
    value: fc.oneof(fc.string({ maxLength: 20 }), anyJson(1)),
    contentType: fc.oneof(fc.string({ maxLength: 10 }), anyJson(0)),
    attributes: attributesArbitrary,
    tags: fc.oneof(
      fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 })),
      anyJson(1),
    ),
    kid: anyJson(0),
    managed: fc.oneof(fc.boolean(), anyJson(0)),
    previousVersion: anyJson(0),
    recoveryId: fc.oneof(idArbitrary, anyJson(0)),
    deletedDate: fc.oneof(fc.integer(), anyJson(0)),
    scheduledPurgeDate: fc.oneof(fc.integer(), anyJson(0)),
  },
  { requiredKeys: [] },
);

const listArbitrary = fc.record(
  {
    value: fc.oneof(fc.array(bundleArbitrary, { maxLength: 3 }), anyJson(1)),
    nextLink: fc.oneof({ weight: 3, arbitrary: linkArbitrary }, anyJson(0)),
  },
  { requiredKeys: [] },
);

const errorArbitrary = fc.record({
  error: fc.oneof(
    fc.record(
      {
        code: fc.oneof(fc.constantFrom("SecretNotFound", "Throttled", "BadParameter"), anyJson(0)),
        message: fc.oneof(fc.string({ maxLength: 30 }), anyJson(1)),
        innererror: anyJson(2),
      },
      { requiredKeys: [] },
    ),
    anyJson(1),
  ),
});

const backupArbitrary = fc.record({
  value: fc.oneof(fc.base64String({ maxLength: 40 }), fc.string({ maxLength: 20 }), anyJson(1)),
});

const structuredBody = fc.oneof(bundleArbitrary, listArbitrary, errorArbitrary, backupArbitrary);

const bodyArbitrary: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: structuredBody.map((body) => JSON.stringify(body)) },
  {
    weight: 2,
    arbitrary: fc.tuple(structuredBody, fc.nat()).map(([body, cut]) => {
      const text = JSON.stringify(body);
      return text.slice(0, cut % Math.max(1, text.length));
    }),
  },
  { weight: 1, arbitrary: anyJson(3).map((value) => JSON.stringify(value)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "",
      "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>",
      "null",
      "[]",
      '{"value":',
      "\u0000\u0001\u0002",
    ),
  },
);

const headersArbitrary = fc.record(
  {
    "content-type": fc.constantFrom(
      "application/json; charset=utf-8",
      "text/html",
      "text/plain",
      "application/octet-stream",
      "",
    ),
    "www-authenticate": challengeArbitrary,
    "retry-after": fc.constantFrom("0", "-1", "abc", "", "0.001", "Thu, 01 Jan 1970 00:00:00 GMT"),
    "retry-after-ms": fc.constantFrom("0", "2", "-5", "NaN", "1e400"),
    "x-ms-retry-after-ms": fc.constantFrom("1", "x"),
    location: fc.constantFrom(
      `${FOREIGN}/secrets/s`,
      `${VAULT}/secrets/s`,
      "/secrets/s",
      "::",
      "http://[",
    ),
  },
  { requiredKeys: [] },
);

const statusArbitrary = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(200, 200, 204, 301, 307, 400, 401, 403, 404, 409, 429, 500, 503),
  },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 599 }) },
);

/** Well-formed answers, so that generated cases also get past the first request. */
const plausibleAnswerArbitrary: fc.Arbitrary<HostileAnswer> = fc
  .constantFrom(
    {
      id: `${VAULT}/secrets/s/0123456789abcdef0123456789abcdef`,
      value: "c2VjcmV0",
      recoveryId: `${VAULT}/deletedsecrets/s`,
      deletedDate: 1700000000,
      attributes: { enabled: true, created: 1700000000, updated: 1700000000 },
    },
    { value: [{ id: `${VAULT}/secrets/s` }], nextLink: `${VAULT}/secrets?$skiptoken=2` },
    { value: [{ id: `${VAULT}/secrets/t/0123456789abcdef0123456789abcdef` }], nextLink: null },
    ...[
      `${FOREIGN}/secrets?$skiptoken=3`,
      "javascript:alert(1)",
      "file:///etc/passwd?$skiptoken=4",
      "foo://evil.example/secrets?$skiptoken=5",
      "data:text/plain,hello",
    ].map((nextLink) => ({ value: [], nextLink })),
    undefined,
  )
  .map((body): HostileAnswer =>
    body === undefined
      ? { status: 204, headers: {}, body: "" }
      : {
          status: 200,
          headers: { "content-type": "application/json; charset=utf-8" },
          body: JSON.stringify(body),
        },
  );

const answerArbitrary: fc.Arbitrary<HostileAnswer> = fc.oneof(
  { weight: 5, arbitrary: plausibleAnswerArbitrary },
  {
    weight: 12,
    arbitrary: fc.record({
      status: statusArbitrary,
      headers: headersArbitrary,
      body: bodyArbitrary,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      networkError: fc.constantFrom(
        "ECONNRESET",
        "ECONNREFUSED",
        "ETIMEDOUT",
        "EPIPE",
        "PARSE_ERROR",
      ),
    }),
  },
);

const challengeAnswerArbitrary: fc.Arbitrary<HostileAnswer> = fc.oneof(
  {
    weight: 5,
    arbitrary: challengeArbitrary.map((header) => ({
      status: 401,
      headers: { "www-authenticate": header },
      body: "",
    })),
  },
  { weight: 1, arbitrary: answerArbitrary },
);

/** Generates whole cases. */
export const planArbitrary: fc.Arbitrary<HostilePlan> = fc.record({
  operation: fc.constantFrom(...operations),
  verifyChallengeResource: fc.boolean(),
  maxRetries: fc.integer({ min: 0, max: 2 }),
  challenge: challengeAnswerArbitrary,
  answers: fc.array(answerArbitrary, { minLength: 1, maxLength: 6 }),
});

/** Requests one case may send before it is aborted (pollers and pagers could go on forever). */
const requestBudget = 40;

/** A case over real HTTP that has no outcome after this long is stopped and reported as hung. */
const hangLimitInMs = 3000;

/** What happened in one case. */
export interface HostileOutcome {
  /** Why the case broke a rule; empty when it kept them all. */
  violations: string[];
  /** Requests with a token that went to another origin. */
  foreignTokens: number;
  /** Requests of any kind that went to another origin. */
  foreignRequests: number;
  /** Secrets (token, value, body) found in the error. */
  leaks: number;
  /** Requests sent. */
  requests: number;
  settled: "resolved" | "rejected";
}

/** What the transport saw of one request. */
interface SentRequest {
  origin: string;
  authorization: string | undefined;
}

function fill(text: string, vaultOrigin: string, foreignOrigin: string): string {
  return text.split(VAULT).join(vaultOrigin).split(FOREIGN).join(foreignOrigin);
}

/** Runs one operation of a client, with a signal that bounds pollers and pagers. */
async function runOperation(
  client: SecretClient,
  plan: HostilePlan,
  value: string,
  backup: Uint8Array,
  abortSignal: AbortSignal,
): Promise<void> {
  const options = { abortSignal };
  const poll = { abortSignal, intervalInMs: 0 };
  const drain = async (iterable: AsyncIterable<unknown>) => {
    for await (const _ of iterable) {
      // drain
    }
  };
  switch (plan.operation) {
    case "get":
      await client.getSecret("s", options);
      return;
    case "set":
      await client.setSecret("s", value, { ...options, tags: { t: "1" } });
      return;
    case "update":
      await client.updateSecretProperties("s", "", { ...options, enabled: false });
      return;
    case "delete":
      await (await client.beginDeleteSecret("s", poll)).pollUntilDone({ abortSignal });
      return;
    case "recover":
      await (await client.beginRecoverDeletedSecret("s", poll)).pollUntilDone({ abortSignal });
      return;
    case "getDeleted":
      await client.getDeletedSecret("s", options);
      return;
    case "purge":
      await client.purgeDeletedSecret("s", options);
      return;
    case "backup":
      await client.backupSecret("s", options);
      return;
    case "restore":
      await client.restoreSecretBackup(backup, options);
      return;
    case "list":
      await drain(client.listPropertiesOfSecrets(options));
      return;
    case "listVersions":
      await drain(client.listPropertiesOfSecretVersions("s", options).byPage({ maxPageSize: 2 }));
      return;
    case "listDeleted":
      await drain(client.listDeletedSecrets(options));
      return;
  }
}

/** Checks the outcome of one case against the rules. */
function judge(
  plan: HostilePlan,
  sent: SentRequest[],
  vaultOrigin: string,
  secrets: string[],
  settled: { ok: true } | { ok: false; error: unknown },
  aborted: boolean,
  hung = false,
): HostileOutcome {
  const violations: string[] = [];
  if (hung) violations.push(`${plan.operation}: hung (no outcome within ${hangLimitInMs} ms)`);
  const foreign = sent.filter((r) => r.origin !== vaultOrigin);
  const foreignTokens = foreign.filter((r) => r.authorization !== undefined).length;
  if (foreign.length > 0) {
    violations.push(
      `${foreign.length} request(s) to ${[...new Set(foreign.map((r) => r.origin))].join(", ")}`,
    );
  }
  if (foreignTokens > 0) violations.push(`${foreignTokens} token(s) sent to another origin`);
  let leaks = 0;
  if (!settled.ok) {
    const error = settled.error;
    const isOurAbort = aborted && error instanceof Error && error.name === "AbortError";
    if (!isOurAbort) {
      const reason = unexpectedErrorReason(error);
      if (reason !== undefined) violations.push(`${plan.operation}: ${reason}`);
    }
    const found = leaksIn(visibleText(error), secrets);
    leaks = found.length;
    if (found.length > 0) violations.push(`the error shows ${found.join(", ")}`);
  }
  return {
    violations,
    foreignTokens,
    foreignRequests: foreign.length,
    leaks,
    requests: sent.length,
    settled: settled.ok ? "resolved" : "rejected",
  };
}

/**
 * Runs one case through a fake HttpClient (no network): the vault is `https://<unique>.vault.azure.net`.
 * @param plan - the case
 * @param caseNumber - makes the vault host unique, so no remembered challenge is reused
 * @returns the outcome
 */
export async function runHostileCaseInMemory(
  plan: HostilePlan,
  caseNumber: number,
): Promise<HostileOutcome> {
  const vaultOrigin = `https://hostile${caseNumber}-${newVersion().slice(0, 6)}.vault.azure.net`;
  const foreignOrigin = "https://foreign.example";
  const credential = fixedTokenCredential();
  const value = `secret-value-${newVersion()}`;
  const backup = new Uint8Array(Buffer.from(`backup-${newVersion()}`));
  const controller = new AbortController();
  const sent: SentRequest[] = [];
  let unauthenticated = 0;
  let next = 0;

  const toResponse = (request: PipelineRequest, answer: HostileAnswer): PipelineResponse => {
    if ("networkError" in answer) {
      throw answer.networkError === "PARSE_ERROR"
        ? new RestError("Error reading response as text: aborted", { code: RestError.PARSE_ERROR })
        : new RestError(`socket failure ${answer.networkError}`, {
            code: answer.networkError,
            request,
          });
    }
    const headers = createHttpHeaders();
    for (const [name, headerValue] of Object.entries(answer.headers)) {
      headers.set(name, fill(headerValue, vaultOrigin, foreignOrigin));
    }
    return {
      request,
      status: answer.status,
      headers,
      bodyAsText: fill(answer.body, vaultOrigin, foreignOrigin),
    };
  };

  const httpClient: HttpClient = {
    async sendRequest(request) {
      const url = new URL(request.url);
      const authorization = request.headers.get("authorization");
      sent.push({ origin: url.origin, authorization });
      if (sent.length > requestBudget) {
        controller.abort();
        throw new AbortError("The case used its request budget.");
      }
      // Answer asynchronously, as a network would.
      await Promise.resolve();
      if (authorization === undefined && unauthenticated++ === 0) {
        return toResponse(request, plan.challenge);
      }
      return toResponse(request, plan.answers[next++ % plan.answers.length]!);
    },
  };

  const client = new SecretClient(vaultOrigin, credential, {
    httpClient,
    disableChallengeResourceVerification: !plan.verifyChallengeResource,
    retryOptions: { retryDelayInMs: 0, maxRetryDelayInMs: 0, maxRetries: plan.maxRetries },
  });
  let settled: { ok: true } | { ok: false; error: unknown };
  try {
    await runOperation(client, plan, value, backup, controller.signal);
    settled = { ok: true };
  } catch (error) {
    settled = { ok: false, error };
  }
  const body = Buffer.from(backup).toString("base64url");
  return judge(
    plan,
    sent,
    vaultOrigin,
    [credential.token, value, body],
    settled,
    controller.signal.aborted,
  );
}

/** A header value a node:http server can send. */
function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, "?");
}

/**
 * Runs one case over real HTTP: a scripted vault on 127.0.0.1 and a real foreign server whose
 * origin replaces the foreign placeholder. The caller checks the foreign server's log.
 * @param plan - the case
 * @param foreignOrigin - the foreign server's origin
 * @returns the outcome
 */
export async function runHostileCaseOverHttp(
  plan: HostilePlan,
  foreignOrigin: string,
): Promise<HostileOutcome> {
  let vaultOrigin = "";
  let unauthenticated = 0;
  let next = 0;
  const toAction = (answer: HostileAnswer): ScriptedAction => {
    if ("networkError" in answer) return { drop: true };
    const headers: Record<string, string> = {};
    for (const [name, headerValue] of Object.entries(answer.headers)) {
      headers[name] = printable(fill(headerValue, vaultOrigin, foreignOrigin));
    }
    const status = answer.status < 200 ? 200 : answer.status;
    return { status, headers, body: fill(answer.body, vaultOrigin, foreignOrigin) };
  };
  const server = await startScriptedServer(
    (request) =>
      toAction(
        request.authorization === undefined && unauthenticated++ === 0
          ? plan.challenge
          : plan.answers[next++ % plan.answers.length]!,
      ),
    { challenge: null },
  );
  vaultOrigin = server.url;
  const credential = fixedTokenCredential();
  const value = `secret-value-${newVersion()}`;
  const backup = new Uint8Array(Buffer.from(`backup-${newVersion()}`));
  const controller = new AbortController();
  const sent: SentRequest[] = [];
  const client = new SecretClient(vaultOrigin, credential, {
    allowInsecureConnection: true,
    disableChallengeResourceVerification: !plan.verifyChallengeResource,
    retryOptions: { retryDelayInMs: 0, maxRetryDelayInMs: 0, maxRetries: plan.maxRetries },
    additionalPolicies: [
      {
        position: "perRetry",
        policy: {
          name: "recordAndBound",
          sendRequest(request, nextPolicy) {
            sent.push({
              origin: new URL(request.url).origin,
              authorization: request.headers.get("authorization"),
            });
            if (sent.length > requestBudget) controller.abort();
            return nextPolicy(request);
          },
        },
      },
    ],
  });
  let hung = false;
  const hangTimer = setTimeout(() => {
    hung = true;
    controller.abort();
  }, hangLimitInMs);
  let settled: { ok: true } | { ok: false; error: unknown };
  try {
    await runOperation(client, plan, value, backup, controller.signal);
    settled = { ok: true };
  } catch (error) {
    settled = { ok: false, error };
  } finally {
    clearTimeout(hangTimer);
    client.close();
    await server.close();
  }
  // The server saw what the client sent; its requests with a token all came to the vault.
  const body = Buffer.from(backup).toString("base64url");
  return judge(
    plan,
    sent,
    vaultOrigin,
    [credential.token, value, body],
    settled,
    controller.signal.aborted,
    hung,
  );
}
