/**
 * The page's HTML, CSS and script: self-contained (no framework, no external request), served from
 * the vault's own origin under a Content-Security-Policy that allows nothing else. The script is a
 * source file of its own (pageScript.ts), linted and type-checked, and served as its text.
 */
import { latestDateSeconds } from "../wire/requests.js";
import { runPage, type PageScriptSettings } from "./pageScript.js";

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
<p>For a new link from the running vault (a restart would empty a vault kept in memory): run <code>keyvault-emulator page-link</code> in a shell where <code>IDENTITY_ENDPOINT</code> and <code>IDENTITY_HEADER</code> are set as keyvault-emulator printed them, or send its process <code>SIGUSR2</code> (<code>kill -USR2 &lt;pid&gt;</code>, printed at start) and it prints one; programmatically, call <code>vault.pageUrl()</code>.</p></section></main>
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

/** What the script is told: where the API is, its session header, the latest valid date. */
const scriptSettings: PageScriptSettings = {
  apiPath: "/__local/page/api/",
  sessionHeader: pageSessionHeader,
  latestDateSeconds,
};

/**
 * The page's script as served: the text of {@link runPage} (pageScript.ts, as compiled), called
 * with its settings. A runner that keeps function names (tsx: esbuild's `keepNames`) writes calls
 * to its module's `__name` helper into the function's text; the served script then defines it,
 * doing nothing, since it does not share that module.
 */
export const pageJs = servedScript(runPage, scriptSettings);

function servedScript(
  main: (settings: PageScriptSettings) => void,
  settings: PageScriptSettings,
): string {
  const source = main.toString();
  const call = `(${source})(${JSON.stringify(settings)});`;
  if (!source.includes("__name(")) return `"use strict";\n${call}\n`;
  return `"use strict";\n{\nconst __name = (target) => target;\n${call}\n}\n`;
}
