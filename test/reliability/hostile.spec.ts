/**
 * Hostile and malformed responses from a scripted vault over real HTTP: bodies that are not JSON,
 * are truncated, have the wrong shape or are huge; ids, nextLinks, redirects and challenges that
 * name another host. A second, "foreign" server must never receive anything.
 */
import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import { createHttpHeaders, type HttpClient } from "@azure/core-rest-pipeline";
import { isRestError, SecretClient } from "../../src/index.js";
import {
  collect,
  json,
  loopbackClient,
  newVersion,
  rejectionOf,
  startScriptedServer,
  unexpectedErrorReason,
  vaultChallenge,
  type ScriptedAction,
  type ScriptedServer,
} from "./reliabilityKit.js";
import { fixedTokenCredential } from "../helpers/fakeCredential.js";

describe("reliability: hostile responses over HTTP", () => {
  const credential = fixedTokenCredential();
  let vault: ScriptedServer;
  let foreign: ScriptedServer;
  const clients: SecretClient[] = [];
  const secretValue = `hostile-${newVersion()}`;

  function client(options = {}): SecretClient {
    const created = loopbackClient(vault.url, credential, {
      retryOptions: { retryDelayInMs: 1, maxRetryDelayInMs: 4, maxRetries: 1 },
      ...options,
    });
    clients.push(created);
    return created;
  }

  function always(action: ScriptedAction): void {
    vault.reset(() => action);
  }

  function bundle(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      value: secretValue,
      id: `${vault.url}/secrets/s/${newVersion()}`,
      attributes: { enabled: true, created: 1700000000, updated: 1700000000 },
      ...extra,
    };
  }

  /** The operation fails with a RestError of this status whose message matches. */
  async function assertFails(
    promise: Promise<unknown>,
    statusCode: number,
    message: RegExp,
  ): Promise<void> {
    const error = await rejectionOf(promise);
    assert.equal(unexpectedErrorReason(error), undefined);
    assert.ok(isRestError(error), `${error.name}: ${error.message}`);
    assert.equal(error.statusCode, statusCode);
    assert.match(error.message, message);
    assert.ok(!error.message.includes(secretValue));
  }

  before(async () => {
    vault = await startScriptedServer(() => ({ status: 500 }));
    foreign = await startScriptedServer(() => json(200, { value: [] }), { challenge: null });
  });
  afterEach(() => {
    assert.deepEqual(
      foreign.requests.map((r) => `${r.method} ${r.url}`),
      [],
      "the foreign server received nothing",
    );
  });
  after(async () => {
    clients.forEach((c) => c.close());
    await vault.close();
    await foreign.close();
  });

  it("a 200 whose body is not JSON: RestError PARSE_ERROR", async () => {
    always({ status: 200, headers: { "content-type": "text/plain" }, body: "OK, stored." });
    await assertFails(client().getSecret("s"), 200, /body is not valid JSON/);
  });

  it("an HTML error page: RestError with the status, naming the content type", async () => {
    always({
      status: 404,
      headers: { "content-type": "text/html; charset=utf-8" },
      body: "<!DOCTYPE html><html><body>Not Found</body></html>",
    });
    await assertFails(client().getSecret("s"), 404, /not JSON \(text\/html; charset=utf-8\)/);
  });

  it("truncated JSON: RestError PARSE_ERROR, the value not echoed", async () => {
    const text = JSON.stringify(bundle());
    always({
      status: 200,
      headers: { "content-type": "application/json" },
      body: text.slice(0, 30),
    });
    await assertFails(client().getSecret("s"), 200, /not valid JSON/);
  });

  const wrongShapes: Array<[string, unknown, RegExp]> = [
    ["an array body", [1, 2], /not a JSON object/],
    ["a string body", "just a string", /not a JSON object/],
    ["null", null, /not a JSON object/],
    ["no id", { value: "v" }, /has no "id"/],
    ["a numeric id", { id: 42 }, /"id" is a number, expected a string/],
    ["an id that is not a secret id", { id: "https://x/keys/k" }, /not a secret identifier/],
    ["a string value", { ...{ id: "ID" }, value: 7 }, /"value" is a number/],
    ["attributes as a string", { id: "ID", attributes: "yes" }, /"attributes" is not an object/],
    ["enabled as a string", { id: "ID", attributes: { enabled: "true" } }, /attributes\.enabled/],
    ["created as a string", { id: "ID", attributes: { created: "now" } }, /attributes\.created/],
    ["a numeric tag", { id: "ID", tags: { a: 1 } }, /tag "a" is a number/],
    ["tags as an array", { id: "ID", tags: ["a"] }, /"tags" is not an object/],
  ];
  for (const [what, body, message] of wrongShapes) {
    it(`a bundle with ${what}: RestError PARSE_ERROR naming the field`, async () => {
      const withId =
        typeof body === "object" && body !== null && (body as { id?: unknown }).id === "ID"
          ? { ...body, id: `${vault.url}/secrets/s/${newVersion()}` }
          : body;
      always(json(200, withId));
      await assertFails(client().getSecret("s"), 200, message);
    });
  }

  it("a list page with a wrong shape: RestError naming value or nextLink", async () => {
    always(json(200, { value: { not: "an array" } }));
    await assertFails(collect(client().listPropertiesOfSecrets()), 200, /"value" is not an array/);
    always(json(200, { value: [], nextLink: 12 }));
    await assertFails(
      collect(client().listPropertiesOfSecrets()),
      200,
      /"nextLink" is not a string/,
    );
    always(json(200, { value: [{ attributes: {} }] }));
    await assertFails(collect(client().listPropertiesOfSecrets()), 200, /has no "id"/);
  });

  it("a 20 MB body: a huge value is read whole; a huge error page gives a short message", async function () {
    this.timeout(20_000);
    const huge = "x".repeat(20 * 1024 * 1024);
    always(json(200, bundle({ value: huge })));
    const started = performance.now();
    const secret = await client().getSecret("s");
    assert.equal(secret.value?.length, huge.length);
    always({ status: 500, headers: { "content-type": "text/html" }, body: huge });
    const error = await rejectionOf(client().getSecret("s"));
    assert.ok(isRestError(error));
    assert.equal(error.statusCode, 500);
    assert.ok(error.message.length < 500, `the message is ${error.message.length} characters`);
    always({ status: 200, body: `{"value":"${huge}` });
    await assertFails(client().getSecret("s"), 200, /not valid JSON/);
    assert.ok(performance.now() - started < 15_000);
  });

  it("ids naming another host are data only: nothing is ever sent there", async () => {
    const foreignId = `${foreign.url}/secrets/s/${newVersion()}`;
    vault.reset((request) => {
      if (request.path.startsWith("/deletedsecrets/")) {
        return json(200, { id: foreignId, recoveryId: `${foreign.url}/deletedsecrets/s` });
      }
      if (request.method === "DELETE") {
        return json(200, { id: foreignId, recoveryId: `${foreign.url}/deletedsecrets/s` });
      }
      if (request.path === "/secrets") {
        return json(200, { value: [{ id: `${foreign.url}/secrets/s` }] });
      }
      return json(200, { value: secretValue, id: foreignId });
    });
    const c = client();
    const secret = await c.getSecret("s");
    assert.equal(
      secret.properties.vaultUrl,
      foreign.url,
      "the id is reported as the vault sent it",
    );
    await c.updateSecretProperties("s", secret.properties.version!, { enabled: true });
    await (await c.beginDeleteSecret("s", { intervalInMs: 1 })).pollUntilDone();
    await collect(c.listPropertiesOfSecrets());
    assert.ok(vault.authorized().length >= 5);
  });

  it("a nextLink to a foreign origin is followed on the vault's origin, token and all", async () => {
    vault.reset((request) => {
      if (request.url.includes("skiptoken=page2")) return json(200, { value: [], nextLink: null });
      return json(200, {
        value: [{ id: `${vault.url}/secrets/a` }],
        nextLink: `${foreign.url}/secrets?api-version=7.6&$skiptoken=page2&maxresults=1`,
      });
    });
    const items = await collect(client().listPropertiesOfSecrets());
    assert.deepEqual(
      items.map((i) => i.name),
      ["a"],
    );
    const second = vault.requests.find((r) => r.url.includes("skiptoken=page2"));
    assert.ok(second, "the second page was asked of the vault");
    assert.equal(second.authorization, `Bearer ${credential.token}`);
    // A continuation token handed in by the caller is held to the same rule.
    const pages = client()
      .listPropertiesOfSecrets()
      .byPage({ continuationToken: `${foreign.url}/secrets?$skiptoken=page2` });
    await collect(pages);
  });

  it("a redirect to a foreign origin is not followed", async () => {
    always({ status: 307, headers: { location: `${foreign.url}/secrets/s` }, body: "" });
    const error = await rejectionOf(client().setSecret("s", secretValue));
    assert.ok(isRestError(error));
    assert.equal(error.statusCode, 307);
    assert.ok(!error.message.includes(secretValue));
  });

  for (const location of ["http://[", "//", "https://exa mple.com/x", "http://a:99999/"]) {
    it(`a redirect with a malformed Location (${JSON.stringify(location)}): a RestError with the status, not a TypeError`, async () => {
      always({ status: 307, headers: { location }, body: "" });
      const error = await rejectionOf(client().getSecret("s"));
      assert.equal(unexpectedErrorReason(error), undefined);
      assert.ok(isRestError(error), `${error.name}: ${error.message}`);
      assert.equal(error.statusCode, 307);
    });
  }

  const malformedChallenges = [
    "",
    "Bearer",
    "Bearer ",
    "Basic realm=vault",
    "Bearer authorization=",
    'Bearer resource="not a url"',
    'Bearer scope="::::"',
    'Bearer authorization="https://login.windows.net/t", resource="https://vault.azure.net',
    'Bearer ,,,, = = "" resource',
    '"""""',
    "Bearer resource=https://vault.azure.net\u0000",
    `Bearer resource="${"a".repeat(6000)}"`,
    'Negotiate, Bearer error="insufficient_claims", claims="!!!"',
  ];
  for (const header of malformedChallenges) {
    it(`a malformed challenge (${JSON.stringify(header.slice(0, 40))}) gives back the 401 or works; never a TypeError`, async () => {
      // A fresh origin each time, so that no remembered challenge stands in for this one.
      const server = await startScriptedServer(() => json(200, bundle()), {
        challenge: {
          status: 401,
          headers: header === "" ? {} : { "WWW-Authenticate": header.replace("\u0000", "") },
          body: JSON.stringify({ error: { code: "Unauthorized", message: "AKV10000: no token" } }),
        },
      });
      const c = loopbackClient(server.url, credential, { retryOptions: { maxRetries: 0 } });
      try {
        const outcome = await c.getSecret("s").then(
          () => undefined,
          (error: unknown) => error,
        );
        if (outcome !== undefined) {
          assert.equal(unexpectedErrorReason(outcome), undefined);
          assert.ok(isRestError(outcome));
          assert.equal(outcome.statusCode, 401);
          assert.ok(server.requests.every((r) => r.authorization === undefined));
        }
      } finally {
        c.close();
        await server.close();
      }
    });
  }

  it("a challenge naming a foreign resource, with verification on: refused before any token", async () => {
    const server = await startScriptedServer(() => json(200, bundle()), {
      challenge: {
        status: 401,
        headers: {
          "WWW-Authenticate": `Bearer authorization="https://login.windows.net/t", resource="${foreign.url}"`,
        },
        body: "",
      },
    });
    const counting = fixedTokenCredential();
    const c = loopbackClient(server.url, counting, { disableChallengeResourceVerification: false });
    try {
      const error = await rejectionOf(c.setSecret("s", secretValue));
      assert.equal(unexpectedErrorReason(error), undefined);
      assert.match(error.message, /do not match.*disableChallengeResourceVerification/s);
      assert.equal(counting.calls.length, 0, "no token was asked for");
      assert.deepEqual(
        server.requests.map((r) => [r.authorization, r.body]),
        [[undefined, ""]],
        "one request, without token or body",
      );
    } finally {
      c.close();
      await server.close();
    }
  });

  it("a challenge with an http: authority: the tenant is taken, nothing is sent to the authority", async () => {
    const server = await startScriptedServer(() => json(200, bundle()), {
      challenge: {
        status: 401,
        headers: {
          "WWW-Authenticate": `Bearer authorization="${foreign.url}/evil-tenant", resource="https://vault.azure.net"`,
        },
        body: "",
      },
    });
    const counting = fixedTokenCredential();
    const c = loopbackClient(server.url, counting);
    try {
      await c.getSecret("s");
      assert.equal(counting.calls.length, 1);
      assert.equal(counting.calls[0]!.scopes, "https://vault.azure.net/.default");
      assert.ok(server.authorized().length === 1);
    } finally {
      c.close();
      await server.close();
    }
  });
});

describe("reliability: nextLinks with a scheme that is not http(s)", () => {
  // A fake HttpClient: nothing leaves the process, and every URL the client would fetch is seen.
  const vaultUrl = "https://nextlink-scheme.vault.azure.net";
  const hostileLinks = [
    "file:///etc/passwd?$skiptoken=1",
    "javascript:alert(1)",
    "data:text/plain,hello",
    "foo://evil.example/secrets?$skiptoken=2",
  ];

  for (const nextLink of hostileLinks) {
    it(`a nextLink of ${JSON.stringify(nextLink)} is fetched from the vault or refused, never elsewhere`, async () => {
      const fetched: string[] = [];
      const httpClient: HttpClient = {
        async sendRequest(request) {
          fetched.push(request.url);
          const first = fetched.length === 1;
          const status = request.headers.has("authorization") || !first ? 200 : 401;
          const body =
            new URL(request.url).origin === vaultUrl && !request.url.includes("skiptoken")
              ? { value: [], nextLink }
              : { value: [] };
          return {
            request,
            status,
            headers: createHttpHeaders(
              status === 401 ? { "www-authenticate": vaultChallenge } : {},
            ),
            bodyAsText: status === 401 ? "" : JSON.stringify(body),
          };
        },
      };
      const client = new SecretClient(vaultUrl, fixedTokenCredential(), { httpClient });
      const outcome = await collect(client.listPropertiesOfSecrets()).then(
        () => undefined,
        (error: unknown) => error,
      );
      if (outcome !== undefined) assert.equal(unexpectedErrorReason(outcome), undefined);
      const elsewhere = fetched.filter((url) => new URL(url).origin !== vaultUrl);
      assert.deepEqual(
        elsewhere,
        [],
        `the client fetched a page outside the vault (Node's HTTP client sends a URL without an http host to localhost:80)`,
      );
    });
  }
});
