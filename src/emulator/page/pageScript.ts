/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The page's script, run by the browser: takes the session key from the fragment the link's
 * redirect put in the address (then drops it from the address) into the tab's sessionStorage,
 * sends it with every API call, polls the state once a second and renders it. It writes data with
 * `textContent` only, never as HTML: names, tags and User-Agents come from clients.
 *
 * The vault serves {@link runPage}'s own text (pageAssets.ts), so the function is self-contained:
 * it uses its settings and the browser's globals, nothing else of this module or another (imports
 * of types only; eslint refuses any other).
 */
import type {
  PageDeadLetter,
  PageDeletedSecret,
  PageSecret,
  PageState,
  PageVersion,
} from "./pageRoutes.js";
import type { RequestLogEntry } from "../http/requestLog.js";

/** What the vault tells the script when it serves it. */
export interface PageScriptSettings {
  /** Path of the page's API, with a trailing slash. */
  apiPath: string;
  /** Request header that carries the session key. */
  sessionHeader: string;
  /** Latest date the service accepts, in Unix seconds; later ones are shown as invalid. */
  latestDateSeconds: number;
}

/**
 * Runs the page in the browser.
 * @param settings - the API path, the session header and the date limit
 */
export function runPage(settings: PageScriptSettings): void {
  const sessionStorageName = "kv-page-session";
  const maxLogRows = 300;
  const sessionKey = takeSessionKey();
  /** Secrets and deleted secrets as last rendered (JSON), to skip renders that change nothing. */
  const shown = { secrets: "", deleted: "" };
  /** Values revealed, by `name/version`. */
  const revealed = new Map<string, string>();
  /** Names whose versions are listed. */
  const expanded = new Set<string>();
  let afterSeq = 0;
  let timer = 0;
  let busy = false;

  function takeSessionKey(): string {
    const fromLink = /^#([A-Za-z0-9_-]{43})$/.exec(location.hash);
    if (fromLink) {
      sessionStorage.setItem(sessionStorageName, fromLink[1]);
      history.replaceState(null, "", location.pathname);
    }
    return sessionStorage.getItem(sessionStorageName) ?? "";
  }

  function apiHeaders(extra: Record<string, string>): Record<string, string> {
    return { accept: "application/json", [settings.sessionHeader]: sessionKey, ...extra };
  }

  function byId<T extends HTMLElement = HTMLElement>(id: string): T {
    return document.getElementById(id) as T;
  }

  function element(tag: string, className?: string, text?: unknown): HTMLElement {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function cell(row: HTMLElement, text: unknown, className?: string): HTMLElement {
    const td = element("td", className, text);
    row.appendChild(td);
    return td;
  }

  function formatDate(seconds: number | undefined): string {
    if (seconds === undefined || seconds === null) return "";
    // A date the service refuses (an older vault stored it) is shown, not thrown on.
    if (typeof seconds !== "number" || !(seconds >= 0 && seconds <= settings.latestDateSeconds)) {
      return `invalid date (${String(seconds)})`;
    }
    return new Date(seconds * 1000)
      .toISOString()
      .replace("T", " ")
      .replace(/\.\d+Z$/, "");
  }

  function appendTags(td: HTMLElement, tags: Record<string, string> | undefined): void {
    if (!tags) return;
    for (const key of Object.keys(tags)) {
      td.appendChild(element("span", "tag", `${key}=${tags[key]}`));
    }
  }

  function showStatus(text: string): void {
    const status = byId("status");
    status.textContent = text;
    status.className = "status";
  }

  function showProblem(text: string): void {
    const status = byId("status");
    status.textContent = text;
    status.className = "status down";
  }

  async function post<T>(operation: string, body: unknown): Promise<T> {
    const answer = await fetch(settings.apiPath + operation, {
      method: "POST",
      credentials: "same-origin",
      headers: apiHeaders({ "content-type": "application/json" }),
      body: JSON.stringify(body),
    });
    const json = (await answer.json()) as { error?: { message?: string } } | null;
    if (!answer.ok) throw new Error(json?.error?.message || `HTTP ${answer.status}`);
    return json as T;
  }

  /** Renders the secrets last shown again (after a reveal, a hide, a toggle of versions). */
  function renderSecretsAgain(): void {
    renderSecrets(JSON.parse(shown.secrets) as PageSecret[]);
  }

  function valueCell(row: HTMLElement, name: string, version: string): void {
    const key = `${name}/${version}`;
    const td = cell(row, "", "value-cell");
    const value = revealed.get(key);
    const button = element("button", "reveal", value === undefined ? "Reveal" : "Hide");
    button.setAttribute("data-key", key);
    button.title = `Version ${version}`;
    td.appendChild(button);
    td.appendChild(document.createTextNode(" "));
    if (value === undefined) td.appendChild(element("span", "hidden-value", "••••••"));
    else td.appendChild(element("code", "value", value));
    button.addEventListener("click", () => {
      if (revealed.has(key)) {
        revealed.delete(key);
        renderSecretsAgain();
        return;
      }
      post<{ value: string }>("reveal", { name, version }).then(
        (answer) => {
          revealed.set(key, answer.value);
          renderSecretsAgain();
        },
        (error: Error) => showProblem(`reveal failed: ${error.message}`),
      );
    });
  }

  function propertyCells(row: HTMLElement, properties: Omit<PageVersion, "version">): void {
    cell(row, properties.contentType || "");
    cell(row, properties.enabled ? "yes" : "no", properties.enabled ? "" : "off");
    cell(row, formatDate(properties.notBefore), "date");
    cell(row, formatDate(properties.expiresOn), "date");
    cell(row, formatDate(properties.updated), "date");
    appendTags(cell(row, ""), properties.tags);
  }

  function versionsToggle(secret: PageSecret): HTMLElement {
    const arrow = expanded.has(secret.name) ? "▾ " : "▸ ";
    const toggle = element("button", "versions", `${arrow}${secret.versions.length} versions`);
    toggle.addEventListener("click", () => {
      if (expanded.has(secret.name)) expanded.delete(secret.name);
      else expanded.add(secret.name);
      renderSecretsAgain();
    });
    return toggle;
  }

  function deleteButton(secret: PageSecret): HTMLElement {
    const button = element("button", "danger delete", "Delete");
    button.addEventListener("click", () => {
      if (!window.confirm(`Delete ${secret.name}? It moves to the deleted secrets.`)) return;
      post("delete", { name: secret.name }).then(
        () => pollIn(0),
        (error: Error) => showProblem(`delete failed: ${error.message}`),
      );
    });
    return button;
  }

  /**
   * Empties a table and shows how many rows it gets: the count in its heading, and the table or
   * its "none" line in its place.
   * @returns the table's body, for the rows
   */
  function emptyTable(
    ids: { table: string; count: string; none: string },
    rows: number,
  ): HTMLTableSectionElement {
    const table = byId<HTMLTableElement>(ids.table);
    const body = table.tBodies[0];
    body.textContent = "";
    byId(ids.count).textContent = `(${rows})`;
    byId(ids.none).hidden = rows > 0;
    table.hidden = rows === 0;
    return body;
  }

  /** The row of a secret, named in `data-name`. */
  function secretRow(className: string, name: string): HTMLElement {
    const row = element("tr", className);
    row.setAttribute("data-name", name);
    return row;
  }

  function renderSecrets(secrets: PageSecret[]): void {
    const tableIds = { table: "secrets", count: "secret-count", none: "no-secrets" };
    const body = emptyTable(tableIds, secrets.length);
    for (const secret of secrets) {
      const row = secretRow("secret", secret.name);
      const name = cell(row, secret.name, "name");
      const latest = secret.versions[secret.versions.length - 1];
      if (secret.versions.length > 1) {
        name.appendChild(document.createTextNode(" "));
        name.appendChild(versionsToggle(secret));
      }
      propertyCells(row, secret);
      valueCell(row, secret.name, latest ? latest.version : "");
      cell(row, "").appendChild(deleteButton(secret));
      body.appendChild(row);
      if (!expanded.has(secret.name)) continue;
      for (const version of secret.versions.slice().reverse()) {
        const versionRow = element("tr", "version");
        cell(versionRow, version.version, "name");
        propertyCells(versionRow, version);
        valueCell(versionRow, secret.name, version.version);
        cell(versionRow, "");
        body.appendChild(versionRow);
      }
    }
  }

  function renderDeleted(deleted: PageDeletedSecret[]): void {
    const tableIds = { table: "deleted", count: "deleted-count", none: "no-deleted" };
    const body = emptyTable(tableIds, deleted.length);
    for (const secret of deleted) {
      const row = secretRow("deleted", secret.name);
      cell(row, secret.name, "name");
      cell(row, formatDate(secret.deletedDate), "date");
      cell(row, formatDate(secret.scheduledPurgeDate), "date");
      cell(row, secret.contentType || "");
      appendTags(cell(row, ""), secret.tags);
      body.appendChild(row);
    }
  }

  function appendLog(entries: RequestLogEntry[]): void {
    const body = byId<HTMLTableElement>("log").tBodies[0];
    for (const entry of entries) {
      afterSeq = Math.max(afterSeq, entry.seq);
      const row = element("tr", "request");
      cell(row, new Date(entry.time).toISOString().slice(11, 23), "mono");
      cell(row, entry.method, "mono");
      cell(row, entry.path, "path");
      cell(row, entry.status, `mono s${String(entry.status).charAt(0)}`);
      cell(row, `${entry.latencyMs} ms`, "mono");
      cell(row, entry.userAgent, "muted");
      body.insertBefore(row, body.firstChild);
    }
    while (body.rows.length > maxLogRows) body.deleteRow(body.rows.length - 1);
    byId("no-requests").hidden = body.rows.length > 0;
  }

  /** The dead letters, newest first: each time in full (the vault sends the newest 100). */
  function renderDeadLetters(letters: PageDeadLetter[]): void {
    const body = byId<HTMLTableElement>("dead-letters").tBodies[0];
    body.textContent = "";
    for (const letter of letters.slice().reverse()) {
      const row = element("tr", "dead-letter");
      cell(row, letter.time.replace("T", " ").slice(0, 19), "mono");
      cell(row, `${letter.subscription} ${letter.endpoint}`, "path");
      cell(row, letter.eventType.replace("Microsoft.KeyVault.", ""), "mono");
      cell(row, letter.subject, "name");
      cell(row, letter.reason);
      cell(row, letter.attempts, "mono");
      cell(row, letter.outcome, "muted");
      body.appendChild(row);
    }
    byId("no-dead-letters").hidden = letters.length > 0;
  }

  function render(state: PageState): void {
    byId("vault-url").textContent = state.vaultUrl;
    const secrets = JSON.stringify(state.secrets);
    if (secrets !== shown.secrets) renderSecrets(state.secrets);
    shown.secrets = secrets;
    const deleted = JSON.stringify(state.deleted);
    if (deleted !== shown.deleted) renderDeleted(state.deleted);
    shown.deleted = deleted;
    appendLog(state.log);
    renderDeadLetters(state.deadLetters);
  }

  async function readState(): Promise<PageState | null> {
    const answer = await fetch(`${settings.apiPath}state?after=${afterSeq}`, {
      credentials: "same-origin",
      headers: apiHeaders({}),
    });
    if (answer.status === 401) {
      showProblem(
        sessionKey === ""
          ? "no session in this tab: open a new link from keyvault-emulator"
          : "session ended: open a new link from keyvault-emulator",
      );
      return null;
    }
    if (!answer.ok) throw new Error(`HTTP ${answer.status}`);
    return (await answer.json()) as PageState;
  }

  function poll(): void {
    if (busy) return;
    busy = true;
    readState().then(
      (state) => {
        busy = false;
        if (state === null) return;
        render(state);
        showStatus("live");
        pollIn(1000);
      },
      () => {
        busy = false;
        showProblem("vault not answering");
        pollIn(2000);
      },
    );
  }

  function pollIn(delayMs: number): void {
    clearTimeout(timer);
    timer = window.setTimeout(poll, delayMs);
  }

  poll();
}
