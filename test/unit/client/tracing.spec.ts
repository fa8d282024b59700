import assert from "node:assert/strict";
import { useInstrumenter, type Instrumenter, type TracingSpan } from "@azure/core-tracing";
import { createPipelineRequest } from "@azure/core-rest-pipeline";
import nock from "nock";
import { useDefaultInstrumenter } from "../../helpers/instrumenters.js";
import { createClient, primeChallenge, vault, vaultUrl } from "./helpers.js";

describe("tracing", () => {
  const spans: Array<{
    name: string;
    attributes: Record<string, unknown>;
    parent: unknown;
    kind: unknown;
    context?: unknown;
    status?: string;
  }> = [];
  const recorder: Instrumenter = {
    startSpan(name, spanOptions) {
      const recorded = {
        name,
        attributes: { ...spanOptions?.spanAttributes } as Record<string, unknown>,
        parent: spanOptions?.tracingContext,
        kind: spanOptions?.spanKind,
        context: undefined as unknown,
        status: undefined as string | undefined,
      };
      spans.push(recorded);
      const span: TracingSpan = {
        end() {},
        setAttribute(key, value) {
          recorded.attributes[key] = value;
        },
        setStatus(status) {
          recorded.status = status.status;
        },
        recordException() {},
        isRecording: () => true,
      };
      const tracingContext = createContext();
      recorded.context = tracingContext;
      return { span, tracingContext };
    },
    withContext: (_context, callback, ...args) => callback(...args),
    parseTraceparentHeader: () => undefined,
    createRequestHeaders: () => ({}),
  };
  function createContext() {
    const values = new Map<symbol, unknown>();
    const context = {
      getValue: (key: symbol) => values.get(key),
      setValue: (key: symbol, value: unknown) => {
        values.set(key, value);
        return context;
      },
      deleteValue: (key: symbol) => {
        values.delete(key);
        return context;
      },
    };
    return context;
  }

  before(async () => {
    nock.disableNetConnect();
    await primeChallenge();
    useInstrumenter(recorder);
  });
  after(() => {
    nock.cleanAll();
    nock.enableNetConnect();
    useDefaultInstrumenter();
  });

  it("wraps each method in a SecretClient.<method> span in namespace Microsoft.KeyVault", async () => {
    vault()
      .get("/secrets/a/")
      .query(true)
      .reply(200, { value: "v", id: `${vaultUrl}/secrets/a/${"0".repeat(32)}` });
    vault().delete("/deletedsecrets/a").query(true).reply(204);
    const client = createClient();
    await client.getSecret("a");
    await client.purgeDeletedSecret("a");
    const ours = spans.filter((s) => s.name.startsWith("SecretClient."));
    assert.deepEqual(
      ours.map((s) => s.name),
      ["SecretClient.getSecret", "SecretClient.purgeDeletedSecret"],
    );
    assert.ok(ours.every((s) => s.attributes["az.namespace"] === "Microsoft.KeyVault"));
  });

  it("records an HTTP span per request under the client span, with core's attributes", async () => {
    spans.length = 0;
    vault()
      .get("/secrets/b/")
      .query(true)
      .reply(
        200,
        { value: "v", id: `${vaultUrl}/secrets/b/${"0".repeat(32)}` },
        {
          "x-ms-request-id": "service-request-1",
        },
      );
    await createClient().getSecret("b");
    const clientSpan = spans.find((s) => s.name === "SecretClient.getSecret");
    const httpSpan = spans.find((s) => s.name === "HTTP GET");
    assert.ok(clientSpan && httpSpan, "both spans are started");
    assert.equal(
      httpSpan.parent,
      clientSpan.context,
      "the HTTP span is a child of the client span",
    );
    assert.equal(httpSpan.kind, "client");
    assert.match(String(httpSpan.attributes["http.url"]), /\/secrets\/b\/\?api-version=/);
    assert.equal(httpSpan.attributes["http.method"], "GET");
    assert.match(
      String(httpSpan.attributes["http.user_agent"]),
      /keyvault-secrets\/.* core-rest-pipeline\//,
    );
    assert.equal(typeof httpSpan.attributes.requestId, "string");
    assert.equal(httpSpan.attributes["http.status_code"], 200);
    assert.equal(httpSpan.attributes.serviceRequestId, "service-request-1");
  });

  it("redacts query values other than the allowed ones in http.url", async () => {
    spans.length = 0;
    vault().get("/secrets").query(true).reply(200, { value: [] });
    const client = createClient();
    await client.sendRequest(
      createPipelineRequest({
        url: `${vaultUrl}/secrets?api-version=2025-07-01&secretParam=hidden&maxresults=5`,
      }),
    );
    const httpSpan = spans.find((s) => s.name === "HTTP GET");
    assert.ok(httpSpan);
    const url = String(httpSpan.attributes["http.url"]);
    assert.ok(url.includes("secretParam=REDACTED"), url);
    assert.ok(url.includes("maxresults=5") && url.includes("api-version=2025-07-01"), url);
    assert.ok(!url.includes("hidden"), url);
  });

  it("starts no HTTP span under a client span that is not recorded", async () => {
    const started: string[] = [];
    useInstrumenter({
      ...recorder,
      startSpan(name, spanOptions) {
        started.push(name);
        const result = recorder.startSpan(name, spanOptions);
        return { ...result, span: { ...result.span, isRecording: () => false } };
      },
    });
    try {
      vault()
        .get("/secrets/c/")
        .query(true)
        .reply(200, { value: "v", id: `${vaultUrl}/secrets/c/${"0".repeat(32)}` });
      const secret = await createClient().getSecret("c");
      assert.equal(secret.value, "v");
      assert.deepEqual(started, ["SecretClient.getSecret"]);
    } finally {
      useInstrumenter(recorder);
    }
  });

  it("sets the status of a recorded client span: success, or error when the operation fails", async () => {
    spans.length = 0;
    vault()
      .get("/secrets/ok/")
      .query(true)
      .reply(200, { value: "v", id: `${vaultUrl}/secrets/ok/${"0".repeat(32)}` });
    vault()
      .get("/secrets/gone/")
      .query(true)
      .reply(404, { error: { code: "SecretNotFound", message: "no" } });
    const client = createClient();
    await client.getSecret("ok");
    await assert.rejects(client.getSecret("gone"), { statusCode: 404 });
    const clientSpans = spans.filter((s) => s.name === "SecretClient.getSecret");
    assert.deepEqual(
      clientSpans.map((s) => s.status),
      ["success", "error"],
    );
  });

  it("runs the operation of a span that is not recorded inside the span's context", async () => {
    const contexts: unknown[] = [];
    const entered: unknown[] = [];
    useInstrumenter({
      ...recorder,
      startSpan(name, spanOptions) {
        const result = recorder.startSpan(name, spanOptions);
        contexts.push(result.tracingContext);
        return { ...result, span: { ...result.span, isRecording: () => false } };
      },
      withContext: (context, callback, ...args) => {
        entered.push(context);
        return callback(...args);
      },
    });
    try {
      vault()
        .get("/secrets/d/")
        .query(true)
        .reply(200, { value: "v", id: `${vaultUrl}/secrets/d/${"0".repeat(32)}` });
      assert.equal((await createClient().getSecret("d")).value, "v");
      assert.equal(contexts.length, 1);
      assert.deepEqual(entered, contexts);
    } finally {
      useInstrumenter(recorder);
    }
  });

  it("marks the HTTP span as an error for a 4xx/5xx answer", async () => {
    spans.length = 0;
    vault()
      .get("/secrets/missing/")
      .query(true)
      .reply(404, { error: { code: "SecretNotFound", message: "no" } });
    await assert.rejects(createClient().getSecret("missing"), { statusCode: 404 });
    const notFound = spans.find((s) => s.name === "HTTP GET");
    assert.ok(notFound);
    assert.equal(notFound.attributes["http.status_code"], 404);
    assert.equal(notFound.status, "error");
  });
});
