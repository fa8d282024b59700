/**
 * The client half: a playback server serves the recorded answers, in order, to our SecretClient
 * (speaking the recording's api-version, or "2025-07-01" where our client does not offer it: rule
 * `version-not-offered`), as the official test proxy does in playback mode. Requests to the
 * identity platform in a recording are skipped (rule `identity-traffic`). For each
 * recording the client is driven through the operations the recording shows (read from its
 * requests), and the check is two-way:
 * - every request the client sends is compared with the recorded one: method, path, query, the
 *   presence of a token and the body's shape (the first request to a vault goes out without a
 *   token and without a body);
 * - every answer is parsed into the public models, which are compared with what the recorded
 *   wire body says (values, dates, ids), errors with the real status, code and message, pages
 *   with their items and continuation tokens, pollers with their final result.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/core-auth";
import { SecretClient, type SecretServiceVersion } from "../../src/index.js";
import { serviceVersions } from "../../src/api/wireTypes.js";
import { clearChallengeCache } from "../../src/policies/challengeCache.js";
import type { AcceptedList } from "./accepted.js";
import { compareJson, type Difference } from "./compare.js";
import { listCollection, planRecording, type RecordingPlan } from "./plan.js";
import {
  headerOf,
  isChallenge,
  isIdentityTraffic,
  recordsAuthorization,
  targetOf,
  type Recording,
  type RecordedEntry,
} from "./recordings.js";
import { addDifferences, newEntry, type EntryResult, type RecordingResult } from "./results.js";

/** The api-version the client half speaks where the recording's is one our client does not offer. */
export const clientServiceVersion = "2025-07-01";

/**
 * The api-version our client speaks for a recording: the recorded one when the client offers it,
 * else {@link clientServiceVersion} (rule `version-not-offered`: previews and 2016-10-01).
 * @param recording - the recording
 * @returns the version, and whether it is the recorded one
 */
export function serviceVersionFor(recording: Recording): {
  version: SecretServiceVersion;
  recorded: boolean;
} {
  const entry = recording.entries.find((e) => !isIdentityTraffic(e));
  const recorded = entry === undefined ? undefined : targetOf(entry).query.get("api-version");
  const offered = serviceVersions.find((v) => v === recorded);
  return offered === undefined
    ? { version: clientServiceVersion, recorded: false }
    : { version: offered, recorded: true };
}

type Json = Record<string, unknown>;

/** Serves recorded answers in order and compares each request with the recorded one. */
export class PlaybackServer {
  /** Index of the next entry to serve. */
  cursor = 0;
  origin = "";
  private server: Server | undefined;

  /**
   * @param entries - the recorded entries
   * @param results - one result per entry, where request differences go
   * @param report - adds differences to an entry's result
   * @param expectsToken - whether the recorded request carried a token
   */
  constructor(
    private readonly entries: RecordedEntry[],
    private readonly results: EntryResult[],
    private readonly report: (result: EntryResult, differences: Difference[]) => void,
    private readonly expectsToken: (entry: RecordedEntry) => boolean,
  ) {}

  /** Moves past requests to the identity platform: our client's credential makes none. */
  skipIdentityTraffic(): void {
    while (this.cursor < this.entries.length && isIdentityTraffic(this.entries[this.cursor])) {
      this.results[this.cursor].rules.push("identity-traffic");
      this.cursor++;
    }
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    this.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      this.skipIdentityTraffic();
      const entry = this.entries[this.cursor];
      const url = new URL(req.url ?? "/", this.origin);
      if (entry === undefined) {
        const last = this.results[this.results.length - 1];
        this.report(last, [
          {
            check: "request:unexpected",
            expected: "no more requests",
            actual: `${req.method} ${url.pathname}`,
          },
        ]);
        this.answer(
          res,
          404,
          { "content-type": "application/json" },
          { error: { code: "PlaybackExhausted", message: "No recorded entry left." } },
        );
        return;
      }
      const result = this.results[this.cursor];
      const recorded = new URL(entry.RequestUri);
      if (
        req.method !== entry.RequestMethod.toUpperCase() ||
        decodeURIComponent(url.pathname) !== decodeURIComponent(recorded.pathname)
      ) {
        this.report(result, [
          {
            check: "request:sequence",
            expected: `${entry.RequestMethod} ${recorded.pathname}`,
            actual: `${req.method} ${url.pathname}`,
          },
        ]);
        this.answer(
          res,
          400,
          { "content-type": "application/json" },
          { error: { code: "PlaybackMismatch", message: "The request is not the recorded one." } },
        );
        return;
      }
      this.report(
        result,
        compareRequest(entry, url, req.headers.authorization, body, this.expectsToken(entry)),
      );
      this.cursor++;
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(entry.ResponseHeaders)) {
        if (!/^(content-length|transfer-encoding|connection)$/i.test(name)) headers[name] = value;
      }
      this.answer(res, entry.StatusCode, headers, this.rewrite(entry.ResponseBody));
    });
  }

  /** NextLinks name the real vault: point them at the playback server, as the proxy does. */
  private rewrite(body: unknown): unknown {
    if (body === null || typeof body !== "object" || !("nextLink" in body)) return body;
    const link = (body as Json).nextLink;
    if (typeof link !== "string") return body;
    const url = new URL(link);
    return { ...(body as Json), nextLink: `${this.origin}${url.pathname}${url.search}` };
  }

  private answer(
    res: ServerResponse,
    status: number,
    headers: Record<string, string>,
    body: unknown,
  ): void {
    const payload = body === null || body === undefined ? undefined : JSON.stringify(body);
    res.writeHead(status, {
      ...headers,
      ...(payload === undefined ? {} : { "content-length": Buffer.byteLength(payload) }),
    });
    res.end(payload);
  }
}

/**
 * Compares a request of our client with the recorded one (same method and path already).
 * @param entry - the recorded entry
 * @param url - the request URL
 * @param authorization - the Authorization header sent, if any
 * @param body - the request body sent
 * @param recordedAuth - whether the recorded request carried a token
 * @returns the differences
 */
export function compareRequest(
  entry: RecordedEntry,
  url: URL,
  authorization: string | undefined,
  body: string,
  recordedAuth = headerOf(entry.RequestHeaders, "authorization") !== undefined,
): Difference[] {
  const differences: Difference[] = [];
  const recorded = new URL(entry.RequestUri);
  const names = new Set([...recorded.searchParams.keys(), ...url.searchParams.keys()]);
  for (const name of names) {
    const e = recorded.searchParams.get(name);
    const a = url.searchParams.get(name);
    if (e !== a)
      differences.push({
        check: `request:query:${name}`,
        expected: e ?? "absent",
        actual: a ?? "absent",
      });
  }
  const sentAuth = authorization !== undefined && /^Bearer \S+/.test(authorization);
  if (recordedAuth !== sentAuth) {
    differences.push({
      check: "request:authorization",
      expected: recordedAuth ? "a bearer token" : "none",
      actual: sentAuth ? "a bearer token" : (authorization ?? "none"),
    });
  }
  const recordedBody = entry.RequestBody;
  if (recordedBody === null || recordedBody === undefined || recordedBody === "") {
    if (body !== "")
      differences.push({
        check: "request:body",
        expected: "none",
        actual: `${body.length} characters`,
      });
  } else if (body === "") {
    differences.push({ check: "request:body", expected: "a JSON body", actual: "none" });
  } else {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      differences.push({ check: "request:body", expected: "JSON", actual: "not JSON" });
      return differences;
    }
    for (const d of compareJson(recordedBody, parsed))
      differences.push({ ...d, check: d.check.replace(/^body:/, "request:body:") });
  }
  return differences;
}

/** A credential that hands out a fixed token and remembers what it was asked. */
class RecordingCredential implements TokenCredential {
  readonly calls: Array<{ scopes: string | string[]; tenantId: string | undefined }> = [];
  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> {
    this.calls.push({ scopes, tenantId: options?.tenantId });
    return { token: "playback-token", expiresOnTimestamp: Date.now() + 3600_000 };
  }
}

function dateOf(seconds: unknown): Date | undefined {
  return typeof seconds === "number" ? new Date(seconds * 1000) : undefined;
}

function defined(object: Json): Json {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined));
}

/** The 4.x SecretProperties the documented mapping makes of a wire bundle or item. */
export function expectedProperties(wire: Json): Json {
  const id = String(wire.id);
  const url = new URL(id);
  const [, , name, version] = url.pathname.split("/");
  const a = (wire.attributes ?? {}) as Json;
  return defined({
    vaultUrl: url.origin,
    name,
    id,
    version: version === "" ? undefined : version,
    contentType: wire.contentType,
    tags: wire.tags,
    certificateKeyId: wire.kid,
    managed: wire.managed,
    previousVersion: wire.previousVersion,
    enabled: a.enabled,
    notBefore: dateOf(a.nbf),
    expiresOn: dateOf(a.exp),
    createdOn: dateOf(a.created),
    updatedOn: dateOf(a.updated),
    recoveryLevel: a.recoveryLevel,
    recoverableDays: a.recoverableDays,
  });
}

/** The 4.x KeyVaultSecret of a wire bundle. */
export function expectedSecret(wire: Json): Json {
  const properties = expectedProperties(wire);
  return defined({ name: properties.name, properties, value: wire.value });
}

/** The 4.x DeletedSecret of a wire deleted bundle or item. */
export function expectedDeletedSecret(wire: Json): Json {
  const deleted = defined({
    recoveryId: wire.recoveryId,
    deletedOn: dateOf(wire.deletedDate),
    scheduledPurgeDate: dateOf(wire.scheduledPurgeDate),
  });
  const properties = { ...expectedProperties(wire), ...deleted };
  return defined({ name: properties.name, properties, value: wire.value, ...deleted });
}

/**
 * Compares a public model with the expected one: the same own keys, dates by time, the rest
 * exactly.
 * @param expected - the expected model
 * @param actual - the model our client returned
 * @param path - the path for the report
 * @returns the differences
 */
export function compareModel(expected: unknown, actual: unknown, path = "result"): Difference[] {
  if (expected instanceof Date) {
    return actual instanceof Date && actual.getTime() === expected.getTime()
      ? []
      : [{ check: `model:${path}`, expected: expected.toISOString(), actual: String(actual) }];
  }
  if (expected !== null && typeof expected === "object" && !Array.isArray(expected)) {
    if (actual === null || typeof actual !== "object") {
      return [{ check: `model:${path}`, expected: "an object", actual: String(actual) }];
    }
    const differences: Difference[] = [];
    const e = expected as Json;
    const a = actual as Json;
    const keys = new Set([...Object.keys(e), ...Object.keys(a).filter((k) => a[k] !== undefined)]);
    for (const key of keys) differences.push(...compareModel(e[key], a[key], `${path}.${key}`));
    return differences;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual))
      return [{ check: `model:${path}`, expected: "an array", actual: typeof actual }];
    const differences: Difference[] = [];
    if (expected.length !== actual.length)
      differences.push({
        check: `model:${path}.length`,
        expected: String(expected.length),
        actual: String(actual.length),
      });
    for (let i = 0; i < Math.min(expected.length, actual.length); i++)
      differences.push(...compareModel(expected[i], actual[i], `${path}[${i}]`));
    return differences;
  }
  return expected === actual
    ? []
    : [
        {
          check: `model:${path}`,
          expected: JSON.stringify(expected),
          actual: JSON.stringify(actual),
        },
      ];
}

/** The RestError a recorded error answer must become. */
export function compareError(entry: RecordedEntry, error: unknown): Difference[] {
  const wire = ((entry.ResponseBody as { error?: Json } | null)?.error ?? {}) as Json;
  const e = error as { name?: unknown; statusCode?: unknown; code?: unknown; message?: unknown };
  const differences: Difference[] = [];
  if (e?.name !== "RestError")
    differences.push({ check: "error:name", expected: "RestError", actual: String(e?.name) });
  if (e?.statusCode !== entry.StatusCode)
    differences.push({
      check: "error:statusCode",
      expected: String(entry.StatusCode),
      actual: String(e?.statusCode),
    });
  if (e?.code !== wire.code)
    differences.push({ check: "error:code", expected: String(wire.code), actual: String(e?.code) });
  if (e?.message !== wire.message)
    differences.push({
      check: "error:message",
      expected: String(wire.message),
      actual: String(e?.message),
    });
  return differences;
}

/** An expectation that checks nothing (the value is not a model, e.g. a poller). */
const unchecked = Symbol("unchecked");

type Pager = AsyncIterableIterator<unknown[] & { continuationToken?: string }>;

/** Drives the client through a recording's operations. */
class Driver {
  private readonly pagers = new Map<string, Pager>();
  private readonly backups = new Map<string, Uint8Array>();
  operations = 0;

  constructor(
    private readonly recording: Recording,
    private readonly plan: RecordingPlan,
    private readonly server: PlaybackServer,
    private readonly client: SecretClient,
    private readonly results: EntryResult[],
    private readonly report: (result: EntryResult, differences: Difference[]) => void,
  ) {}

  private get entries(): RecordedEntry[] {
    return this.recording.entries;
  }

  /** The next entry at or after `from` that is neither a challenge nor identity traffic. */
  private nextAuthed(from: number): number | undefined {
    for (let i = from; i < this.entries.length; i++) {
      const entry = this.entries[i];
      if (!isChallenge(entry) && !isIdentityTraffic(entry)) return i;
    }
    return undefined;
  }

  /** The entry the last request consumed. */
  private get last(): number {
    return this.server.cursor - 1;
  }

  /** Checks the outcome of an operation against the last consumed entry. */
  private async outcome(
    run: () => Promise<unknown>,
    expect: (wire: Json) => unknown,
  ): Promise<unknown> {
    try {
      const value = await run();
      const entry = this.entries[this.last];
      if (entry === undefined) return value;
      const expected = expect((entry.ResponseBody ?? {}) as Json);
      if (expected === unchecked) return value;
      if (entry.StatusCode >= 400) {
        this.report(this.results[this.last], [
          { check: "error:none", expected: `a RestError ${entry.StatusCode}`, actual: "a result" },
        ]);
      } else {
        this.report(this.results[this.last], compareModel(expected, value));
      }
      return value;
    } catch (error) {
      const entry = this.entries[this.last];
      if (entry === undefined || entry.StatusCode < 400) {
        const where = this.results[Math.max(this.last, 0)];
        this.report(where, [
          {
            check: "error:unexpected",
            expected: "a result",
            actual: String((error as Error)?.message ?? error).slice(0, 160),
          },
        ]);
      } else {
        this.report(this.results[this.last], compareError(entry, error));
      }
      return undefined;
    }
  }

  async run(): Promise<void> {
    for (;;) {
      const start = this.server.cursor;
      const i = this.nextAuthed(start);
      if (i === undefined) break;
      const note = await this.operation(i);
      this.operations++;
      if (this.server.cursor === start) {
        // The client sent nothing for these entries.
        for (let k = start; k <= i; k++) {
          this.report(this.results[k], [
            {
              check: "request:not-sent",
              expected: "the recorded request",
              actual: note ?? "no request",
            },
          ]);
        }
        this.server.cursor = i + 1;
      }
    }
  }

  private options(body: Json): Json {
    const a = (body.attributes ?? {}) as Json;
    return defined({
      contentType: body.contentType,
      tags: body.tags,
      enabled: a.enabled,
      notBefore: dateOf(a.nbf),
      expiresOn: dateOf(a.exp),
    });
  }

  /** Runs the operation that starts at entry `i`; returns a note when nothing was sent. */
  private async operation(i: number): Promise<string | undefined> {
    const entry = this.entries[i];
    const t = targetOf(entry);
    const [collection, name = "", third = ""] = t.segments;
    const body = (entry.RequestBody ?? {}) as Json;
    const role = this.plan.roles[i];
    const client = this.client;

    if (role.kind === "page") return this.page(role.collection, role.continuation, t.query);
    if (t.method === "PUT" && collection === "secrets") {
      if (name === "") {
        // Our client checks names before sending anything.
        try {
          await client.setSecret(name, body.value as string, this.options(body));
        } catch (error) {
          if (this.server.cursor <= i) return `rejected before sending: ${String(error)}`;
        }
        return undefined;
      }
      await this.outcome(
        () => client.setSecret(name, body.value as string, this.options(body)),
        expectedSecret,
      );
      return undefined;
    }
    if (t.method === "GET" && collection === "secrets") {
      const next = this.nextAuthed(i + 1);
      const nt = next === undefined ? undefined : targetOf(this.entries[next]);
      if (
        nt?.method === "POST" &&
        nt.segments[0] === "deletedsecrets" &&
        nt.segments[1] === name &&
        nt.segments[2] === "recover"
      ) {
        return this.poller(i, "recover", name);
      }
      const outContentType = t.query.get("outContentType");
      await this.outcome(
        () =>
          client.getSecret(
            name,
            defined({ version: third === "" ? undefined : third, outContentType }) as never,
          ),
        expectedSecret,
      );
      return undefined;
    }
    if (t.method === "PATCH" && collection === "secrets") {
      await this.outcome(
        () => client.updateSecretProperties(name, third, this.options(body)),
        expectedProperties,
      );
      return undefined;
    }
    if (t.method === "DELETE" && collection === "secrets") return this.poller(i, "delete", name);
    if (t.method === "POST" && collection === "deletedsecrets" && third === "recover")
      return this.poller(i, "recover", name);
    if (t.method === "GET" && collection === "deletedsecrets") {
      await this.outcome(() => client.getDeletedSecret(name), expectedDeletedSecret);
      return undefined;
    }
    if (t.method === "DELETE" && collection === "deletedsecrets") {
      await this.outcome(
        () => client.purgeDeletedSecret(name),
        () => undefined,
      );
      return undefined;
    }
    if (t.method === "POST" && collection === "secrets" && third === "backup") {
      const value = await this.outcome(
        () => client.backupSecret(name),
        (wire) => new Uint8Array(Buffer.from(String(wire.value), "base64url")),
      );
      const recorded = (this.entries[this.last]?.ResponseBody as Json | null)?.value;
      if (value instanceof Uint8Array && typeof recorded === "string")
        this.backups.set(recorded, value);
      return undefined;
    }
    if (t.method === "POST" && collection === "secrets" && name === "restore") {
      const blob = String(body.value);
      const bytes = this.backups.get(blob) ?? new Uint8Array(Buffer.from(blob, "base64url"));
      await this.outcome(() => client.restoreSecretBackup(bytes), expectedProperties);
      return undefined;
    }
    return `no client operation sends ${t.method} ${t.path}`;
  }

  /** Entries after the cursor that poll `path` (404s, then possibly a 200). */
  private remainingPolls(path: string): { count: number; done: boolean } {
    let count = 0;
    let done = false;
    for (let k = this.server.cursor; k < this.entries.length; k++) {
      const t = targetOf(this.entries[k]);
      if (t.method !== "GET" || decodeURIComponent(t.path) !== path) break;
      count++;
      if (this.entries[k].StatusCode !== 404) {
        done = true;
        break;
      }
    }
    return { count, done };
  }

  private async poller(
    i: number,
    kind: "delete" | "recover",
    name: string,
  ): Promise<string | undefined> {
    const client = this.client;
    const begin = (options: Json) =>
      kind === "delete"
        ? client.beginDeleteSecret(name, options)
        : client.beginRecoverDeletedSecret(name, options);
    const expect = kind === "delete" ? expectedDeletedSecret : expectedProperties;
    const pollPath = kind === "delete" ? `/deletedsecrets/${name}` : `/secrets/${name}/`;
    const started = this.server.cursor;
    const poller = (await this.outcome(
      () => begin({ intervalInMs: 0 }),
      () => unchecked,
    )) as
      | {
          pollUntilDone(): Promise<unknown>;
          poll(): Promise<void>;
          stopPolling(): void;
          toString(): string;
          getResult(): unknown;
          isDone(): boolean;
        }
      | undefined;
    if (poller === undefined)
      return this.server.cursor > started ? undefined : `begin ${kind} sent no request`;
    // begin's own outcome check compared nothing (a poller is not a model): check its state now.
    let current = poller;
    let { count, done } = this.remainingPolls(pollPath);
    if (count > 0 && /resume/.test(this.recording.name)) {
      current.stopPolling();
      const serialized = current.toString();
      const resumed = await this.outcome(
        () => begin({ intervalInMs: 0, resumeFrom: serialized }),
        () => unchecked,
      );
      if (resumed === undefined) return undefined;
      current = resumed as typeof poller;
      ({ count, done } = this.remainingPolls(pollPath));
    }
    if (done) {
      await this.outcome(() => current.pollUntilDone(), expect);
      return undefined;
    }
    for (let k = 0; k < count; k++)
      await this.outcome(
        () => current.poll(),
        () => unchecked,
      );
    const last = this.entries[this.last];
    if (current.isDone() && last !== undefined && last.StatusCode === 200) {
      // Done at the start or the first poll: the result is that answer.
      this.report(
        this.results[this.last],
        compareModel(expect(last.ResponseBody as Json), current.getResult()),
      );
    } else if (!current.isDone() && kind === "delete" && this.entries[i].StatusCode === 200) {
      // Still running: the result so far is what the delete answered.
      this.report(
        this.results[this.last],
        compareModel(
          expectedDeletedSecret(this.entries[i].ResponseBody as Json),
          current.getResult(),
        ),
      );
    }
    return undefined;
  }

  private async page(
    collection: string,
    continuation: boolean,
    query: Map<string, string>,
  ): Promise<string | undefined> {
    let pager = this.pagers.get(collection);
    if (!continuation || pager === undefined) {
      if (continuation) return `no open list of ${collection} to continue`;
      const maxresults = query.get("maxresults");
      const settings = maxresults === undefined ? {} : { maxPageSize: Number(maxresults) };
      const name = collection.split("/")[2];
      const client = this.client;
      const iterator =
        collection === "/secrets"
          ? client.listPropertiesOfSecrets().byPage(settings)
          : collection === "/deletedsecrets"
            ? client.listDeletedSecrets().byPage(settings)
            : client.listPropertiesOfSecretVersions(name).byPage(settings);
      pager = iterator as unknown as Pager;
      this.pagers.set(collection, pager);
    }
    const current = pager;
    const expectItem =
      collection === "/deletedsecrets" ? expectedDeletedSecret : expectedProperties;
    await this.outcome(
      async () => {
        const next = await current.next();
        if (next.done === true) return "done";
        const page = next.value;
        return { items: [...page], continuationToken: page.continuationToken };
      },
      (wire) => {
        const items = Array.isArray(wire.value) ? (wire.value as Json[]) : [];
        const link = wire.nextLink;
        return defined({
          items: items.map(expectItem),
          continuationToken:
            typeof link === "string"
              ? `${this.server.origin}${new URL(link).pathname}${new URL(link).search}`
              : undefined,
        });
      },
    );
    return undefined;
  }
}

/** The api-version of a request differs (explained when our client does not offer the recorded one). */
function isOtherVersion(difference: Difference): boolean {
  return difference.check === "request:query:api-version";
}

/**
 * Plays one recording to our client.
 * @param recording - the recording
 * @param accepted - the accepted differences
 * @returns the result of each entry (request checks and parsed answers)
 */
export async function playRecording(
  recording: Recording,
  accepted: AcceptedList,
): Promise<RecordingResult> {
  const results = recording.entries.map((entry, index) => {
    const t = targetOf(entry);
    return newEntry(index, `${t.method} ${t.path}`, entry.StatusCode);
  });
  const { version, recorded } = serviceVersionFor(recording);
  const report = (result: EntryResult, differences: Difference[]): void => {
    const explained = recorded ? [] : differences.filter(isOtherVersion);
    if (explained.length > 0 && !result.rules.includes("version-not-offered"))
      result.rules.push("version-not-offered");
    const rest = differences.filter((d) => !explained.includes(d));
    addDifferences(result, rest, "client", recording.name, accepted);
  };
  const tokens = recordsAuthorization(recording);
  const server = new PlaybackServer(recording.entries, results, report, (entry) =>
    tokens ? headerOf(entry.RequestHeaders, "authorization") !== undefined : !isChallenge(entry),
  );
  await server.start();
  // Challenges are cached per vault origin for the whole process, and a port can be reused: each
  // recording starts as a fresh process would, with a challenge.
  clearChallengeCache();
  const credential = new RecordingCredential();
  const client = new SecretClient(server.origin, credential, {
    serviceVersion: version,
    allowInsecureConnection: true,
    // The recorded challenge names https://vault.azure.net; the playback host is 127.0.0.1.
    disableChallengeResourceVerification: true,
    retryOptions: { maxRetries: 0 },
  });
  let operations: number | undefined;
  try {
    const driver = new Driver(recording, planRecording(recording), server, client, results, report);
    await driver.run();
    operations = driver.operations;
    // The token was asked for the challenge's scope and tenant.
    const challenge = recording.entries.find(isChallenge);
    const first = credential.calls[0];
    if (challenge !== undefined && first !== undefined) {
      const header = headerOf(challenge.ResponseHeaders, "www-authenticate") ?? "";
      const tenant = /authorization="https:\/\/[^/]+\/([^"/]+)/.exec(header)?.[1];
      const resource = /resource="([^"]+)"/.exec(header)?.[1];
      const index = recording.entries.indexOf(challenge);
      const differences: Difference[] = [];
      const scope = Array.isArray(first.scopes) ? first.scopes.join(" ") : first.scopes;
      if (resource !== undefined && scope !== `${resource}/.default`)
        differences.push({ check: "auth:scope", expected: `${resource}/.default`, actual: scope });
      if (tenant !== first.tenantId)
        differences.push({
          check: "auth:tenant",
          expected: String(tenant),
          actual: String(first.tenantId),
        });
      report(results[index], differences);
    }
    for (const [index, entry] of recording.entries.entries()) {
      if (index < server.cursor) results[index].actualStatus = entry.StatusCode;
      else
        report(results[index], [
          { check: "request:not-sent", expected: "the recorded request", actual: "no request" },
        ]);
    }
  } finally {
    client.close();
    await server.close();
  }
  return {
    side: "client",
    recording: recording.name,
    entries: results,
    operations: operations ?? 0,
  };
}

export { listCollection };
