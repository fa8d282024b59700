/**
 * A minimal Key Vault stand-in with canned answers, run in its own process so that benchmarks
 * measure clients, not a server: a request without `Authorization` gets the 401 challenge; with
 * one, GET /secrets/{name} and PUT /secrets/{name} get a fixed bundle, GET /secrets gets list pages
 * of 25 items chained by nextLink up to the configured number of items. Bodies are built once per
 * Host header and then only written. Protocol: framework/protocol.ts.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { ServerResponse } from "node:http";
import { generateSelfSignedCertificate } from "../../src/emulator/tls/tls.js";
import { childConfig, serveChild } from "../framework/childSide.js";
import {
  benchApiVersion,
  getSecretName,
  getSecretValue,
  listPageSize,
  secretName,
  setSecretName,
  setSecretValue,
} from "../framework/fixtures.js";
import type { ServerConfig } from "../framework/protocol.js";

const challenge =
  'Bearer authorization="https://login.windows.net/00000000-0000-0000-0000-000000000000", ' +
  'resource="https://vault.azure.net"';
const unauthorizedBody = Buffer.from(
  JSON.stringify({
    error: { code: "Unauthorized", message: "AKV10000: Request is missing a Bearer or PoP token." },
  }),
);
const notFoundBody = Buffer.from(
  JSON.stringify({ error: { code: "NotFound", message: "The bench server has no such route." } }),
);
const created = 1_700_000_000;
const attributes = {
  enabled: true,
  created,
  updated: created,
  recoveryLevel: "Recoverable+Purgeable",
  recoverableDays: 90,
};
const version = "0123456789abcdef0123456789abcdef";

/** The canned bodies for one Host header. */
interface Bodies {
  get: Buffer;
  set: Buffer;
  /** Page i answers `$skiptoken=i` (page 0: no token). */
  pages: Buffer[];
}

function buildBodies(origin: string, items: number): Bodies {
  const bundle = (name: string, value: string): Buffer =>
    Buffer.from(
      JSON.stringify({
        value,
        id: `${origin}/secrets/${name}/${version}`,
        attributes,
        tags: { env: "bench" },
      }),
    );
  const pageCount = Math.max(1, Math.ceil(items / listPageSize));
  const pages: Buffer[] = [];
  for (let page = 0; page < pageCount; page++) {
    const value = [];
    for (let i = page * listPageSize; i < Math.min(items, (page + 1) * listPageSize); i++) {
      value.push({
        id: `${origin}/secrets/${secretName(i)}`,
        attributes,
        tags: { env: "bench" },
      });
    }
    const nextLink =
      page + 1 < pageCount
        ? `${origin}/secrets?api-version=${benchApiVersion}&$skiptoken=${page + 1}&maxresults=${listPageSize}`
        : null;
    pages.push(Buffer.from(JSON.stringify({ value, nextLink })));
  }
  return {
    get: bundle(getSecretName, getSecretValue),
    set: bundle(setSecretName, setSecretValue),
    pages,
  };
}

function send(
  res: ServerResponse,
  status: number,
  body: Buffer,
  extra?: Record<string, string>,
): void {
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": body.length,
    "cache-control": "no-cache",
    "x-ms-request-id": "00000000-0000-0000-0000-000000000001",
    "x-ms-keyvault-service-version": "1.9.0.0",
    ...extra,
  });
  res.end(body);
}

function startFixedServer(
  config: ServerConfig,
): Promise<{ server: Server; url: string; caCertificate?: string }> {
  const scheme = config.https ? "https" : "http";
  const bodiesByHost = new Map<string, Bodies>();
  const bodiesFor = (host: string): Bodies => {
    let bodies = bodiesByHost.get(host);
    if (bodies === undefined) {
      // A handful of Host spellings at most (127.0.0.1:port, localhost:port); never unbounded.
      if (bodiesByHost.size > 8) bodiesByHost.clear();
      bodies = buildBodies(`${scheme}://${host}`, config.secrets);
      bodiesByHost.set(host, bodies);
    }
    return bodies;
  };

  const answer = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.headers.authorization === undefined) {
      send(res, 401, unauthorizedBody, { "www-authenticate": challenge });
      return;
    }
    const bodies = bodiesFor(req.headers.host ?? "127.0.0.1");
    const url = req.url ?? "/";
    const queryStart = url.indexOf("?");
    const path = (queryStart === -1 ? url : url.slice(0, queryStart)).replace(/^\/+/, "/");
    if (path === "/secrets" || path === "/secrets/") {
      if (req.method !== "GET") return send(res, 404, notFoundBody);
      // Decoded: clients may send the token as `%24skiptoken`.
      const token =
        queryStart === -1 ? null : new URLSearchParams(url.slice(queryStart + 1)).get("$skiptoken");
      const page = token === null ? 0 : Number(token);
      const body = bodies.pages[page];
      return body === undefined ? send(res, 404, notFoundBody) : send(res, 200, body);
    }
    if (path.startsWith("/secrets/")) {
      if (req.method === "GET") return send(res, 200, bodies.get);
      if (req.method === "PUT") return send(res, 200, bodies.set);
    }
    send(res, 404, notFoundBody);
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    // Answer once the request body (PUT) has been read, as a real server does.
    req.on("error", () => res.destroy());
    req.on("end", () => answer(req, res));
    req.resume();
  };

  let caCertificate: string | undefined;
  let server: Server;
  if (config.https) {
    const generated = generateSelfSignedCertificate({ hosts: ["127.0.0.1", "localhost"] });
    caCertificate = generated.caCert;
    server = createHttpsServer({ cert: generated.cert, key: generated.key }, handler);
  } else {
    server = createHttpServer(handler);
  }
  // Idle keep-alive connections must survive while the other contenders take their turn.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({ server, url: `${scheme}://127.0.0.1:${port}`, caCertificate });
    });
  });
}

serveChild(async () => {
  const { server, url, caCertificate } = await startFixedServer(childConfig<ServerConfig>());
  return {
    ready: { url, caCertificate },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
    handlers: {},
  };
});
