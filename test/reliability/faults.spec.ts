/**
 * Faults on the wire: throttling, server errors, broken and silent connections, slow answers and
 * unreachable hosts, from a scripted server and from the local vault's fault injection; pollers
 * under faults and across processes.
 */
import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import { isRestError, type SecretClient } from "../../src/index.js";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import {
  collect,
  json,
  loopbackClient,
  newVersion,
  rejectionOf,
  runScript,
  startScriptedServer,
  uniqueName,
  vaultChallenge,
  vaultError,
  type RecordedRequest,
  type ScriptedAction,
  type ScriptedServer,
} from "./reliabilityKit.js";
import { closedPort } from "../helpers/testKit.js";
import { fixedTokenCredential } from "../helpers/fakeCredential.js";

const throttled = (headers: Record<string, string> = {}) =>
  json(
    429,
    {
      error: {
        code: "Throttled",
        message:
          "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached",
      },
    },
    headers,
  );

/** Milliseconds between consecutive requests. */
function gaps(requests: RecordedRequest[]): number[] {
  return requests.slice(1).map((request, i) => request.at - requests[i]!.at);
}

/**
 * Asserts each gap is at least the backoff `base × 2^i` (less a timer's rounding). Lower bounds only: a
 * loaded machine makes gaps longer, never shorter, and bounds that double already fail a constant backoff.
 */
function assertBackoff(requests: RecordedRequest[], base: number): void {
  const measured = gaps(requests);
  measured.forEach((gap, i) => {
    assert.ok(
      gap >= base * 2 ** i - 2,
      `retry ${i + 1} came after ${gap.toFixed(1)} ms, before its backoff of ${base * 2 ** i} ms (gaps: ${measured.map((g) => g.toFixed(1)).join(", ")})`,
    );
  });
}

describe("reliability: faults from a scripted server", () => {
  const credential = fixedTokenCredential();
  let server: ScriptedServer;
  const clients: SecretClient[] = [];
  const secretValue = `value-${newVersion()}`;

  /** The scripted answers in order; the last one repeats. */
  function answers(...list: ScriptedAction[]) {
    return (_request: RecordedRequest, attempt: number) =>
      list[Math.min(attempt, list.length - 1)]!;
  }

  function bundle(name: string) {
    return json(200, {
      value: secretValue,
      id: `${server.url}/secrets/${name}/${newVersion()}`,
      attributes: { enabled: true, created: 1700000000, updated: 1700000000 },
    });
  }

  function client(retryDelayInMs = 1, maxRetries = 3, extra = {}): SecretClient {
    const created = loopbackClient(server.url, credential, {
      retryOptions: { retryDelayInMs, maxRetryDelayInMs: 1000, maxRetries },
      ...extra,
    });
    clients.push(created);
    return created;
  }

  /** Every authorized attempt of a set carried the same, complete body. */
  function assertBodiesIntact(expectedAttempts: number): void {
    const attempts = server.authorized();
    assert.equal(attempts.length, expectedAttempts, "authorized attempts");
    for (const attempt of attempts) {
      assert.deepEqual(JSON.parse(attempt.body), { value: secretValue });
      assert.equal(attempt.headers["content-length"], String(Buffer.byteLength(attempt.body)));
    }
  }

  before(async () => {
    server = await startScriptedServer(() => ({ status: 500 }));
  });
  after(async () => {
    clients.forEach((c) => c.close());
    await server.close();
  });

  it("429 without Retry-After: retried with growing backoff, the body intact each time", async () => {
    server.reset(answers(throttled(), throttled(), throttled(), bundle("t1")));
    const secret = await client(15).setSecret("t1", secretValue);
    assert.equal(secret.value, secretValue);
    assertBodiesIntact(4);
    assertBackoff(server.authorized(), 15);
  });

  it("429 with Retry-After: 0 is retried at once, not after the backoff", async () => {
    server.reset(answers(throttled({ "Retry-After": "0" }), bundle("t2")));
    const started = performance.now();
    // A backoff of 5 s would show: Retry-After must take its place.
    const secret = await client(5000).setSecret("t2", secretValue);
    assert.equal(secret.name, "t2");
    assert.ok(performance.now() - started < 2000, "Retry-After: 0 means now");
    assertBodiesIntact(2);
  });

  it("429 with retry-after-ms waits that long, not the shorter backoff", async () => {
    server.reset(answers(throttled({ "retry-after-ms": "60" }), bundle("t3")));
    await client(1).getSecret("t3");
    const [gap] = gaps(server.authorized());
    assert.ok(gap! >= 58, `waited ${gap} ms`);
  });

  it("429 forever: RestError 429 Throttled after maxRetries + 1 attempts", async () => {
    server.reset(answers(throttled()));
    const error = await rejectionOf(client(2, 2).setSecret("t4", secretValue));
    assert.ok(isRestError(error));
    assert.equal(error.statusCode, 429);
    assert.equal(error.code, "Throttled");
    assert.match(error.message, /too many requests/);
    assertBodiesIntact(3);
    assertBackoff(server.authorized(), 2);
  });

  it("500 then 200: retried with backoff", async () => {
    server.reset(answers(vaultError(500, "InternalServerError", "boom"), bundle("e1")));
    assert.equal((await client(5).setSecret("e1", secretValue)).name, "e1");
    assertBodiesIntact(2);
    assertBackoff(server.authorized(), 5);
  });

  it("500 every time: RestError 500 with the service's message after 4 attempts", async () => {
    server.reset(answers(vaultError(500, "InternalServerError", "The vault had a bad day.")));
    const error = await rejectionOf(client(15).setSecret("e2", secretValue));
    assert.ok(isRestError(error));
    assert.equal(error.statusCode, 500);
    assert.equal(error.code, "InternalServerError");
    assert.equal(error.message, "The vault had a bad day.");
    assertBodiesIntact(4);
    assertBackoff(server.authorized(), 15);
  });

  it("503 with Retry-After: 0, then 200: retried at once", async () => {
    server.reset(
      answers(
        { ...vaultError(503, "ServiceUnavailable", "busy"), headers: { "Retry-After": "0" } },
        bundle("e3"),
      ),
    );
    const started = performance.now();
    assert.equal((await client(5000).getSecret("e3")).value, secretValue);
    assert.ok(performance.now() - started < 2000);
    assert.equal(server.authorized().length, 2);
  });

  it("503 with an HTML gateway page every time: RestError 503 naming a non-JSON body", async () => {
    server.reset(
      answers({
        status: 503,
        headers: { "content-type": "text/html" },
        body: "<html><body><h1>503 Service Unavailable</h1></body></html>",
      }),
    );
    const error = await rejectionOf(client(2, 1).getSecret("e4"));
    assert.ok(isRestError(error));
    assert.equal(error.statusCode, 503);
    assert.match(error.message, /503 with a body that is not JSON \(text\/html\)/);
    assert.equal(server.authorized().length, 2);
  });

  it("a connection dropped before the answer (ECONNRESET) is retried; the body is intact", async () => {
    server.reset(answers({ drop: true }, { drop: true }, bundle("d1")));
    assert.equal((await client(5).setSecret("d1", secretValue)).value, secretValue);
    assertBodiesIntact(3);
    assertBackoff(server.authorized(), 5);
  });

  it("a connection reset mid-response on a GET is retried like any broken connection", async () => {
    // Headers and part of the body arrive, then the socket is destroyed: a new attempt may well
    // succeed, exactly as for a reset before the headers (ECONNRESET), which is retried.
    server.reset(
      answers(
        { reset: true, partialBody: '{"value":"par' },
        { reset: true, partialBody: '{"value":"par' },
        bundle("r1"),
      ),
    );
    const outcome = await client(5)
      .getSecret("r1")
      .then(
        (secret) => secret,
        (error: Error) => error,
      );
    assert.ok(
      !(outcome instanceof Error),
      `expected success after the retries, got ${outcome instanceof Error ? `${outcome.name} ${(outcome as { code?: string }).code}: ${outcome.message}` : ""} after ${server.authorized().length} attempt(s)`,
    );
    assert.equal(outcome.value, secretValue);
    assert.equal(server.authorized().length, 3);
  });

  it("a connection reset mid-response every time: a RestError naming the broken response", async () => {
    server.reset(answers({ reset: true, partialBody: '{"value":"hal' }));
    const error = await rejectionOf(client(2).setSecret("r2", secretValue));
    assert.ok(isRestError(error), `${error.name}: ${error.message}`);
    assert.match(`${error.code} ${error.message}`, /aborted|reset|socket|closed|ECONN/i);
    assert.ok(!error.message.includes(secretValue), "the message holds no value");
    for (const attempt of server.authorized()) {
      assert.deepEqual(JSON.parse(attempt.body), { value: secretValue });
    }
  });

  it("a server that never answers, with requestOptions.timeout: fails in time, naming the timeout", async () => {
    server.reset(answers({ hang: true }));
    const started = performance.now();
    const error = await rejectionOf(
      client(1, 0).getSecret("h1", { requestOptions: { timeout: 100 } }),
    );
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 95 && elapsed < 3000, `failed after ${elapsed} ms`);
    assert.equal(server.authorized().length, 1);
    assert.match(
      error.message,
      /time(d)?[ -]?out|timeout/i,
      `the caller did not abort: the error should say the request timed out, got ${error.name}: "${error.message}"`,
    );
  });

  it("a server that never answers, with an abortSignal: AbortError as soon as it fires", async () => {
    server.reset(answers({ hang: true }));
    const started = performance.now();
    const error = await rejectionOf(
      client(1).getSecret("h2", { abortSignal: AbortSignal.timeout(80) }),
    );
    const elapsed = performance.now() - started;
    // The name says it all; the message depends on which of core's paths saw the abort first
    // (it is empty when the retry policy notices it).
    assert.equal(error.name, "AbortError", error.message);
    assert.ok(elapsed >= 75 && elapsed < 3000, `aborted after ${elapsed} ms`);
    assert.equal(server.authorized().length, 1, "an aborted request is not retried");
  });

  it("a slow answer within requestOptions.timeout succeeds; a slower one fails in time", async () => {
    server.reset(answers({ delayMs: 40, then: bundle("s1") }));
    assert.equal(
      (await client(1, 0).getSecret("s1", { requestOptions: { timeout: 1000 } })).value,
      secretValue,
    );
    server.reset(answers({ delayMs: 1500, then: bundle("s1") }));
    const started = performance.now();
    await rejectionOf(client(1, 0).getSecret("s1", { requestOptions: { timeout: 100 } }));
    assert.ok(performance.now() - started < 1000, "did not wait for the slow answer");
  });

  describe("on the first, token-less request of a new client", () => {
    // A fresh server (a fresh origin) per test: the process-wide challenge cache knows nothing yet.
    let fresh: ScriptedServer | undefined;
    afterEach(() => fresh?.close());

    /** Unauthenticated requests get `faults` in turn, then the challenge; authorized ones a bundle. */
    async function startFresh(...faults: ScriptedAction[]): Promise<ScriptedServer> {
      let unauthenticated = 0;
      fresh = await startScriptedServer(
        (request) => {
          if (request.authorization === undefined) {
            const fault = faults[unauthenticated++];
            return fault ?? { status: 401, headers: { "WWW-Authenticate": vaultChallenge } };
          }
          return json(200, {
            value: secretValue,
            id: `${fresh!.url}/secrets/f/${newVersion()}`,
          });
        },
        { challenge: null },
      );
      return fresh;
    }

    const busy = () => ({
      ...vaultError(503, "ServiceUnavailable", "busy"),
      headers: { "Retry-After": "0", "content-type": "application/json" },
    });

    it("a 503 to the challenge request of a set is retried; the value never travels without a token", async () => {
      const target = await startFresh(busy());
      const c = loopbackClient(target.url, credential);
      clients.push(c);
      const outcome = await c
        .setSecret("f", secretValue, { abortSignal: AbortSignal.timeout(3000) })
        .then(
          (secret) => `set ${secret.name}`,
          (error: Error) =>
            `${error.name} ${(error as { statusCode?: number }).statusCode ?? ""}: ${error.message}`,
        );
      const trace = target.requests.map(
        (r) => `${r.method} auth=${r.authorization !== undefined} body=${r.body.length}`,
      );
      assert.equal(outcome, "set f", `requests: ${trace.join(" | ")}`);
      assert.deepEqual(
        target.requests.filter((r) => r.authorization === undefined && r.body !== "").length,
        0,
        `the body went out without a token: ${trace.join(" | ")}`,
      );
    });

    it("two 503s to the challenge requests of a set: the retry does not announce a body it withholds", async () => {
      const target = await startFresh(busy(), busy());
      const c = loopbackClient(target.url, credential);
      clients.push(c);
      const started = performance.now();
      const outcome = await c
        .setSecret("f", secretValue, { abortSignal: AbortSignal.timeout(3000) })
        .then(
          (secret) => `set ${secret.name}`,
          (error: Error) => `${error.name}: ${error.message}`,
        );
      assert.equal(
        outcome,
        "set f",
        `after ${Math.round(performance.now() - started)} ms; requests that arrived: ${target.arrivals.join(" | ")}; with their body: ${target.requests.length}`,
      );
    });
  });

  it("an unreachable host (closed port): RestError ECONNREFUSED after 4 attempts with backoff", async () => {
    const port = await closedPort();
    const attemptsAt: number[] = [];
    const unreachable = loopbackClient(`http://127.0.0.1:${port}`, credential, {
      retryOptions: { retryDelayInMs: 10, maxRetryDelayInMs: 1000 },
      additionalPolicies: [
        {
          position: "perRetry",
          policy: {
            name: "countAttempts",
            sendRequest: (request, next) => {
              attemptsAt.push(performance.now());
              return next(request);
            },
          },
        },
      ],
    });
    clients.push(unreachable);
    const error = await rejectionOf(unreachable.setSecret("u1", secretValue));
    assert.ok(isRestError(error));
    assert.equal(error.code, "ECONNREFUSED");
    assert.match(error.message, /ECONNREFUSED/);
    assert.equal(attemptsAt.length, 4);
    attemptsAt.slice(1).forEach((at, i) => {
      const gap = at - attemptsAt[i]!;
      assert.ok(gap >= 10 * 2 ** i - 2, `retry ${i + 1} after ${gap} ms`);
    });
  });
});

describe("reliability: faults from the local vault", () => {
  let vault: LocalVault;

  before(async () => {
    vault = await startLocalVault({ delayMs: 0 });
  });
  after(() => vault.close());

  it("under 5xx and dropped connections, every set lands exactly once", async () => {
    const client = loopbackClient(vault.vaultUrl, vault.credential, {
      retryOptions: { retryDelayInMs: 1, maxRetryDelayInMs: 4, maxRetries: 12 },
    });
    const names = Array.from({ length: 40 }, (_, i) => uniqueName(`mix${i}`));
    vault.setFaults({ errorRate: 0.3, dropRate: 0.2 });
    const versions: string[] = [];
    for (const name of names) {
      versions.push((await client.setSecret(name, `v-${name}`)).properties.version!);
    }
    vault.setFaults({});
    for (const [i, name] of names.entries()) {
      const listed = await collect(client.listPropertiesOfSecretVersions(name));
      assert.deepEqual(
        listed.map((v) => v.version),
        [versions[i]],
        `${name}: one version, the acknowledged one`,
      );
      assert.equal((await client.getSecret(name)).value, `v-${name}`);
    }
    client.close();
  });

  it("latency beyond requestOptions.timeout fails the call in time", async () => {
    const client = loopbackClient(vault.vaultUrl, vault.credential, {
      retryOptions: { maxRetries: 0 },
    });
    const name = uniqueName("slow");
    await client.setSecret(name, "v");
    vault.setFaults({ latencyMs: 800 });
    const started = performance.now();
    try {
      await rejectionOf(client.getSecret(name, { requestOptions: { timeout: 100 } }));
    } finally {
      vault.setFaults({});
    }
    assert.ok(performance.now() - started < 700);
    client.close();
  });
});

describe("reliability: pollers under faults", () => {
  let vault: LocalVault;
  let proxy: ScriptedServer;

  before(async () => {
    vault = await startLocalVault({ delayMs: 60 });
    proxy = await startScriptedServer(() => ({ forward: true }), {
      challenge: null,
      upstream: vault.vaultUrl,
    });
  });
  after(async () => {
    await proxy.close();
    await vault.close();
  });

  /** Answers the first `count` requests matching `method path` with `fault`, forwards the rest. */
  function faultOn(method: string, path: string, count: number, fault: ScriptedAction) {
    let seen = 0;
    proxy.reset((request) => {
      if (request.method === method && request.path === path && seen < count) {
        seen++;
        return fault;
      }
      return { forward: true };
    });
  }

  const unavailable = {
    ...vaultError(503, "ServiceUnavailable", "The service is temporarily unavailable."),
  };

  it("a transient 503 and a dropped connection while polling a delete do not fail it", async () => {
    const client = loopbackClient(proxy.url, vault.credential);
    const name = uniqueName("pdel");
    await client.setSecret(name, "v");
    let seen = 0;
    proxy.reset((request) => {
      if (request.method === "GET" && request.path === `/deletedsecrets/${name}` && seen < 2) {
        return seen++ === 0 ? unavailable : { drop: true };
      }
      return { forward: true };
    });
    const poller = await client.beginDeleteSecret(name, { intervalInMs: 10 });
    const deleted = await poller.pollUntilDone();
    assert.equal(deleted.name, name);
    assert.ok(deleted.recoveryId?.endsWith(`/deletedsecrets/${name}`));
    const polls = proxy.requests.filter((r) => r.path === `/deletedsecrets/${name}`);
    assert.ok(polls.length >= 3, `the 503 and the drop were retried (${polls.length} polls)`);
    assert.equal(proxy.requests.filter((r) => r.method === "DELETE").length, 1, "one DELETE");
    client.close();
  });

  it("a transient 503 while polling a recover does not fail it", async () => {
    const client = loopbackClient(proxy.url, vault.credential);
    const name = uniqueName("prec");
    await client.setSecret(name, "kept");
    await (await client.beginDeleteSecret(name, { intervalInMs: 10 })).pollUntilDone();
    faultOn("GET", `/secrets/${name}/`, 1, unavailable);
    const poller = await client.beginRecoverDeletedSecret(name, { intervalInMs: 10 });
    const properties = await poller.pollUntilDone();
    assert.equal(properties.name, name);
    assert.equal((await client.getSecret(name)).value, "kept");
    assert.ok(proxy.requests.some((r) => r.path === `/secrets/${name}/`));
    client.close();
  });

  it("a delete poller serialized here resumes to completion in another process", async function () {
    this.timeout(30_000);
    const client = loopbackClient(vault.vaultUrl, vault.credential);
    const name = uniqueName("xdel");
    const set = await client.setSecret(name, "cross-process-value");
    const poller = await client.beginDeleteSecret(name, { intervalInMs: 10 });
    poller.stopPolling();
    const state = poller.toString();
    assert.ok(!state.includes("cross-process-value"), "the serialized poller holds no value");
    const run = await runScript(
      "test/reliability/fixtures/resumePoller.ts",
      ["delete", vault.vaultUrl, name],
      { RESUME_FROM: state },
    );
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    const child = JSON.parse(run.stdout.trim().split("\n").pop()!) as {
      name: string;
      version: string;
      recoveryId: string;
      sent: string[];
    };
    assert.equal(child.name, name);
    assert.equal(child.version, set.properties.version);
    assert.equal(child.recoveryId, `${vault.vaultUrl}/deletedsecrets/${name}`);
    assert.ok(
      child.sent.every((line) => line === `GET /deletedsecrets/${name}`),
      `the child only polls, it does not delete again: ${child.sent.join(", ")}`,
    );

    const recover = await client.beginRecoverDeletedSecret(name, { intervalInMs: 10 });
    recover.stopPolling();
    const recoverRun = await runScript(
      "test/reliability/fixtures/resumePoller.ts",
      ["recover", vault.vaultUrl, name],
      { RESUME_FROM: recover.toString() },
    );
    assert.equal(recoverRun.code, 0, `${recoverRun.stdout}\n${recoverRun.stderr}`);
    const recovered = JSON.parse(recoverRun.stdout.trim().split("\n").pop()!) as {
      name: string;
      sent: string[];
    };
    assert.equal(recovered.name, name);
    assert.ok(recovered.sent.every((line) => line === `GET /secrets/${name}/`));
    assert.equal((await client.getSecret(name)).value, "cross-process-value");
    client.close();
  });
});
