import assert from "node:assert/strict";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createPageRoutes, type PageRoutes } from "../../src/emulator/page/pageRoutes.js";
import { RequestLog } from "../../src/emulator/http/requestLog.js";
import { openSession, sessionHeaders, type PageSession } from "./localVaultTestKit.js";

// The page's routes behind a plain server of their own (test/emulator/page.spec.ts drives them
// through a whole vault): the answers of each route, the action checks, the bounded link and
// session stores. A route that answers must say so (`handle` returns true): the server would
// answer again, and fail, otherwise.

interface PageServer {
  baseUrl: string;
  routes: PageRoutes;
  log: RequestLog;
  /** Errors the server met answering (a second answer to one request, for one). */
  errors: unknown[];
  close(): Promise<void>;
}

async function startPageServer(scheme: "http" | "https", failDelete = false): Promise<PageServer> {
  const log = new RequestLog();
  const routes = createPageRoutes({
    view: {
      secrets: () => [],
      deleted: () => [],
      reveal: (name, version) => `value of ${name}/${version}`,
      delete: async (name) => {
        if (failDelete) throw new Error(`disk full while deleting ${name}`);
      },
    },
    log,
    scheme,
    nowMs: Date.now,
  });
  const errors: unknown[] = [];
  const server: Server = createServer((req, res) => {
    try {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const port = (server.address() as AddressInfo).port;
      const host = { hostname: "127.0.0.1", port, authority: `127.0.0.1:${port}` };
      if (!routes.handle(req, res, url.pathname, Object.fromEntries(url.searchParams), host)) {
        res.writeHead(404).end();
      }
    } catch (error) {
      errors.push(error);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    baseUrl,
    routes,
    log,
    errors,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe("local vault page routes", () => {
  let page: PageServer;
  let session: PageSession;

  const open = (): Promise<PageSession> =>
    openSession(`${page.baseUrl}/__local/page?token=${page.routes.mintAccessToken()}`);

  /** A page action as the page's script sends it, with `headers` changed. */
  const action = (op: string, body: string, headers: Record<string, string | undefined> = {}) => {
    const merged: Record<string, string> = {};
    for (const [name, value] of Object.entries({
      ...sessionHeaders(session),
      origin: page.baseUrl,
      "content-type": "application/json",
      "sec-fetch-site": "same-origin",
      ...headers,
    })) {
      if (value !== undefined) merged[name] = value;
    }
    return fetch(`${page.baseUrl}/__local/page/api/${op}`, {
      method: "POST",
      headers: merged,
      body,
    });
  };

  async function assertError(
    answer: Response,
    status: number,
    code: string,
    message: string,
  ): Promise<void> {
    assert.equal(answer.status, status);
    assert.equal(answer.headers.get("content-type"), "application/json; charset=utf-8");
    assert.deepEqual(await answer.json(), { error: { code, message } });
  }

  before(async () => {
    page = await startPageServer("http");
    session = await open();
  });
  after(() => page.close());
  afterEach(() => assert.deepEqual(page.errors, [], "each request answered once"));

  describe("answers", () => {
    it("sends every answer with the page's protective headers", async () => {
      const answers = [
        await fetch(`${page.baseUrl}/__local/page`, { headers: { cookie: session.cookie } }),
        await fetch(`${page.baseUrl}/__local/page/app.js`),
        await fetch(`${page.baseUrl}/__local/page/app.css`),
        await fetch(`${page.baseUrl}/__local/page/api/state`, { headers: sessionHeaders(session) }),
        await fetch(`${page.baseUrl}/__local/page`),
      ];
      for (const answer of answers) {
        assert.equal(answer.headers.get("x-content-type-options"), "nosniff", answer.url);
        assert.equal(answer.headers.get("cross-origin-opener-policy"), "same-origin");
        assert.equal(answer.headers.get("cross-origin-resource-policy"), "same-origin");
        await answer.arrayBuffer();
      }
    });

    it("names the type of each answer", async () => {
      const typeOf = async (path: string, headers: Record<string, string> = {}) => {
        const answer = await fetch(`${page.baseUrl}/__local/page${path}`, {
          headers,
          redirect: "manual",
        });
        await answer.arrayBuffer();
        return [answer.status, answer.headers.get("content-type")];
      };
      assert.deepEqual(await typeOf("", { cookie: session.cookie }), [
        200,
        "text/html; charset=utf-8",
      ]);
      assert.deepEqual(await typeOf(""), [401, "text/html; charset=utf-8"]);
      assert.deepEqual(await typeOf("?token=used-or-unknown"), [403, "text/html; charset=utf-8"]);
      assert.deepEqual(await typeOf("/app.js"), [200, "text/javascript; charset=utf-8"]);
      assert.deepEqual(await typeOf("/app.css"), [200, "text/css; charset=utf-8"]);
      assert.deepEqual(await typeOf("/api/state", sessionHeaders(session)), [
        200,
        "application/json; charset=utf-8",
      ]);
    });

    it("answers a link with an empty redirect, and marks the cookie Secure over https", async () => {
      const link = await fetch(
        `${page.baseUrl}/__local/page?token=${page.routes.mintAccessToken()}`,
        {
          redirect: "manual",
        },
      );
      assert.equal(link.status, 303);
      assert.equal(link.headers.get("content-type"), "text/plain; charset=utf-8");
      assert.equal(await link.text(), "");
      assert.doesNotMatch(link.headers.get("set-cookie") ?? "", /Secure/);

      const secure = await startPageServer("https");
      try {
        const answer = await fetch(
          `${secure.baseUrl}/__local/page?token=${secure.routes.mintAccessToken()}`,
          { redirect: "manual" },
        );
        assert.match(
          answer.headers.get("set-cookie") ?? "",
          /; HttpOnly; SameSite=Strict; Secure$/,
        );
      } finally {
        await secure.close();
      }
    });

    it("tells the page its vault URL, and the log after a position (any other value: all)", async () => {
      const state = async (query: string) =>
        (await (
          await fetch(`${page.baseUrl}/__local/page/api/state${query}`, {
            headers: sessionHeaders(session),
          })
        ).json()) as { vaultUrl: string; log: unknown[] };
      page.log.add({
        time: 0,
        method: "GET",
        path: "/secrets",
        status: 200,
        latencyMs: 1,
        userAgent: "x",
      });
      page.log.add({
        time: 0,
        method: "GET",
        path: "/secrets",
        status: 200,
        latencyMs: 1,
        userAgent: "y",
      });
      const all = await state("");
      assert.equal(all.vaultUrl, page.baseUrl);
      assert.equal(all.log.length, 2);
      assert.equal((await state("?after=1")).log.length, 1);
      for (const after of ["abc", "1.5", "-3", "0"]) {
        assert.equal((await state(`?after=${after}`)).log.length, 2, after);
      }
    });

    it("answers a method a route does not take with 405, and an unknown API route with 404", async () => {
      for (const [method, path] of [
        ["POST", ""],
        ["POST", "/app.js"],
        ["POST", "/app.css"],
        ["POST", "/api/state"],
        ["GET", "/api/reveal"],
        ["GET", "/api/delete"],
      ]) {
        const answer = await fetch(`${page.baseUrl}/__local/page${path}`, {
          method,
          headers: sessionHeaders(session),
        });
        await assertError(
          answer,
          405,
          "MethodNotAllowed",
          `${method} is not allowed on /__local/page${path}.`,
        );
      }
      await assertError(
        await fetch(`${page.baseUrl}/__local/page/api/nothing`, {
          headers: sessionHeaders(session),
        }),
        404,
        "NotFound",
        "The requested resource /__local/page/api/nothing was not found.",
      );
    });

    it("says how to get a session when an API call has none", async () => {
      await assertError(
        await fetch(`${page.baseUrl}/__local/page/api/state`),
        401,
        "Unauthorized",
        "No page session: open the page with a new link from keyvault-emulator (or vault.pageUrl()); a session ends after 30 minutes without use.",
      );
    });

    it("finds its cookie among others, with spaces around it", async () => {
      const [name, value] = session.cookie.split("=");
      const answer = await fetch(`${page.baseUrl}/__local/page/api/state`, {
        headers: {
          cookie: `other=1; ${name}= ${value} ; last=2`,
          "x-kv-page-session": session.key,
        },
      });
      assert.equal(answer.status, 200);
      await answer.arrayBuffer();
    });
  });

  describe("actions", () => {
    const ownOnly = "Page actions are accepted from the page's own origin only.";

    it("refuses an action without an Origin, or from anything but the same origin", async () => {
      const body = JSON.stringify({ name: "a", version: "v" });
      await assertError(
        await action("reveal", body, { origin: undefined }),
        403,
        "Forbidden",
        ownOnly,
      );
      for (const site of ["none", "same-site", "cross-site"]) {
        await assertError(
          await action("reveal", body, { "sec-fetch-site": site }),
          403,
          "Forbidden",
          ownOnly,
        );
      }
    });

    it("takes an action with its Origin from a browser that sends no Sec-Fetch-Site", async () => {
      const answer = await action("reveal", JSON.stringify({ name: "a", version: "v" }), {
        "sec-fetch-site": undefined,
      });
      assert.equal(answer.status, 200);
      assert.deepEqual(await answer.json(), { value: "value of a/v" });
    });

    it("takes JSON only, with or without spaces before its parameters", async () => {
      const body = JSON.stringify({ name: "a", version: "v" });
      for (const type of ["text/plain", "text/plain; x=application/json", "application/jsonx"]) {
        await assertError(
          await action("reveal", body, { "content-type": type }),
          415,
          "UnsupportedMediaType",
          "Page actions take a JSON body.",
        );
      }
      for (const type of ["application/json ; charset=utf-8", "Application/JSON;charset=utf-8"]) {
        assert.equal((await action("reveal", body, { "content-type": type })).status, 200, type);
      }
    });

    it("takes a body of 16 KiB and refuses a larger one", async () => {
      const padded = (size: number): string => {
        const start = '{"name":"a","version":"v","pad":"';
        return `${start}${"x".repeat(size - start.length - 2)}"}`;
      };
      assert.equal(padded(16 * 1024).length, 16 * 1024);
      assert.equal((await action("reveal", padded(16 * 1024))).status, 200);
      await assertError(
        await action("reveal", padded(16 * 1024 + 1)),
        413,
        "BadParameter",
        "The request body is too large.",
      );
      await assertError(
        await action("reveal", padded(64 * 1024)),
        413,
        "BadParameter",
        "The request body is too large.",
      );
    });

    it("refuses a body that is not a JSON object, and one without what the action needs", async () => {
      for (const body of ["[1]", "null", "3", '"text"', "{", ""]) {
        await assertError(
          await action("reveal", body),
          400,
          "BadParameter",
          "The request body must be a JSON object.",
        );
      }
      for (const body of [{}, { name: "a" }, { version: "v" }, { name: 1, version: "v" }]) {
        await assertError(
          await action("reveal", JSON.stringify(body)),
          400,
          "BadParameter",
          "Give the name and version to reveal.",
        );
      }
      await assertError(
        await action("delete", JSON.stringify({ name: 5 })),
        400,
        "BadParameter",
        "Give the name of the secret to delete.",
      );
    });

    it("answers a failed action with 500, naming nothing of the failure", async () => {
      const failing = await startPageServer("http", true);
      try {
        const own = await openSession(
          `${failing.baseUrl}/__local/page?token=${failing.routes.mintAccessToken()}`,
        );
        const answer = await fetch(`${failing.baseUrl}/__local/page/api/delete`, {
          method: "POST",
          headers: {
            ...sessionHeaders(own),
            origin: failing.baseUrl,
            "content-type": "application/json",
          },
          body: JSON.stringify({ name: "a" }),
        });
        await assertError(answer, 500, "InternalServerError", "The local vault failed the action.");
      } finally {
        await failing.close();
      }
    });

    it("goes on serving after a client breaks off its body", async () => {
      const url = new URL(`${page.baseUrl}/__local/page/api/reveal`);
      await new Promise<void>((resolve) => {
        const broken = request(url, {
          method: "POST",
          headers: {
            ...sessionHeaders(session),
            origin: page.baseUrl,
            "content-type": "application/json",
            "content-length": "1000",
          },
        });
        broken.on("error", () => resolve());
        broken.write('{"name":');
        setImmediate(() => broken.destroy());
        broken.on("close", () => resolve());
      });
      const after = await action("reveal", JSON.stringify({ name: "a", version: "v" }));
      assert.equal(after.status, 200);
    });
  });

  describe("bounded stores", () => {
    it("keeps the newest 32 unused links; an older one no longer opens the page", async () => {
      const links = Array.from({ length: 33 }, () => page.routes.mintAccessToken());
      const status = async (token: string) => {
        const answer = await fetch(`${page.baseUrl}/__local/page?token=${token}`, {
          redirect: "manual",
        });
        await answer.arrayBuffer();
        return answer.status;
      };
      assert.equal(await status(links[0]!), 403, "the 33rd link pushed the first out");
      assert.equal(await status(links[1]!), 303);
      assert.equal(await status(links[32]!), 303);
    });

    it("keeps the newest 32 sessions; an older one ends", async () => {
      const fresh = await startPageServer("http");
      try {
        const sessions: PageSession[] = [];
        for (let index = 0; index < 33; index++) {
          sessions.push(
            await openSession(
              `${fresh.baseUrl}/__local/page?token=${fresh.routes.mintAccessToken()}`,
            ),
          );
        }
        const status = async (one: PageSession) => {
          const answer = await fetch(`${fresh.baseUrl}/__local/page/api/state`, {
            headers: sessionHeaders(one),
          });
          await answer.arrayBuffer();
          return answer.status;
        };
        assert.equal(await status(sessions[0]!), 401);
        assert.equal(await status(sessions[1]!), 200);
        assert.equal(await status(sessions[32]!), 200);
      } finally {
        await fresh.close();
      }
    });
  });
});
