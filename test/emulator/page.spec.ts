import assert from "node:assert/strict";
import { pause, sendWithHost } from "../helpers/testKit.js";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import { runPage } from "../../src/emulator/page/pageScript.js";
import { PageSessions, pageSessionIdleMs } from "../../src/emulator/page/pageSessions.js";
import { localClient } from "../integration/integrationTestKit.js";
import { openSession, sessionHeaders, type PageSession } from "./localVaultTestKit.js";

/** The value seeded in the vault; it appears only in a reveal answer. */
const hiddenValue = "page-hidden-value-42";

describe("integration: the page to look inside", () => {
  let vault: LocalVault;
  let session: PageSession;
  let cookie: string;

  const fetchState = (headers: Record<string, string> = sessionHeaders(session), query = "") =>
    fetch(`${vault.vaultUrl}/__local/page/api/state${query}`, { headers });

  const versionsOf = async (name: string): Promise<string[]> => {
    const shown = (await (await fetchState()).json()) as {
      secrets: { name: string; versions: { version: string }[] }[];
    };
    return (shown.secrets.find((s) => s.name === name)?.versions ?? []).map((v) => v.version);
  };

  const action = (op: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${vault.vaultUrl}/__local/page/api/${op}`, {
      method: "POST",
      headers: {
        ...sessionHeaders(session),
        origin: vault.vaultUrl,
        "content-type": "application/json",
        "sec-fetch-site": "same-origin",
        ...headers,
      },
      body: JSON.stringify(body),
    });

  before(async () => {
    vault = await startLocalVault({
      delayMs: 0,
      seed: {
        secrets: [
          { name: "page-secret", value: "old", tags: { team: "web" } },
          { name: "page-secret", value: hiddenValue, contentType: "text/plain" },
          { name: "to-delete", value: "bye" },
        ],
      },
    });
    session = await openSession(vault.pageUrl());
    cookie = session.cookie;
  });
  after(() => vault.close());

  it("exchanges a one-time link for a session (a per-port cookie and a key in the fragment) and drops the token from the URL", async () => {
    const url = vault.pageUrl();
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/__local\/page\?token=[\w-]{43}$/);
    const port = new URL(vault.vaultUrl).port;
    const first = await fetch(url, { redirect: "manual" });
    assert.equal(first.status, 303);
    assert.match(first.headers.get("location") ?? "", /^\/__local\/page#[\w-]{43}$/);
    const setCookie = first.headers.get("set-cookie") ?? "";
    assert.match(
      setCookie,
      new RegExp(`^kv-page-${port}=[\\w-]{43}; Path=/__local/page; HttpOnly; SameSite=Strict$`),
    );
    assert.ok(
      !setCookie.includes(first.headers.get("location")?.split("#")[1] ?? "?"),
      "the key is not the cookie",
    );
    const again = await fetch(url, { redirect: "manual" });
    assert.equal(again.status, 403, "a link opens the page once");
    assert.equal(again.headers.get("set-cookie"), null);
    const html = await again.text();
    assert.ok(!html.includes("page-secret"));
  });

  it("tells, on a used link, how to get a new one from the running vault", async () => {
    const url = vault.pageUrl();
    await fetch(url, { redirect: "manual" });
    const again = await fetch(url, { redirect: "manual" });
    assert.equal(again.status, 403);
    const html = await again.text();
    assert.match(html, /<code>keyvault-emulator page-link<\/code>/);
    assert.match(html, /SIGUSR2/);
    assert.match(html, /a restart would empty a vault kept in memory/);
  });

  describe("POST /__local/page-link", () => {
    const pageLink = (headers: Record<string, string>, method = "POST") =>
      fetch(`${vault.vaultUrl}/__local/page-link`, { method, headers });

    it("gives the holder of the identity header a new link that opens the page once", async () => {
      const answer = await pageLink({ "x-identity-header": vault.identityHeader });
      assert.equal(answer.status, 200);
      assert.equal(answer.headers.get("cache-control"), "no-store");
      const { url } = (await answer.json()) as { url: string };
      assert.ok(url.startsWith(`${vault.vaultUrl}/__local/page?token=`), url);
      await openSession(url);
      assert.equal((await fetch(url, { redirect: "manual" })).status, 403);
    });

    it("refuses a missing or wrong identity header, another method and another origin", async () => {
      const missing = await pageLink({});
      assert.equal(missing.status, 401);
      const body = await missing.text();
      assert.match(body, /IDENTITY_HEADER/);
      assert.doesNotMatch(body, /token=/);
      assert.equal((await pageLink({ "x-identity-header": "not-the-header" })).status, 401);
      assert.equal(
        (await pageLink({ "x-identity-header": vault.identityHeader }, "GET")).status,
        405,
      );
      const foreign = await pageLink({
        "x-identity-header": vault.identityHeader,
        origin: "http://evil.example",
      });
      assert.equal(foreign.status, 403);
    });
  });

  it("shows nothing without a session", async () => {
    const page = await fetch(`${vault.vaultUrl}/__local/page`);
    assert.equal(page.status, 401);
    assert.match(await page.text(), /needs the link that keyvault-emulator printed/);
    const port = new URL(vault.vaultUrl).port;
    const forged = await fetch(`${vault.vaultUrl}/__local/page`, {
      headers: { cookie: `kv-page-${port}=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA` },
    });
    assert.equal(forged.status, 401);
    const none = await fetchState({});
    assert.equal(none.status, 401);
    assert.ok(!(await none.text()).includes("page-secret"));
    const reveal = await fetch(`${vault.vaultUrl}/__local/page/api/reveal`, {
      method: "POST",
      headers: { origin: vault.vaultUrl, "content-type": "application/json" },
      body: JSON.stringify({ name: "page-secret", version: "x" }),
    });
    assert.equal(reveal.status, 401);
  });

  it("refuses the cookie alone, as a server on another port of the host receives and replays it", async () => {
    // Cookies ignore ports: any server on 127.0.0.1 the browser visits gets this cookie.
    const replayed = { cookie, origin: vault.vaultUrl, "sec-fetch-site": "same-origin" };
    const read = await fetchState(replayed);
    assert.equal(read.status, 401);
    const readText = await read.text();
    assert.ok(!readText.includes("page-secret"), "no names");
    assert.equal(JSON.parse(readText).error.code, "Unauthorized");
    const versions = await versionsOf("page-secret");
    const reveal = await action(
      "reveal",
      { name: "page-secret", version: versions[1] },
      {
        "x-kv-page-session": "",
      },
    );
    assert.equal(reveal.status, 401);
    assert.ok(!(await reveal.text()).includes(hiddenValue), "no value");
    const removed = await action("delete", { name: "page-secret" }, { "x-kv-page-session": "" });
    assert.equal(removed.status, 401);
    assert.equal((await localClient(vault).getSecret("page-secret")).value, hiddenValue);

    const keyAlone = await fetchState({ "x-kv-page-session": session.key });
    assert.equal(keyAlone.status, 401, "the key without its cookie");
    const other = await openSession(vault.pageUrl());
    const mixed = await fetchState({ cookie, "x-kv-page-session": other.key });
    assert.equal(mixed.status, 401, "another session's key");
    assert.equal((await fetchState()).status, 200, "cookie and key together");
  });

  it("gives a second link in the same browser its own key and keeps the first tab's session", async () => {
    const second = await openSession(vault.pageUrl(), cookie);
    assert.equal(second.cookie, cookie, "the browser's cookie stays");
    assert.notEqual(second.key, session.key);
    assert.equal((await fetchState(sessionHeaders(second))).status, 200);
    assert.equal((await fetchState()).status, 200, "the first tab still works");
  });

  it("refuses a replayed cookie under strictAuth too", async () => {
    const strict = await startLocalVault({ strictAuth: true, delayMs: 0 });
    try {
      await localClient(strict).setSecret("strict-secret", "v");
      const opened = await openSession(strict.pageUrl());
      const url = `${strict.vaultUrl}/__local/page/api/state`;
      const replayed = await fetch(url, { headers: { cookie: opened.cookie } });
      assert.equal(replayed.status, 401);
      assert.ok(!(await replayed.text()).includes("strict-secret"));
      const own = await fetch(url, { headers: sessionHeaders(opened) });
      assert.equal(own.status, 200);
      assert.ok((await own.text()).includes("strict-secret"));
    } finally {
      await strict.close();
    }
  });

  it("names the cookie after the port: another vault's session opens nothing here", async () => {
    const other = await startLocalVault({ delayMs: 0 });
    try {
      const opened = await openSession(other.pageUrl());
      assert.notEqual(opened.cookie.split("=")[0], cookie.split("=")[0]);
      assert.equal((await fetchState(sessionHeaders(opened))).status, 401);
      const both = { cookie: `${cookie}; ${opened.cookie}`, "x-kv-page-session": session.key };
      assert.equal(
        (await fetchState(both)).status,
        200,
        "this vault reads its own cookie among others",
      );
      const there = await fetch(`${other.vaultUrl}/__local/page/api/state`, {
        headers: { ...both, "x-kv-page-session": opened.key },
      });
      assert.equal(there.status, 200, "and the other vault its own");
    } finally {
      await other.close();
    }
  });

  it("serves the page with a policy that allows nothing but its own origin, and no CORS", async () => {
    const foreign = await fetch(`${vault.vaultUrl}/__local/page`, {
      headers: { cookie, origin: "http://evil.example" },
    });
    assert.equal(foreign.status, 403, "another origin is refused, even with the cookie");
    assert.ok(!(await foreign.text()).includes("page-secret"));
    // DNS rebinding: the browser would send the attacker's name as Host (fetch cannot set it).
    const rebound = await sendWithHost(`${vault.vaultUrl}/__local/page/api/state`, {
      headers: { ...sessionHeaders(session), host: "rebind.evil.example" },
    });
    assert.ok(rebound.status === 421 || rebound.status === 403, `Host refused: ${rebound.status}`);
    assert.ok(!rebound.text.includes("page-secret"));

    const page = await fetch(`${vault.vaultUrl}/__local/page`, { headers: { cookie } });
    assert.equal(page.status, 200);
    const csp = page.headers.get("content-security-policy") ?? "";
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(page.headers.get("x-frame-options"), "DENY");
    assert.equal(page.headers.get("cache-control"), "no-store");
    assert.equal(page.headers.get("referrer-policy"), "no-referrer");
    assert.equal(page.headers.get("access-control-allow-origin"), null);
    const html = await page.text();
    assert.doesNotMatch(html, /https?:\/\/(?!127)/, "no external resource");
    for (const asset of ["app.js", "app.css"]) {
      const answer = await fetch(`${vault.vaultUrl}/__local/page/${asset}`);
      assert.equal(answer.status, 200);
      assert.doesNotMatch(await answer.text(), /https?:\/\//, `${asset} requests nothing outside`);
    }
  });

  it("serves its script as the text of runPage (pageScript.ts), called with its settings", async () => {
    const answer = await fetch(`${vault.vaultUrl}/__local/page/app.js`);
    assert.equal(answer.headers.get("content-type"), "text/javascript; charset=utf-8");
    const script = await answer.text();
    const settings = {
      apiPath: "/__local/page/api/",
      sessionHeader: "x-kv-page-session",
      latestDateSeconds: 253_402_300_799,
    };
    assert.ok(script.includes(`(${runPage.toString()})(${JSON.stringify(settings)});`), script);
    assert.doesNotThrow(() => new Function(script), "a script the browser can parse");
  });

  it("lists secrets with properties and versions, never values", async () => {
    const answer = await fetchState();
    assert.equal(answer.status, 200);
    const text = await answer.text();
    assert.ok(!text.includes(hiddenValue), "no value in the state");
    const state = JSON.parse(text) as {
      secrets: { name: string; contentType?: string; versions: { tags?: object }[] }[];
    };
    const secret = state.secrets.find((s) => s.name === "page-secret");
    assert.equal(secret?.contentType, "text/plain");
    assert.equal(secret?.versions.length, 2);
    assert.deepEqual(secret?.versions[0].tags, { team: "web" });
  });

  it("reveals a value on demand, from its own origin only", async () => {
    const versions = await versionsOf("page-secret");
    const version = versions[versions.length - 1];

    const revealed = await action("reveal", { name: "page-secret", version });
    assert.equal(revealed.status, 200);
    assert.equal(revealed.headers.get("cache-control"), "no-store");
    assert.deepEqual(await revealed.json(), { value: hiddenValue });

    const refusals: [string, Record<string, string>, number][] = [
      ["a foreign Origin", { origin: "http://evil.example" }, 403],
      ["no Origin", { origin: "" }, 403],
      ["a cross-site fetch", { "sec-fetch-site": "cross-site" }, 403],
      ["a text/plain body (a simple cross-site POST)", { "content-type": "text/plain" }, 415],
    ];
    for (const [what, headers, status] of refusals) {
      const answer = await action("reveal", { name: "page-secret", version }, headers);
      assert.equal(answer.status, status, what);
      assert.ok(!(await answer.text()).includes(hiddenValue), what);
      assert.equal(answer.headers.get("access-control-allow-origin"), null);
    }
    const get = await fetch(`${vault.vaultUrl}/__local/page/api/reveal`, {
      headers: sessionHeaders(session),
    });
    assert.equal(get.status, 405);
    assert.equal(get.headers.get("allow"), "POST");
    assert.equal(get.headers.get("x-frame-options"), "DENY", "the page's headers on its errors");
    assert.equal((await get.json()).error.code, "MethodNotAllowed");
  });

  it("reads an action's body within 16 KiB, through the vault's one body reader", async () => {
    const answer = await action("reveal", { name: "page-secret", padding: "x".repeat(16 * 1024) });
    assert.equal(answer.status, 400);
    const { error } = await answer.json();
    assert.equal(error.code, "BadParameter");
    assert.equal(error.message, "The request body is larger than 16384 bytes.");
    assert.match(answer.headers.get("content-security-policy") ?? "", /default-src 'none'/);
  });

  it("deletes a secret as the API does: it moves to the deleted secrets", async () => {
    const answer = await action("delete", { name: "to-delete" });
    assert.equal(answer.status, 200);
    const client = localClient(vault);
    const deleted = await client.getDeletedSecret("to-delete");
    assert.ok(deleted.properties.scheduledPurgeDate instanceof Date);
    const state = (await (await fetchState()).json()) as {
      secrets: { name: string }[];
      deleted: { name: string; scheduledPurgeDate: number }[];
    };
    assert.ok(!state.secrets.some((s) => s.name === "to-delete"));
    const shown = state.deleted.find((s) => s.name === "to-delete");
    assert.equal(shown?.scheduledPurgeDate, deleted.properties.scheduledPurgeDate.getTime() / 1000);
    const missing = await action("delete", { name: "to-delete" });
    assert.equal(missing.status, 404);
  });

  it("logs the requests the vault answered, not its own or health probes", async () => {
    const client = localClient(vault, {
      userAgentOptions: { userAgentPrefix: "page-log-test/1.0" },
    });
    await client.setSecret("logged", "x");
    await fetch(`${vault.vaultUrl}/healthz`);
    const before = (await (await fetchState()).json()) as {
      log: {
        seq: number;
        method: string;
        path: string;
        status: number;
        latencyMs: number;
        userAgent: string;
        time: number;
      }[];
    };
    const put = before.log.filter((e) => e.method === "PUT" && e.path === "/secrets/logged");
    const answered = put[put.length - 1];
    assert.equal(answered.status, 200);
    assert.match(answered.userAgent, /^page-log-test\/1\.0 /);
    assert.equal(typeof answered.latencyMs, "number");
    assert.ok(answered.latencyMs >= 0);
    assert.ok(Math.abs(answered.time - Date.now()) < 60_000);
    assert.ok(!before.log.some((e) => e.path.startsWith("/__local/page") || e.path === "/healthz"));

    const last = before.log[before.log.length - 1].seq;
    await client.getSecret("logged");
    const after = (await (await fetchState(undefined, `?after=${last}`)).json()) as {
      log: { seq: number; method: string; path: string }[];
    };
    assert.deepEqual(
      after.log.map((e) => `${e.method} ${e.path}`),
      ["GET /secrets/logged/"],
    );
  });
});

describe("integration: the page shows the dead letters", () => {
  it("lists the events the vault gave up, beside the request log, without the webhook's query", async () => {
    // Nothing listens on port 1: the handshake fails, and the events go to the dead letters.
    const vault = await startLocalVault({
      eventSubscriptions: [{ endpoint: "http://127.0.0.1:1/hook?code=hidden-key" }],
      events: { maxDeliveryAttempts: 1 },
    });
    try {
      const session = await openSession(vault.pageUrl());
      const state = async () =>
        (await (
          await fetch(`${vault.vaultUrl}/__local/page/api/state`, {
            headers: sessionHeaders(session),
          })
        ).json()) as { deadLetters: Record<string, unknown>[] };
      await localClient(vault).setSecret("undelivered", hiddenValue);
      while ((await state()).deadLetters.length === 0) await pause(5);
      const text = JSON.stringify((await state()).deadLetters);
      assert.ok(!text.includes(hiddenValue) && !text.includes("hidden-key"));
      const [letter] = (await state()).deadLetters;
      assert.deepEqual(
        [
          letter.subscription,
          letter.endpoint,
          letter.eventType,
          letter.subject,
          letter.reason,
          letter.outcome,
        ],
        [
          "local-1",
          "http://127.0.0.1:1/hook",
          "Microsoft.KeyVault.SecretNewVersionCreated",
          "undelivered",
          "SubscriptionValidationFailed",
          // Never delivered: no outcome of a delivery to show.
          "",
        ],
      );
      const html = await (
        await fetch(`${vault.vaultUrl}/__local/page`, { headers: { cookie: session.cookie } })
      ).text();
      assert.match(html, /<table id="log">[\s\S]*<table id="dead-letters">/);
    } finally {
      await vault.close();
    }
  });
});

describe("page sessions end after their idle time", () => {
  let nowMs = 0;
  const sessions = new PageSessions(() => nowMs);
  const minute = 60_000;

  /** What the state route checks (cookie and key, used now) and what the page itself checks. */
  const apiAllowed = (session: { cookie: string; key: string }): boolean =>
    sessions.use(session.cookie, session.key);
  const pageAllowed = (session: { cookie: string }): boolean => sessions.isOpen(session.cookie);

  it("is 30 minutes", () => {
    assert.equal(pageSessionIdleMs, 30 * minute);
  });

  it("keeps a session its page uses, and ends it 30 minutes after the last call", () => {
    nowMs = 1_000_000;
    const session = sessions.open(undefined);
    nowMs += 30 * minute - 1;
    assert.equal(apiAllowed(session), true, "used just in time");
    nowMs += 30 * minute - 1;
    assert.equal(apiAllowed(session), true, "each call starts the idle time again");
    nowMs += 30 * minute;
    assert.equal(apiAllowed(session), false, "idle for 30 minutes");
    assert.equal(pageAllowed(session), false, "the page itself is refused too");
    nowMs += 1;
    assert.equal(apiAllowed(session), false, "an ended session stays ended");
  });

  it("is not kept alive by the cookie alone (a replaying server cannot hold it open)", () => {
    nowMs = 5_000_000;
    const session = sessions.open(undefined);
    nowMs += 20 * minute;
    assert.equal(pageAllowed(session), true);
    nowMs += 10 * minute;
    assert.equal(apiAllowed(session), false);
  });
});
