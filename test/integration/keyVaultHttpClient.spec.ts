import assert from "node:assert/strict";
import { inspect } from "node:util";
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import {
  createPipelineRequest,
  isRestError,
  type HttpClient,
  type PipelineRequest,
} from "@azure/core-rest-pipeline";
import { createKeyVaultHttpClient } from "../../src/pipeline/keyVaultHttpClient.js";
import { httpAnswer, inMemoryAgent } from "../helpers/inMemoryConnection.js";
import { promisesPerCall } from "../helpers/promiseCount.js";

describe("integration: createKeyVaultHttpClient over real sockets", () => {
  let server: Server;
  let origin: string;
  let handler: (req: IncomingMessage, res: ServerResponse, body: string) => void;
  const fallbackCalls: PipelineRequest[] = [];
  const fallback: HttpClient = {
    async sendRequest(request) {
      fallbackCalls.push(request);
      return { request, status: 299, headers: request.headers };
    },
  };
  const keepAliveAgent = new Agent({ keepAlive: true });
  const closingAgent = new Agent({ keepAlive: false });
  const agentsSeen: Agent[] = [];
  const client = createKeyVaultHttpClient(fallback, (request) => {
    const agent = request.disableKeepAlive ? closingAgent : keepAliveAgent;
    agentsSeen.push(agent);
    return agent;
  });

  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => handler(req, res, Buffer.concat(chunks).toString("utf8")));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    keepAliveAgent.destroy();
    closingAgent.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    fallbackCalls.length = 0;
    agentsSeen.length = 0;
  });

  const request = (
    path: string,
    extra: Partial<Parameters<typeof createPipelineRequest>[0]> = {},
  ) => createPipelineRequest({ url: origin + path, allowInsecureConnection: true, ...extra });

  it("sends method, path, query, headers and body, and returns status, headers and text", async () => {
    let seen: { method?: string; url?: string; type?: string; length?: string; body?: string } = {};
    handler = (req, res, body) => {
      seen = {
        method: req.method,
        url: req.url,
        type: req.headers["content-type"],
        length: req.headers["content-length"],
        body,
      };
      res.writeHead(201, { "content-type": "application/json", "x-ms-request-id": "r1" });
      res.end('{"ok":"é"}');
    };
    const sent = request("/secrets/a?api-version=7.6", { method: "PUT", body: '{"value":"é"}' });
    sent.headers.set("content-type", "application/json");
    const response = await client.sendRequest(sent);
    assert.deepEqual(seen, {
      method: "PUT",
      url: "/secrets/a?api-version=7.6",
      type: "application/json",
      length: String(Buffer.byteLength('{"value":"é"}')),
      body: '{"value":"é"}',
    });
    assert.equal(response.status, 201);
    assert.equal(response.headers.get("x-ms-request-id"), "r1");
    assert.equal(response.bodyAsText, '{"ok":"é"}');
    assert.equal(sent.headers.has("content-length"), false, "the request object is left as it was");
    assert.equal(fallbackCalls.length, 0);
  });

  it("gives the response headers Node's own view has: lowercase, repeats kept or joined as Node does", async () => {
    // Every header Node keeps the first of, some it joins, set-cookie and cookie, in mixed case.
    const repeated = [
      ...["Age", "ETag", "Location", "Server", "Expires", "Content-Type", "Last-Modified"],
      ...["Retry-After", "Referer", "From", "Host", "User-Agent", "Max-Forwards", "Authorization"],
      ...["Proxy-Authorization", "If-Modified-Since", "If-Unmodified-Since"],
      ...["X-Ms-Request-Id", "WWW-Authenticate", "Vary", "Set-Cookie", "Cookie", "Cache-Control"],
    ];
    let nodeView: IncomingMessage["headers"] = {};
    handler = (_req, res) => {
      res.setHeader("x-single", "one");
      for (const name of repeated) res.appendHeader(name, ["first", "second"]);
      res.end("{}");
    };
    const response = await client.sendRequest(request("/headers"));
    // The oracle: Node's `message.headers` for the same answer.
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(`${origin}/headers`, { agent: keepAliveAgent }, (res) => {
        nodeView = res.headers;
        res.resume();
        res.on("end", resolve);
      });
      req.on("error", reject);
      req.end();
    });
    const expected: Record<string, string> = {};
    for (const [name, value] of Object.entries(nodeView)) {
      if (value !== undefined) expected[name] = Array.isArray(value) ? value.join(", ") : value;
    }
    assert.equal(expected["etag"], "first", "the oracle keeps the first ETag");
    assert.equal(expected["vary"], "first, second", "the oracle joins Vary");
    assert.deepEqual(response.headers.toJSON(), expected);
    assert.equal(response.headers.get("X-SINGLE"), "one");
    assert.equal(response.headers.has("cookie"), true);
    assert.deepEqual([...response.headers].length, Object.keys(expected).length);
    assert.match(inspect(response.headers), /x-single/);
  });

  it("sends the Host header Node would, or the caller's own, and no header smuggled in by a line break", async () => {
    const seen: Array<string | undefined> = [];
    handler = (req, res) => {
      seen.push(req.headers.host);
      res.end("{}");
    };
    await client.sendRequest(request("/host"));
    const own = request("/host");
    own.headers.set("Host", "vault.example:8443");
    await client.sendRequest(own);
    const port = new URL(origin).port;
    assert.deepEqual(seen, [`127.0.0.1:${port}`, "vault.example:8443"]);
    // IPv6 in brackets, as Node writes it; a default port is left out.
    const v6 = createServer((req, res) => res.end(JSON.stringify(req.headers.host)));
    await new Promise<void>((resolve) => v6.listen(0, "::1", resolve));
    try {
      const v6Port = (v6.address() as AddressInfo).port;
      const answer = await client.sendRequest(
        createPipelineRequest({ url: `http://[::1]:${v6Port}/x`, allowInsecureConnection: true }),
      );
      assert.equal(answer.bodyAsText, JSON.stringify(`[::1]:${v6Port}`));
    } finally {
      v6.closeAllConnections();
      await new Promise((resolve) => v6.close(resolve));
    }
    // A line break cannot smuggle a header in: core's headers drop it, Node checks what is left.
    let injectedSeen: IncomingMessage["headers"] = {};
    handler = (req, res) => {
      injectedSeen = req.headers;
      res.end("{}");
    };
    const injected = request("/host");
    injected.headers.set("x-note", "a\r\nX-Injected: 1");
    await client.sendRequest(injected);
    assert.equal(injectedSeen["x-injected"], undefined);
    assert.equal(injectedSeen["x-note"], "aX-Injected: 1");
  });

  it("sends an empty POST, PUT or PATCH with Content-Length 0 and a GET or DELETE with no length, never chunked", async () => {
    const seen: string[] = [];
    handler = (req, res) => {
      seen.push(
        `${req.method} ${req.headers["content-length"] ?? "-"} ${req.headers["transfer-encoding"] ?? "-"}`,
      );
      res.end("{}");
    };
    for (const method of ["POST", "PUT", "PATCH", "GET", "DELETE"] as const) {
      await client.sendRequest(request("/empty", { method }));
    }
    // With an agent of the caller's (Node's usual path), the same.
    const own = request("/empty", { method: "POST" });
    own.agent = keepAliveAgent;
    await client.sendRequest(own);
    assert.deepEqual(seen, [
      "POST 0 -",
      "PUT 0 -",
      "PATCH 0 -",
      "GET - -",
      "DELETE - -",
      "POST 0 -",
    ]);
  });

  it("hands streams, progress callbacks and compressed responses to the fallback client", async () => {
    await client.sendRequest(request("/", { onDownloadProgress: () => {} }));
    await client.sendRequest(request("/", { streamResponseStatusCodes: new Set([200]) }));
    const gzip = request("/");
    gzip.headers.set("accept-encoding", "gzip");
    await client.sendRequest(gzip);
    assert.equal(fallbackCalls.length, 3);
  });

  it("gives the fallback client the owner's agent for the call, and leaves the request as it was", async () => {
    const agents: unknown[] = [];
    const recording = createKeyVaultHttpClient(
      {
        async sendRequest(sent) {
          agents.push(sent.agent);
          return { request: sent, status: 200, headers: sent.headers };
        },
      },
      () => keepAliveAgent,
    );
    const sent = request("/", { onDownloadProgress: () => {} });
    await recording.sendRequest(sent);
    assert.deepEqual(agents, [keepAliveAgent]);
    assert.equal(sent.agent, undefined);
  });

  it("sends each request on the agent the owner gives it", async () => {
    handler = (_req, res) => res.end("{}");
    await client.sendRequest(request("/a"));
    await client.sendRequest(request("/b", { disableKeepAlive: true }));
    assert.deepEqual(agentsSeen, [keepAliveAgent, closingAgent]);
  });

  it("keeps the connection alive by default, and closes it after the answer when keep-alive is disabled", async () => {
    let connection: string | undefined;
    handler = (req, res) => {
      connection = req.headers["connection"];
      res.end("{}");
    };
    await client.sendRequest(request("/once", { disableKeepAlive: true }));
    assert.equal(connection, "close");
    await client.sendRequest(request("/kept"));
    assert.equal(connection, "keep-alive");
  });

  it("refuses http without allowInsecureConnection", async () => {
    await assert.rejects(
      client.sendRequest(createPipelineRequest({ url: `${origin}/` })),
      /allowInsecureConnection is false/,
    );
  });

  it("names a timeout as a timeout", async () => {
    handler = () => {
      // never answers
    };
    await assert.rejects(
      client.sendRequest(request("/slow", { timeout: 50 })),
      (error: Error) => error.name === "AbortError" && /timed out after 50 ms/.test(error.message),
    );
  });

  it("rejects with an AbortError when the signal fires, and at once when already aborted", async () => {
    handler = () => {};
    const controller = new AbortController();
    const pending = client.sendRequest(request("/hang", { abortSignal: controller.signal }));
    setTimeout(() => controller.abort(), 20);
    await assert.rejects(pending, { name: "AbortError" });
    await assert.rejects(
      client.sendRequest(request("/x", { abortSignal: AbortSignal.abort() })),
      /already been canceled/,
    );
  });

  it("reports a response cut off mid-body as a retriable ECONNRESET RestError", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": "100" });
      res.write('{"value":"par');
      setTimeout(() => res.socket?.destroy(), 10);
    };
    await assert.rejects(client.sendRequest(request("/cut")), (error: unknown) => {
      assert.ok(isRestError(error));
      assert.equal(error.code, "ECONNRESET");
      return true;
    });
  });

  it("reports a refused connection as a RestError with the system code", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await assert.rejects(
      client.sendRequest(
        createPipelineRequest({ url: `http://127.0.0.1:${port}/`, allowInsecureConnection: true }),
      ),
      (error: unknown) => isRestError(error) && error.code === "ECONNREFUSED",
    );
  });
});

describe("createKeyVaultHttpClient: promises", () => {
  // In memory: the answer comes within the same turn of the event loop, so that nothing else
  // makes promises while a request is counted.
  const { agent } = inMemoryAgent(() => httpAnswer("200 OK", [], "{}"));
  after(() => agent.destroy());

  it("makes one promise per request of its own, as a bare node:http request would (2 with the caller's await)", async () => {
    const fallback: HttpClient = {
      sendRequest: () => Promise.reject(new Error("not for the fallback")),
    };
    const client = createKeyVaultHttpClient(fallback, () => agent);
    const send = () =>
      client.sendRequest(
        createPipelineRequest({ url: "http://127.0.0.1/secrets/a", allowInsecureConnection: true }),
      );
    // The first request opens the connection; the counted ones reuse it.
    assert.equal((await send()).bodyAsText, "{}");
    for (let i = 0; i < 3; i++) assert.equal(await promisesPerCall(send), 2);
  });
});
