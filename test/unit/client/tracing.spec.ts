import assert from "node:assert/strict";
import { useInstrumenter, type Instrumenter, type TracingSpan } from "@azure/core-tracing";
import nock from "nock";
import { createClient, primeChallenge, vault, vaultUrl } from "./helpers.js";

describe("tracing", () => {
  const spans: Array<{ name: string; attributes: Record<string, unknown> }> = [];
  const recorder: Instrumenter = {
    startSpan(name, spanOptions) {
      const recorded = { name, attributes: {} as Record<string, unknown> };
      spans.push(recorded);
      const span: TracingSpan = {
        end() {},
        setAttribute(key, value) {
          recorded.attributes[key] = value;
        },
        setStatus() {},
        recordException() {},
        isRecording: () => true,
      };
      return { span, tracingContext: spanOptions?.tracingContext ?? createContext() };
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
});
