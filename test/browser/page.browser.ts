/**
 * The page to look inside, in a real browser (headless Chromium): opened from the printed link,
 * it shows seeded secrets, reveals a value on demand, deletes a secret, follows the requests, and
 * shows nothing (and obeys nothing) without its link.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type { Page } from "playwright-core";
import { SecretClient } from "../../src/index.js";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import {
  localClient,
  refusedExp,
  startVaultWithRefusedDates,
} from "../integration/integrationTestKit.js";
import { launchChromium, type Browser } from "./chromium.js";

const seedFile = path.resolve("samples/localVaultSeed.json");

describe("browser: the local vault's page", function () {
  // A browser's start is slow on a busy 2-core machine; nothing here waits on a timer.
  this.timeout(120_000);

  let vault: LocalVault;
  let browser: Browser;
  let page: Page;
  let client: SecretClient;

  before(async () => {
    vault = await startLocalVault({ seed: seedFile, delayMs: 0 });
    client = new SecretClient(vault.vaultUrl, vault.credential, {
      allowInsecureConnection: true,
      disableChallengeResourceVerification: true,
      userAgentOptions: { userAgentPrefix: "browser-test-app/1.0" },
    });
    browser = await launchChromium();
    page = await browser.context.newPage();
  });
  after(async () => {
    await browser?.close();
    await vault?.close();
  });

  it("opens from the printed link and lists the seeded secrets, values hidden", async () => {
    await page.goto(vault.pageUrl());
    assert.equal(new URL(page.url()).search, "", "the token is gone from the address bar");
    assert.equal(new URL(page.url()).hash, "", "so is the session key");
    await page.locator('#secrets tr.secret[data-name="db-password"]').waitFor();
    const names = await page.locator("#secrets tr.secret td.name").allTextContents();
    assert.deepEqual(
      names.map((n) => n.split(" ")[0]),
      ["api-key", "db-password", "feature-flags"],
    );
    const row = page.locator('#secrets tr.secret[data-name="db-password"]');
    assert.match((await row.textContent()) ?? "", /text\/plain/);
    assert.match((await row.textContent()) ?? "", /rotated=2026-11-01/);
    assert.match((await row.textContent()) ?? "", /2 versions/);
    const text = (await page.locator("body").textContent()) ?? "";
    assert.ok(!text.includes("correct-horse-battery-staple"), "values are hidden");
    assert.ok(!text.includes("sk-local-0123456789"), "values are hidden");
  });

  it("reveals one value on demand, and hides it again", async () => {
    const row = page.locator('#secrets tr.secret[data-name="api-key"]');
    await row.locator("button.reveal").click();
    await row.locator("code.value", { hasText: "sk-local-0123456789" }).waitFor();
    const text = (await page.locator("body").textContent()) ?? "";
    assert.ok(!text.includes("correct-horse-battery-staple"), "only the one asked for");
    await row.locator("button.reveal").click();
    await row.locator("code.value").waitFor({ state: "detached" });
  });

  it("shows every version of a secret", async () => {
    await page.locator('#secrets tr.secret[data-name="db-password"] button.versions').click();
    await page.locator("#secrets tr.version").nth(1).waitFor();
    const versions = page.locator("#secrets tr.version");
    assert.equal(await versions.count(), 2);
    assert.match((await versions.nth(1).textContent()) ?? "", /owner=data-team/);
  });

  it("deletes a secret, which then shows under deleted secrets with its purge date", async () => {
    page.once("dialog", (dialog) => void dialog.accept());
    await page.locator('#secrets tr.secret[data-name="feature-flags"] button.delete').click();
    const deleted = page.locator('#deleted tr.deleted[data-name="feature-flags"]');
    await deleted.waitFor();
    await page.locator('#secrets tr.secret[data-name="feature-flags"]').waitFor({
      state: "detached",
    });
    const purge = (await deleted.locator("td").nth(2).textContent()) ?? "";
    const expected = (await client.getDeletedSecret("feature-flags")).properties.scheduledPurgeDate;
    assert.equal(purge, expected?.toISOString().replace("T", " ").replace(".000Z", ""));
  });

  it("follows the requests the vault answers: time, method, path, status, latency, User-Agent", async () => {
    await client.setSecret("from-the-app", "v");
    await client.getSecret("missing-one").catch(() => undefined);
    const put = page.locator("#log tr.request", { hasText: "/secrets/from-the-app" }).first();
    await put.waitFor();
    const cells = await put.locator("td").allTextContents();
    assert.match(cells[0], /^\d{2}:\d{2}:\d{2}\.\d{3}$/);
    assert.equal(cells[1], "PUT");
    assert.equal(cells[2], "/secrets/from-the-app");
    assert.match(cells[4], /^\d+(\.\d+)? ms$/);
    assert.match(cells[5], /^browser-test-app\/1\.0 /);
    const statuses = await page
      .locator("#log tr.request", { hasText: "/secrets/from-the-app" })
      .locator("td:nth-child(4)")
      .allTextContents();
    assert.ok(statuses.includes("200"), statuses.join());
    await page.locator("#log tr.request", { hasText: "/secrets/missing-one" }).first().waitFor();
    const missing = page.locator("#log tr.request", { hasText: "/secrets/missing-one" });
    assert.ok((await missing.locator("td:nth-child(4)").allTextContents()).includes("404"));
    const paths = await page.locator("#log td.path").allTextContents();
    assert.ok(!paths.some((p) => p.startsWith("/__local/page")), "its own requests are not listed");
  });

  it("keeps its session over a reload: the key stays in the tab", async () => {
    await page.reload();
    await page.locator('#secrets tr.secret[data-name="api-key"]').waitFor();
    await page.locator("#status", { hasText: "live" }).waitFor();
  });

  /** Waits until the page lists `name`, or says its session ended; asserts the first. */
  const shown = async (tab: Page, name: string): Promise<void> => {
    const row = tab.locator(`#secrets tr.secret[data-name="${name}"]`);
    await row.or(tab.locator("#status.down")).first().waitFor();
    assert.equal(await row.count(), 1, `${name}: ${await tab.locator("#status").textContent()}`);
  };

  it("keeps two vaults' pages working side by side in one browser", async () => {
    const second = await startLocalVault({ delayMs: 0 });
    try {
      const other = await browser.context.newPage();
      await other.goto(second.pageUrl());
      await other.locator("#status", { hasText: "live" }).waitFor();
      // Each page still follows its own vault (a page whose session ended says so at once).
      await client.setSecret("in-the-first", "1");
      await localClient(second).setSecret("in-the-second", "2");
      await shown(page, "in-the-first");
      await shown(other, "in-the-second");
      await other.close();
    } finally {
      await second.close();
    }
  });

  it("shows a stored date the vault now refuses as invalid, and keeps working", async () => {
    const directory = mkdtempSync(path.join(os.tmpdir(), "kv-page-old-"));
    // This vault's journal, from an older vault, holds an exp that no JavaScript date holds.
    const old = await startVaultWithRefusedDates(directory, { "far-future": refusedExp });
    try {
      const other = await browser.context.newPage();
      await other.goto(old.pageUrl());
      await shown(other, "far-future");
      const row = other.locator('#secrets tr.secret[data-name="far-future"]');
      assert.match((await row.locator("td").nth(4).textContent()) ?? "", /^invalid date/);
      await localClient(old).setSecret("added-later", "v");
      await shown(other, "added-later");
      await other.close();
    } finally {
      await old.close();
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it("shows the events it gave up delivering beside the requests", async () => {
    // Nothing listens on port 1: the handshake fails, and the event goes to the dead letters.
    const events = await startLocalVault({
      eventSubscriptions: [{ endpoint: "http://127.0.0.1:1/hook?code=hidden-key" }],
      events: { maxDeliveryAttempts: 1 },
    });
    try {
      const other = await browser.context.newPage();
      await other.goto(events.pageUrl());
      await localClient(events).setSecret("undelivered", "never-shown-value");
      const row = other.locator("#dead-letters tr.dead-letter");
      await row.waitFor();
      const text = (await row.textContent()) ?? "";
      assert.match(text, /local-1 http:\/\/127\.0\.0\.1:1\/hook/);
      assert.match(text, /SecretNewVersionCreated.*undelivered.*SubscriptionValidationFailed/);
      assert.ok(!text.includes("hidden-key") && !text.includes("never-shown-value"));
      assert.equal(await other.locator("#no-dead-letters").isHidden(), true);
      await other.close();
    } finally {
      await events.close();
    }
  });

  it("shows nothing without the link, nor with a link already used", async () => {
    const stranger = await launchChromium();
    try {
      const other = await stranger.context.newPage();
      const answer = await other.goto(`${vault.vaultUrl}/__local/page`);
      assert.equal(answer?.status(), 401);
      const text = (await other.locator("body").textContent()) ?? "";
      assert.match(text, /needs the link that keyvault-emulator printed/);
      assert.ok(!text.includes("db-password"));

      const link = vault.pageUrl();
      const first = await browser.context.newPage();
      await first.goto(link);
      await first.close();
      const reused = await other.goto(link);
      assert.equal(reused?.status(), 403);
      assert.match(
        (await other.locator("body").textContent()) ?? "",
        /each link opens the page once/,
      );
      const state = await other.evaluate(
        async () => (await fetch("/__local/page/api/state")).status,
      );
      assert.equal(state, 401);
    } finally {
      await stranger.close();
    }
  });

  it("gives a server on another port of the host its cookie, which opens nothing there", async () => {
    // Cookies ignore ports: the browser sends the page's cookie to any server on 127.0.0.1.
    let captured = "";
    const collector: Server = createServer((req, res) => {
      captured = req.headers.cookie ?? captured;
      res.writeHead(200, { "content-type": "text/plain" }).end("thanks");
    });
    await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
    try {
      const port = (collector.address() as AddressInfo).port;
      const hostile = await browser.context.newPage();
      await hostile.goto(`http://127.0.0.1:${port}/__local/page`);
      await hostile.close();
      assert.match(captured, /kv-page/, "the browser handed the cookie over");

      // A script replays it with everything a browser would send from the page's own origin.
      const headers = { cookie: captured, origin: vault.vaultUrl, "sec-fetch-site": "same-origin" };
      const read = await fetch(`${vault.vaultUrl}/__local/page/api/state`, { headers });
      assert.equal(read.status, 401);
      assert.ok(!(await read.text()).includes("api-key"), "no names");
      const reveal = await fetch(`${vault.vaultUrl}/__local/page/api/reveal`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: JSON.stringify({ name: "api-key", version: "x" }),
      });
      assert.equal(reveal.status, 401);
      await page.locator("#status", { hasText: "live" }).waitFor();
    } finally {
      const closed = new Promise((resolve) => collector.close(resolve));
      collector.closeAllConnections();
      await closed;
    }
  });

  it("cannot be driven from another origin, even one on the same host", async () => {
    // Another local server (same host, another port: same site, another origin) whose page tries
    // what a hostile page would, in the browser that holds the page's cookie.
    const attacker: Server = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end(`<!doctype html><body><script>
        const vault = ${JSON.stringify(vault.vaultUrl)};
        const results = {};
        const attempt = async (name, run) => {
          try { results[name] = await run(); } catch (e) { results[name] = "blocked: " + e.name; }
        };
        (async () => {
          await attempt("read", () => fetch(vault + "/__local/page/api/state", { credentials: "include" }).then((r) => r.text()));
          await attempt("reveal", () => fetch(vault + "/__local/page/api/reveal", { method: "POST", credentials: "include", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "api-key", version: "x" }) }).then((r) => r.text()));
          await attempt("simpleDelete", () => fetch(vault + "/__local/page/api/delete", { method: "POST", mode: "no-cors", credentials: "include", headers: { "content-type": "text/plain" }, body: JSON.stringify({ name: "db-password" }) }).then((r) => r.type));
          await attempt("jsonDelete", () => fetch(vault + "/__local/page/api/delete", { method: "POST", mode: "no-cors", credentials: "include", body: new Blob([JSON.stringify({ name: "db-password" })], { type: "application/json" }) }).then((r) => r.type));
          document.title = "done";
          window.results = results;
        })();
      </script></body>`);
    });
    await new Promise<void>((resolve) => attacker.listen(0, "127.0.0.1", resolve));
    try {
      const hostile = await browser.context.newPage();
      await hostile.goto(`http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`);
      await hostile.waitForFunction('document.title === "done"');
      const results = (await hostile.evaluate("window.results")) as Record<string, string>;
      assert.match(results.read, /^blocked/, "no CORS: another origin cannot read the state");
      assert.match(results.reveal, /^blocked/, "a JSON action needs a preflight no one answers");
      // Opaque no-cors requests are sent but must change nothing.
      const names = [];
      for await (const p of client.listPropertiesOfSecrets()) names.push(p.name);
      assert.ok(names.includes("db-password"), "nothing deleted from another origin");
      await hostile.close();
    } finally {
      const closed = new Promise((resolve) => attacker.close(resolve));
      attacker.closeAllConnections();
      await closed;
    }
  });
});
