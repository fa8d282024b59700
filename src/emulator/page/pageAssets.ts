/**
 * The page's HTML, CSS and script: self-contained (no framework, no external request), served from
 * the vault's own origin under a Content-Security-Policy that allows nothing else. The script
 * writes data with `textContent` only, never as HTML: names, tags and User-Agents come from clients.
 */
import { latestDateSeconds } from "../wire/requests.js";

/** Request header of the page's API calls that carries the session key (see pageRoutes.ts). */
export const pageSessionHeader = "x-kv-page-session";

const head = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/__local/page/app.css">
<title>Local Key Vault</title>
</head>`;

/** The page itself; it loads its data from `/__local/page/api/state`. */
export const pageHtml = `${head}
<body>
<header>
  <h1>Local Key Vault</h1>
  <span id="vault-url" class="muted"></span>
  <span class="muted">times in UTC</span>
  <span id="status" class="status">connecting…</span>
</header>
<main>
  <section id="secrets-section">
    <h2>Secrets <span id="secret-count" class="count"></span></h2>
    <table id="secrets">
      <thead><tr><th>Name</th><th>Content type</th><th>Enabled</th><th>Not before</th><th>Expires</th><th>Updated</th><th>Tags</th><th>Value</th><th></th></tr></thead>
      <tbody></tbody>
    </table>
    <p id="no-secrets" class="empty" hidden>No secrets.</p>
  </section>
  <section id="deleted-section">
    <h2>Deleted secrets <span id="deleted-count" class="count"></span></h2>
    <table id="deleted">
      <thead><tr><th>Name</th><th>Deleted</th><th>Scheduled purge</th><th>Content type</th><th>Tags</th></tr></thead>
      <tbody></tbody>
    </table>
    <p id="no-deleted" class="empty" hidden>No deleted secrets.</p>
  </section>
  <section id="log-section">
    <h2>Requests <span class="muted">(newest first; this page's own requests are not listed)</span></h2>
    <table id="log">
      <thead><tr><th>Time</th><th>Method</th><th>Path</th><th>Status</th><th>Latency</th><th>User-Agent</th></tr></thead>
      <tbody></tbody>
    </table>
    <p id="no-requests" class="empty">No requests yet.</p>
  </section>
  <section id="dead-letters-section">
    <h2>Dead letters <span class="muted">(events the vault gave up delivering, newest first)</span></h2>
    <table id="dead-letters">
      <thead><tr><th>Time</th><th>Subscription</th><th>Event</th><th>Secret</th><th>Reason</th><th>Attempts</th><th>Last outcome</th></tr></thead>
      <tbody></tbody>
    </table>
    <p id="no-dead-letters" class="empty">No dead letters.</p>
  </section>
</main>
<script src="/__local/page/app.js"></script>
</body>
</html>
`;

/**
 * The page shown without a valid access: no data, only how to get in.
 * @param reason - `missing` (no session) or `used` (a token that is unknown or already used)
 * @returns the HTML
 */
export function refusedHtml(reason: "missing" | "used"): string {
  const why =
    reason === "used"
      ? "This link is not valid: each link opens the page once."
      : "This page needs the link that keyvault-emulator printed when it started.";
  return `${head}
<body>
<header><h1>Local Key Vault</h1></header>
<main><section id="refused"><h2>No access</h2><p>${why}</p>
<p>Restart keyvault-emulator for a new link, or, programmatically, call <code>vault.pageUrl()</code>.</p></section></main>
</body>
</html>
`;
}

/** The page's style. */
export const pageCss = `:root {
  --fg: #1b1f24; --muted: #5b6470; --line: #d8dee4; --bg: #f6f8fa; --accent: #0b5cad;
  --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
}
body { margin: 0; background: #fff; }
header { display: flex; align-items: baseline; gap: 16px; padding: 12px 24px; background: var(--bg);
  border-bottom: 1px solid var(--line); }
h1 { font-size: 18px; margin: 0; }
h2 { font-size: 15px; margin: 24px 0 8px; }
main { padding: 0 24px 24px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 5px 6px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
td.name { font-weight: 600; }
tr.version td { background: var(--bg); font-size: 13px; }
tr.version td.name { font-weight: 400; padding-left: 24px; font-size: 12px; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; }
.muted { color: var(--muted); font-size: 12px; }
.count { color: var(--muted); font-weight: 400; }
.status { margin-left: auto; font-size: 12px; color: var(--ok); }
.status.down { color: var(--bad); }
.empty { color: var(--muted); }
.tag { white-space: nowrap; display: inline-block; background: #eef1f4; border-radius: 10px; padding: 0 7px; margin: 0 4px 2px 0; font-size: 12px; }
.value { background: #fff8c5; padding: 1px 4px; border-radius: 3px; word-break: break-all; }
.hidden-value { color: var(--muted); letter-spacing: 2px; }
button { font: inherit; font-size: 12px; padding: 2px 8px; border: 1px solid var(--line); border-radius: 5px;
  background: #fff; cursor: pointer; }
button:hover { border-color: var(--accent); color: var(--accent); }
button.danger:hover { border-color: var(--bad); color: var(--bad); }
.s2 { color: var(--ok); } .s3 { color: var(--accent); } .s4 { color: var(--warn); } .s5 { color: var(--bad); }
.off { color: var(--bad); }
td.date { white-space: nowrap; font-size: 13px; }
td.value-cell { min-width: 200px; }
#log td, #dead-letters td { font-size: 12.5px; }
#log td.path, #dead-letters td.path { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; word-break: break-all; }
`;

/**
 * The page's script: takes the session key from the fragment the link's redirect put in the
 * address (then drops it from the address) into the tab's sessionStorage, sends it with every API
 * call, polls the state once a second and renders it.
 */
export const pageJs = `"use strict";
(function () {
  var api = "/__local/page/api/";
  var sessionHeader = ${JSON.stringify(pageSessionHeader)};
  var latestDate = ${latestDateSeconds};
  var sessionKey = takeSessionKey();
  var afterSeq = 0;
  var lastSecrets = "";
  var lastDeleted = "";
  var revealed = new Map();
  var expanded = new Set();
  var timer = 0;
  var busy = false;
  var maxLogRows = 300;

  function takeSessionKey() {
    var name = "kv-page-session";
    var fromLink = /^#([A-Za-z0-9_-]{43})$/.exec(location.hash);
    if (fromLink) {
      sessionStorage.setItem(name, fromLink[1]);
      history.replaceState(null, "", location.pathname);
    }
    return sessionStorage.getItem(name) || "";
  }
  function headers(extra) {
    var all = { accept: "application/json" };
    all[sessionHeader] = sessionKey;
    Object.keys(extra).forEach(function (key) { all[key] = extra[key]; });
    return all;
  }
  function $(id) { return document.getElementById(id); }
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function cell(row, text, className) { var td = el("td", className, text); row.appendChild(td); return td; }
  function date(seconds) {
    if (seconds === undefined || seconds === null) return "";
    // A date the service refuses (an older vault stored it) is shown, not thrown on.
    if (typeof seconds !== "number" || !(seconds >= 0 && seconds <= latestDate)) {
      return "invalid date (" + String(seconds) + ")";
    }
    return new Date(seconds * 1000).toISOString().replace("T", " ").replace(/\\.\\d+Z$/, "");
  }
  function tags(td, values) {
    if (!values) return;
    Object.keys(values).forEach(function (key) {
      td.appendChild(el("span", "tag", key + "=" + values[key]));
    });
  }
  function setStatus(text, down) {
    var status = $("status");
    status.textContent = text;
    status.className = down ? "status down" : "status";
  }

  function post(op, body) {
    return fetch(api + op, {
      method: "POST",
      credentials: "same-origin",
      headers: headers({ "content-type": "application/json" }),
      body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().then(function (json) {
        if (!res.ok) throw new Error((json && json.error && json.error.message) || ("HTTP " + res.status));
        return json;
      });
    });
  }

  function valueCell(row, name, version) {
    var key = name + "/" + version;
    var td = cell(row, "", "value-cell");
    var shown = revealed.get(key);
    var button = el("button", "reveal", shown === undefined ? "Reveal" : "Hide");
    button.setAttribute("data-key", key);
    button.title = "Version " + version;
    td.appendChild(button);
    td.appendChild(document.createTextNode(" "));
    if (shown === undefined) {
      td.appendChild(el("span", "hidden-value", "••••••"));
    } else {
      td.appendChild(el("code", "value", shown));
    }
    button.addEventListener("click", function () {
      if (revealed.has(key)) {
        revealed.delete(key);
        renderSecrets(JSON.parse(lastSecrets), true);
        return;
      }
      post("reveal", { name: name, version: version }).then(function (answer) {
        revealed.set(key, answer.value);
        renderSecrets(JSON.parse(lastSecrets), true);
      }, function (error) { setStatus("reveal failed: " + error.message, true); });
    });
  }

  function renderSecrets(secrets, force) {
    var text = JSON.stringify(secrets);
    if (!force && text === lastSecrets) return;
    lastSecrets = text;
    var body = $("secrets").tBodies[0];
    body.textContent = "";
    $("secret-count").textContent = "(" + secrets.length + ")";
    $("no-secrets").hidden = secrets.length > 0;
    $("secrets").hidden = secrets.length === 0;
    secrets.forEach(function (secret) {
      var row = el("tr", "secret");
      row.setAttribute("data-name", secret.name);
      var name = cell(row, secret.name, "name");
      var latest = secret.versions[secret.versions.length - 1];
      if (secret.versions.length > 1) {
        var toggle = el("button", "versions", (expanded.has(secret.name) ? "▾ " : "▸ ") + secret.versions.length + " versions");
        toggle.addEventListener("click", function () {
          if (expanded.has(secret.name)) expanded.delete(secret.name); else expanded.add(secret.name);
          renderSecrets(JSON.parse(lastSecrets), true);
        });
        name.appendChild(document.createTextNode(" "));
        name.appendChild(toggle);
      }
      cell(row, secret.contentType || "");
      cell(row, secret.enabled ? "yes" : "no", secret.enabled ? "" : "off");
      cell(row, date(secret.notBefore), "date");
      cell(row, date(secret.expiresOn), "date");
      cell(row, date(secret.updated), "date");
      tags(cell(row, ""), secret.tags);
      valueCell(row, secret.name, latest ? latest.version : "");
      var actions = cell(row, "");
      var del = el("button", "danger delete", "Delete");
      del.addEventListener("click", function () {
        if (!window.confirm("Delete " + secret.name + "? It moves to the deleted secrets.")) return;
        post("delete", { name: secret.name }).then(function () { refresh(0); },
          function (error) { setStatus("delete failed: " + error.message, true); });
      });
      actions.appendChild(del);
      body.appendChild(row);
      if (!expanded.has(secret.name)) return;
      secret.versions.slice().reverse().forEach(function (version) {
        var vrow = el("tr", "version");
        cell(vrow, version.version, "name");
        cell(vrow, version.contentType || "");
        cell(vrow, version.enabled ? "yes" : "no", version.enabled ? "" : "off");
        cell(vrow, date(version.notBefore), "date");
        cell(vrow, date(version.expiresOn), "date");
        cell(vrow, date(version.updated), "date");
        tags(cell(vrow, ""), version.tags);
        valueCell(vrow, secret.name, version.version);
        cell(vrow, "");
        body.appendChild(vrow);
      });
    });
  }

  function renderDeleted(deleted) {
    var text = JSON.stringify(deleted);
    if (text === lastDeleted) return;
    lastDeleted = text;
    var body = $("deleted").tBodies[0];
    body.textContent = "";
    $("deleted-count").textContent = "(" + deleted.length + ")";
    $("no-deleted").hidden = deleted.length > 0;
    $("deleted").hidden = deleted.length === 0;
    deleted.forEach(function (secret) {
      var row = el("tr", "deleted");
      row.setAttribute("data-name", secret.name);
      cell(row, secret.name, "name");
      cell(row, date(secret.deletedDate), "date");
      cell(row, date(secret.scheduledPurgeDate), "date");
      cell(row, secret.contentType || "");
      tags(cell(row, ""), secret.tags);
      body.appendChild(row);
    });
  }

  function appendLog(entries) {
    var body = $("log").tBodies[0];
    entries.forEach(function (entry) {
      afterSeq = Math.max(afterSeq, entry.seq);
      var row = el("tr", "request");
      cell(row, new Date(entry.time).toISOString().slice(11, 23), "mono");
      cell(row, entry.method, "mono");
      cell(row, entry.path, "path");
      cell(row, entry.status, "mono s" + String(entry.status).charAt(0));
      cell(row, entry.latencyMs + " ms", "mono");
      cell(row, entry.userAgent, "muted");
      body.insertBefore(row, body.firstChild);
    });
    while (body.rows.length > maxLogRows) body.deleteRow(body.rows.length - 1);
    $("no-requests").hidden = body.rows.length > 0;
  }

  function renderDeadLetters(letters) {
    var body = $("dead-letters").tBodies[0];
    while (body.rows.length > 0) body.deleteRow(0);
    letters.slice().reverse().forEach(function (letter) {
      var row = el("tr", "dead-letter");
      cell(row, letter.time.replace("T", " ").slice(0, 19), "mono");
      cell(row, letter.subscription + " " + letter.endpoint, "path");
      cell(row, letter.eventType.replace("Microsoft.KeyVault.", ""), "mono");
      cell(row, letter.subject, "name");
      cell(row, letter.reason);
      cell(row, letter.attempts, "mono");
      cell(row, letter.outcome, "muted");
      body.appendChild(row);
    });
    $("no-dead-letters").hidden = letters.length > 0;
  }

  function poll() {
    if (busy) return;
    busy = true;
    fetch(api + "state?after=" + afterSeq, { credentials: "same-origin", headers: headers({}) })
      .then(function (res) {
        if (res.status === 401) {
          setStatus(sessionKey === ""
            ? "no session in this tab: open a new link from keyvault-emulator"
            : "session ended: open a new link from keyvault-emulator", true);
          return null;
        }
        if (!res.ok) throw new Error("HTTP " + res.status);
        return res.json();
      })
      .then(function (state) {
        busy = false;
        if (state === null) return;
        $("vault-url").textContent = state.vaultUrl;
        renderSecrets(state.secrets, false);
        renderDeleted(state.deleted);
        appendLog(state.log);
        renderDeadLetters(state.deadLetters);
        setStatus("live", false);
        refresh(1000);
      }, function () {
        busy = false;
        setStatus("vault not answering", true);
        refresh(2000);
      });
  }

  function refresh(ms) {
    clearTimeout(timer);
    timer = setTimeout(poll, ms);
  }

  poll();
})();
`;
