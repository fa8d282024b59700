import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import { request } from "node:http";
import { request as httpsRequest } from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import { holdJournalOperation } from "./journalSeam.js";
import { callVault, openSession, sessionHeaders, type PageSession } from "./localVaultTestKit.js";

// The page's routes one by one, through a vault's router (test/emulator/page.spec.ts follows what
// a developer does on the page): the answers of each route, the action checks the routes make
// themselves (the router's Host, Origin and body type checks are in security.spec.ts and
// listener.spec.ts), a failed action, the bounded link and session stores.

/** Seeded, so that a reveal has something to show. */
const seeded = { name: "shown", value: "value of shown" };

describe("local vault page routes", () => {
  let vault: LocalVault;
  let session: PageSession;
  let version: string;

  const pageUrl = (suffix = ""): string => `${vault.vaultUrl}/__local/page${suffix}`;

  /** A page action as the page's script sends it, with `headers` changed (undefined: left out). */
  const action = (
    op: string,
    body: string,
    headers: Record<string, string | undefined> = {},
    on: { vault: LocalVault; session: PageSession } = { vault, session },
  ): Promise<Response> => {
    const merged: Record<string, string> = {};
    for (const [name, value] of Object.entries({
      ...sessionHeaders(on.session),
      origin: on.vault.vaultUrl,
      "content-type": "application/json",
      "sec-fetch-site": "same-origin",
      ...headers,
    })) {
      if (value !== undefined) merged[name] = value;
    }
    return fetch(`${on.vault.vaultUrl}/__local/page/api/${op}`, {
      method: "POST",
      headers: merged,
      body,
    });
  };
  const revealBody = (): string => JSON.stringify({ name: seeded.name, version });

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

  /** The status of opening the page with a link's token, the body read. */
  const linkStatus = async (on: LocalVault, token: string): Promise<number> => {
    const answer = await fetch(`${on.vaultUrl}/__local/page?token=${token}`, {
      redirect: "manual",
    });
    await answer.arrayBuffer();
    return answer.status;
  };
  const tokenOf = (link: string): string => new URL(link).searchParams.get("token") ?? "";

  before(async () => {
    vault = await startLocalVault({ delayMs: 0, seed: { secrets: [seeded] } });
    session = await openSession(vault.pageUrl());
    const set = await callVault(vault, "GET", `/secrets/${seeded.name}`);
    version = String(set.body.id).split("/").pop() ?? "";
  });
  after(() => vault.close());

  describe("answers", () => {
    it("sends every answer with the page's protective headers", async () => {
      const answers = [
        await fetch(pageUrl(), { headers: { cookie: session.cookie } }),
        await fetch(pageUrl("/app.js")),
        await fetch(pageUrl("/app.css")),
        await fetch(pageUrl("/api/state"), { headers: sessionHeaders(session) }),
        await fetch(pageUrl()),
      ];
      for (const answer of answers) {
        assert.equal(answer.headers.get("x-content-type-options"), "nosniff", answer.url);
        assert.equal(answer.headers.get("cross-origin-opener-policy"), "same-origin");
        assert.equal(answer.headers.get("cross-origin-resource-policy"), "same-origin");
        assert.equal(answer.headers.get("referrer-policy"), "no-referrer");
        await answer.arrayBuffer();
      }
    });

    it("names the type of each answer", async () => {
      const typeOf = async (suffix: string, headers: Record<string, string> = {}) => {
        const answer = await fetch(pageUrl(suffix), { headers, redirect: "manual" });
        await answer.arrayBuffer();
        return [answer.status, answer.headers.get("content-type")];
      };
      const html = "text/html; charset=utf-8";
      assert.deepEqual(await typeOf("", { cookie: session.cookie }), [200, html]);
      assert.deepEqual(await typeOf(""), [401, html]);
      assert.deepEqual(await typeOf("?token=used-or-unknown"), [403, html]);
      assert.deepEqual(await typeOf("/app.js"), [200, "text/javascript; charset=utf-8"]);
      assert.deepEqual(await typeOf("/app.css"), [200, "text/css; charset=utf-8"]);
      assert.deepEqual(await typeOf("/api/state", sessionHeaders(session)), [
        200,
        "application/json; charset=utf-8",
      ]);
    });

    it("answers a link with an empty redirect, and marks the cookie Secure over https only", async () => {
      const link = await fetch(vault.pageUrl(), { redirect: "manual" });
      assert.equal(link.status, 303);
      assert.equal(link.headers.get("content-type"), "text/plain; charset=utf-8");
      assert.equal(await link.text(), "");
      assert.match(link.headers.get("set-cookie") ?? "", /; HttpOnly; SameSite=Strict$/);

      const secure = await startLocalVault({ https: true });
      try {
        const setCookie = await new Promise<string>((resolve, reject) => {
          const req = httpsRequest(
            secure.pageUrl(),
            { ca: secure.caCertificate, agent: false },
            (res) => {
              res.resume();
              res.on("end", () => resolve(String(res.headers["set-cookie"] ?? "")));
            },
          );
          req.on("error", reject);
          req.end();
        });
        assert.match(setCookie, /; HttpOnly; SameSite=Strict; Secure$/);
      } finally {
        await secure.close();
      }
    });

    it("tells the page its vault URL, and the log after a position (any other value: all)", async () => {
      const state = async (query: string) =>
        (await (
          await fetch(pageUrl(`/api/state${query}`), { headers: sessionHeaders(session) })
        ).json()) as { vaultUrl: string; log: { seq: number }[] };
      await callVault(vault, "GET", "/secrets");
      await callVault(vault, "GET", "/secrets");
      const all = await state("");
      assert.equal(all.vaultUrl, vault.vaultUrl);
      assert.ok(all.log.length >= 2);
      assert.equal(all.log[0].seq, 1);
      assert.deepEqual(
        (await state("?after=1")).log.map((entry) => entry.seq),
        all.log.slice(1).map((entry) => entry.seq),
      );
      for (const after of ["abc", "1.5", "-3", "0"]) {
        assert.equal((await state(`?after=${after}`)).log.length, all.log.length, after);
      }
    });

    it("answers a method a route does not take with 405, naming the one it takes", async () => {
      for (const [method, suffix, allowed] of [
        ["POST", "", "GET"],
        ["POST", "/app.js", "GET"],
        ["POST", "/app.css", "GET"],
        ["POST", "/api/state", "GET"],
        ["GET", "/api/reveal", "POST"],
        ["GET", "/api/delete", "POST"],
      ]) {
        const answer = await fetch(pageUrl(suffix), {
          method,
          headers: sessionHeaders(session),
        });
        assert.equal(answer.headers.get("allow"), allowed, suffix);
        await assertError(
          answer,
          405,
          "MethodNotAllowed",
          `The requested method ${method} is not allowed on /__local/page${suffix}; allowed: ${allowed}.`,
        );
      }
    });

    it("says how to get a session when an API call has none", async () => {
      await assertError(
        await fetch(pageUrl("/api/state")),
        401,
        "Unauthorized",
        "No page session: open the page with a new link (keyvault-emulator page-link, or vault.pageUrl()); a session ends after 30 minutes without use.",
      );
    });

    it("finds its cookie among others, with spaces around it", async () => {
      const [name, value] = session.cookie.split("=");
      const answer = await fetch(pageUrl("/api/state"), {
        headers: {
          // A part without '=' is no cookie, even one that starts with the name.
          cookie: `other=1; ${name}x; ${name}= ${value} ; last=2`,
          "x-kv-page-session": session.key,
        },
      });
      assert.equal(answer.status, 200);
      await answer.arrayBuffer();
    });
  });

  describe("actions", () => {
    const ownOnly = "Page actions are accepted from the page's own origin only.";

    it("refuses an action without an Origin, or one the browser says a user started elsewhere", async () => {
      await assertError(
        await action("reveal", revealBody(), { origin: undefined }),
        403,
        "Forbidden",
        ownOnly,
      );
      // `none`: typed in the address bar or opened from a bookmark, never the page's own script.
      await assertError(
        await action("reveal", revealBody(), { "sec-fetch-site": "none" }),
        403,
        "Forbidden",
        ownOnly,
      );
    });

    it("takes an action with its Origin from a browser that sends no Sec-Fetch-Site", async () => {
      const answer = await action("reveal", revealBody(), { "sec-fetch-site": undefined });
      assert.equal(answer.status, 200);
      assert.deepEqual(await answer.json(), { value: seeded.value });
    });

    it("takes a body of 16 KiB and refuses a larger one", async () => {
      const padded = (size: number): string => {
        const start = `{"name":"${seeded.name}","version":"${version}","pad":"`;
        return `${start}${"x".repeat(size - start.length - 2)}"}`;
      };
      assert.equal(padded(16 * 1024).length, 16 * 1024);
      assert.equal((await action("reveal", padded(16 * 1024))).status, 200);
      for (const size of [16 * 1024 + 1, 64 * 1024]) {
        await assertError(
          await action("reveal", padded(size)),
          400,
          "BadParameter",
          "The request body is larger than 16384 bytes.",
        );
      }
    });

    it("refuses a body that is not a JSON object, and one without what the action needs", async () => {
      for (const body of ["[1]", "null", "3", '"text"']) {
        await assertError(
          await action("reveal", body),
          400,
          "BadParameter",
          "The request body must be a JSON object.",
        );
      }
      for (const body of ["{", ""]) {
        await assertError(
          await action("reveal", body),
          400,
          "BadParameter",
          "The request body is not valid JSON.",
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

    it("answers a delete the journal could not make durable with 500, naming nothing of the failure", async () => {
      const location = await fs.mkdtemp(path.join(os.tmpdir(), "kv-page-failing-"));
      const failing = await startLocalVault({ location, seed: { secrets: [seeded] } });
      const held = holdJournalOperation("write");
      try {
        held.fail(new Error("disk full at /secret/path"));
        const own = { vault: failing, session: await openSession(failing.pageUrl()) };
        const answer = await action("delete", JSON.stringify({ name: seeded.name }), {}, own);
        await assertError(
          answer,
          500,
          "InternalServerError",
          "The local vault failed to process the request.",
        );
      } finally {
        held.restore();
        await failing.close().catch(() => undefined);
        await fs.rm(location, { recursive: true, force: true });
      }
    });

    it("goes on serving after a client breaks off its body", async () => {
      await new Promise<void>((resolve) => {
        const broken = request(pageUrl("/api/reveal"), {
          method: "POST",
          headers: {
            ...sessionHeaders(session),
            origin: vault.vaultUrl,
            "content-type": "application/json",
            "content-length": "1000",
          },
        });
        broken.on("error", () => resolve());
        broken.on("close", () => resolve());
        broken.write('{"name":');
        setImmediate(() => broken.destroy());
      });
      assert.equal((await action("reveal", revealBody())).status, 200);
    });
  });

  describe("bounded stores", () => {
    it("keeps the newest 32 unused links; an older one no longer opens the page", async () => {
      const tokens = Array.from({ length: 33 }, () => tokenOf(vault.pageUrl()));
      assert.equal(await linkStatus(vault, tokens[0]), 403, "the 33rd link pushed the first out");
      assert.equal(await linkStatus(vault, tokens[1]), 303);
      assert.equal(await linkStatus(vault, tokens[32]), 303);
    });

    it("keeps the newest 32 sessions; an older one ends", async () => {
      const fresh = await startLocalVault({ delayMs: 0 });
      try {
        const sessions: PageSession[] = [];
        for (let index = 0; index < 33; index++) sessions.push(await openSession(fresh.pageUrl()));
        const status = async (one: PageSession): Promise<number> => {
          const answer = await fetch(`${fresh.vaultUrl}/__local/page/api/state`, {
            headers: sessionHeaders(one),
          });
          await answer.arrayBuffer();
          return answer.status;
        };
        assert.equal(await status(sessions[0]), 401);
        assert.equal(await status(sessions[1]), 200);
        assert.equal(await status(sessions[32]), 200);
      } finally {
        await fresh.close();
      }
    });
  });
});
