import assert from "node:assert/strict";
import { sendWithHost } from "../helpers/testKit.js";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import { localClient } from "./integrationTestKit.js";

/** The value seeded in the vault; it appears only in a reveal answer. */
const hiddenValue = "page-hidden-value-42";

describe("integration: the page to look inside", () => {
  let vault: LocalVault;
  let cookie: string;

  /** Opens a page link and returns the session cookie it set. */
  const openSession = async (): Promise<string> => {
    const answer = await fetch(vault.pageUrl(), { redirect: "manual" });
    assert.equal(answer.status, 303);
    const setCookie = answer.headers.get("set-cookie") ?? "";
    return setCookie.split(";")[0];
  };

  const action = (op: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${vault.vaultUrl}/__local/page/api/${op}`, {
      method: "POST",
      headers: {
        cookie,
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
    cookie = await openSession();
  });
  after(() => vault.close());

  it("exchanges a one-time link for an HttpOnly SameSite=Strict cookie and drops the token from the URL", async () => {
    const url = vault.pageUrl();
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/__local\/page\?token=[\w-]{43}$/);
    const first = await fetch(url, { redirect: "manual" });
    assert.equal(first.status, 303);
    assert.equal(first.headers.get("location"), "/__local/page");
    assert.match(
      first.headers.get("set-cookie") ?? "",
      /^kv-page=[\w-]{43}; Path=\/__local\/page; HttpOnly; SameSite=Strict$/,
    );
    const again = await fetch(url, { redirect: "manual" });
    assert.equal(again.status, 403, "a link opens the page once");
    assert.equal(again.headers.get("set-cookie"), null);
    const html = await again.text();
    assert.ok(!html.includes("page-secret"));
  });

  it("shows nothing without a session", async () => {
    const page = await fetch(`${vault.vaultUrl}/__local/page`);
    assert.equal(page.status, 401);
    assert.match(await page.text(), /needs the link that keyvault-emulator printed/);
    const forged = await fetch(`${vault.vaultUrl}/__local/page`, {
      headers: { cookie: "kv-page=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" },
    });
    assert.equal(forged.status, 401);
    const state = await fetch(`${vault.vaultUrl}/__local/page/api/state`);
    assert.equal(state.status, 401);
    assert.ok(!(await state.text()).includes("page-secret"));
    const reveal = await fetch(`${vault.vaultUrl}/__local/page/api/reveal`, {
      method: "POST",
      headers: { origin: vault.vaultUrl, "content-type": "application/json" },
      body: JSON.stringify({ name: "page-secret", version: "x" }),
    });
    assert.equal(reveal.status, 401);
  });

  it("serves the page with a policy that allows nothing but its own origin, and no CORS", async () => {
    const foreign = await fetch(`${vault.vaultUrl}/__local/page`, {
      headers: { cookie, origin: "http://evil.example" },
    });
    assert.equal(foreign.status, 403, "another origin is refused, even with the cookie");
    assert.ok(!(await foreign.text()).includes("page-secret"));
    // DNS rebinding: the browser would send the attacker's name as Host (fetch cannot set it).
    const rebound = await sendWithHost(`${vault.vaultUrl}/__local/page/api/state`, {
      headers: { cookie, host: "rebind.evil.example" },
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

  it("lists secrets with properties and versions, never values", async () => {
    const answer = await fetch(`${vault.vaultUrl}/__local/page/api/state`, { headers: { cookie } });
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
    const state = (await (
      await fetch(`${vault.vaultUrl}/__local/page/api/state`, { headers: { cookie } })
    ).json()) as { secrets: { name: string; versions: { version: string }[] }[] };
    const versions = state.secrets.find((s) => s.name === "page-secret")?.versions ?? [];
    const version = versions[versions.length - 1].version;

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
    const get = await fetch(`${vault.vaultUrl}/__local/page/api/reveal`, { headers: { cookie } });
    assert.equal(get.status, 405);
  });

  it("deletes a secret as the API does: it moves to the deleted secrets", async () => {
    const answer = await action("delete", { name: "to-delete" });
    assert.equal(answer.status, 200);
    const client = localClient(vault);
    const deleted = await client.getDeletedSecret("to-delete");
    assert.ok(deleted.properties.scheduledPurgeDate instanceof Date);
    const state = (await (
      await fetch(`${vault.vaultUrl}/__local/page/api/state`, { headers: { cookie } })
    ).json()) as {
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
    const before = (await (
      await fetch(`${vault.vaultUrl}/__local/page/api/state`, { headers: { cookie } })
    ).json()) as {
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
    const after = (await (
      await fetch(`${vault.vaultUrl}/__local/page/api/state?after=${last}`, { headers: { cookie } })
    ).json()) as { log: { seq: number; method: string; path: string }[] };
    assert.deepEqual(
      after.log.map((e) => `${e.method} ${e.path}`),
      ["GET /secrets/logged/"],
    );
  });
});
