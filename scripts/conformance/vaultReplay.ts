/**
 * The vault half: replays each recording, request by request and in order (challenge requests
 * included), against a fresh local vault, and compares every answer with the recorded one.
 * Sanitized hosts are rewritten to the vault; the versions, backup blobs and nextLinks the vault
 * returns are carried into later requests in place of the recorded ones.
 *
 * Stated rules for what depends on real time or on the shared test vault's contents:
 * - poll-done-early: a poll the real vault answered 404 (delete or recover still running) may be
 *   answered 200 by the local vault (it finished sooner); the answer is then compared with the
 *   recorded 200 of that poll group.
 * - poll-until-done: where the real vault answered 200, a local 404 is compared with the recorded
 *   404 of the group and the poll is repeated, the vault's clock moved 100 ms forward each time
 *   (at most 50 times), until 200.
 * - restore-retry: a restore the real vault answered 409 after a purge must be answered 409 (and
 *   is compared with it); where it answered 200, a local 409 is compared with the recorded 409
 *   and the restore is repeated with the vault's clock moved past the conflict window.
 * Moving the vault's clock instead of waiting keeps the run quick and independent of the load.
 * - identity-traffic: requests to the identity platform (the Python recordings hold the OpenID
 *   configuration and instance discovery their identity library fetched) are not the vault's;
 *   they are not sent.
 * - earlier-service: a recorded answer that differs only in an earlier form of what the service
 *   sends today (the 401 message's earlier wording, `login.windows.net`, `x-ms-keyvault-rbac-cache`;
 *   see isEarlierServiceForm) is explained by the recording's date.
 * Headers a recording stripped from every answer (`x-ms-request-id` in the Python recordings) are
 * not compared, and every request but the challenge is sent with a token (the Python recordings
 * keep no Authorization header). List pages of versions must come ordered by version id.
 * - foreign-items: list pages are compared item by item with the recorded item of the same name
 *   (or version); items of secrets other tests left in the real vault are not expected, and where
 *   the recorded walk holds such items, page boundaries (nextLink present or null) may differ and
 *   recorded pages beyond the local vault's last page are not sent.
 */
import { randomUUID } from "node:crypto";
import { request as httpsRequest } from "node:https";
import {
  startLocalVault,
  type LocalVault,
  type LocalVaultOptions,
} from "../../src/emulator/index.js";
import type { AcceptedList } from "./accepted.js";
import {
  compareBody,
  compareHeaders,
  compareJson,
  isEarlierServiceForm,
  type Difference,
} from "./compare.js";
import { nameOfId, planRecording, versionOfId, type RecordingPlan } from "./plan.js";
import {
  headerOf,
  headersNotRecorded,
  isChallenge,
  targetOf,
  type Recording,
  type RecordedEntry,
} from "./recordings.js";
import { addDifferences, newEntry, type EntryResult, type RecordingResult } from "./results.js";

/** An answer of the local vault. */
interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/** Settings of the replay. */
export interface VaultReplayOptions {
  /** Extra options for every local vault (merged over the ones read from the recording). */
  vaultOptions?: LocalVaultOptions;
  /** Most repetitions of a poll-until-done or restore-retry loop. @default 50 */
  maxRetries?: number;
}

/** The real service answers restores 409 for about 5 s after a purge; the replay vault too. */
const restoreConflictAfterPurgeInMs = 5000;
/** Clock step of a repeated poll: the local vault's default delete/recover delay. */
const pollStepMs = 100;

function send(
  vault: LocalVault,
  method: string,
  pathAndQuery: string,
  headers: Record<string, string>,
  body: string | undefined,
): Promise<Answer> {
  const url = new URL(pathAndQuery, vault.vaultUrl);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method,
        headers: {
          ...headers,
          ...(body === undefined ? {} : { "content-length": String(Buffer.byteLength(body)) }),
        },
        ca: vault.caCertificate,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: unknown = text === "" ? undefined : text;
          try {
            if (text !== "") parsed = JSON.parse(text);
          } catch {
            // not JSON: compared as text, and reported as a body difference
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** The vault settings the recorded vault had (retention, recovery level, tenant). */
export function vaultSettingsOf(recording: Recording): LocalVaultOptions {
  const options: LocalVaultOptions = {};
  for (const entry of recording.entries) {
    const attributes = (entry.ResponseBody as { attributes?: Record<string, unknown> } | null)
      ?.attributes;
    if (attributes !== undefined && options.recoverableDays === undefined) {
      if (typeof attributes.recoverableDays === "number")
        options.recoverableDays = attributes.recoverableDays;
      if (typeof attributes.recoveryLevel === "string")
        options.recoveryLevel = attributes.recoveryLevel;
    }
    const challenge = headerOf(entry.ResponseHeaders, "www-authenticate");
    const tenant =
      challenge === undefined
        ? undefined
        : /authorization="https:\/\/[^/]+\/([^"/]+)/.exec(challenge)?.[1];
    if (tenant !== undefined && options.tenantId === undefined) options.tenantId = tenant;
  }
  return options;
}

/** Per-recording state carried from answers into later requests. */
class ReplayState {
  readonly versions = new Map<string, string>();
  readonly blobs = new Map<string, string>();
  readonly nextLinks = new Map<string, string | null>();
  /** Per collection: item keys the vault listed in the current walk, and the walk's last entry. */
  readonly walks = new Map<
    string,
    { seen: Set<string>; recordedOwn: Set<string>; last: EntryResult; lastVersion: string }
  >();
  /** Restore groups the vault completed early: final entry index -> the vault's answer. */
  readonly earlyRestores = new Map<number, Answer>();

  learnIds(recorded: unknown, actual: unknown): void {
    const r = versionOfId((recorded as { id?: unknown } | null)?.id);
    const a = versionOfId((actual as { id?: unknown } | null)?.id);
    if (r !== undefined && a !== undefined && !this.versions.has(r)) this.versions.set(r, a);
  }
}

/**
 * Replays one recording against a fresh local vault.
 * @param recording - the recording
 * @param accepted - the accepted differences
 * @param options - replay settings
 * @returns the result of each entry
 */
export async function replayRecording(
  recording: Recording,
  accepted: AcceptedList,
  options: VaultReplayOptions = {},
): Promise<RecordingResult> {
  const plan = planRecording(recording);
  const vault = await startLocalVault({
    https: true,
    strictAuth: true,
    restoreConflictAfterPurgeInMs,
    ...vaultSettingsOf(recording),
    ...options.vaultOptions,
  });
  try {
    const token = await vault.credential.getToken("https://vault.azure.net/.default");
    if (token === null) throw new Error("The local vault's credential gave no token.");
    const replay = new Replay(
      recording,
      plan,
      vault,
      token.token,
      accepted,
      options.maxRetries ?? 50,
    );
    return { side: "vault", recording: recording.name, entries: await replay.run() };
  } finally {
    await vault.close();
  }
}

class Replay {
  private readonly state = new ReplayState();
  private readonly results: EntryResult[] = [];
  private readonly notRecorded: Set<string>;

  constructor(
    private readonly recording: Recording,
    private readonly plan: RecordingPlan,
    private readonly vault: LocalVault,
    private readonly token: string,
    private readonly accepted: AcceptedList,
    private readonly maxRetries: number,
  ) {
    this.notRecorded = headersNotRecorded(recording);
  }

  async run(): Promise<EntryResult[]> {
    for (const [index, entry] of this.recording.entries.entries()) {
      const t = targetOf(entry);
      const result = newEntry(index, `${t.method} ${t.path}`, entry.StatusCode);
      this.results.push(result);
      await this.replayEntry(index, entry, result);
    }
    for (const collection of this.state.walks.keys()) this.endWalk(collection);
    return this.results;
  }

  private differences(result: EntryResult, differences: Difference[]): void {
    const today = differences.filter((d) => !isEarlierServiceForm(d));
    if (today.length < differences.length && !result.rules.includes("earlier-service"))
      result.rules.push("earlier-service");
    addDifferences(result, today, "vault", this.recording.name, this.accepted);
  }

  /** Builds the request of an entry with the vault's versions, blobs and nextLinks. */
  private requestOf(
    entry: RecordedEntry,
    nextLink?: string,
  ): { pathAndQuery: string; headers: Record<string, string>; body: string | undefined } {
    const url = new URL(entry.RequestUri);
    let pathAndQuery: string;
    if (nextLink !== undefined) {
      const link = new URL(nextLink);
      pathAndQuery = `${link.pathname}${link.search}`;
    } else {
      const path = url.pathname
        .split("/")
        .map((segment) => this.state.versions.get(segment) ?? segment)
        .join("/");
      pathAndQuery = `${path}${url.search}`;
    }
    const headers: Record<string, string> = { accept: "application/json" };
    const contentType = headerOf(entry.RequestHeaders, "content-type");
    if (contentType !== undefined) headers["content-type"] = contentType;
    if (headerOf(entry.RequestHeaders, "x-ms-client-request-id") !== undefined) {
      headers["x-ms-client-request-id"] = randomUUID();
    }
    // Every vault request but the challenge carried a token (the Python recordings keep no
    // Authorization header at all).
    if (!isChallenge(entry)) headers.authorization = `Bearer ${this.token}`;
    let body: string | undefined;
    if (entry.RequestBody !== null && entry.RequestBody !== undefined) {
      let value = entry.RequestBody;
      const blob = (value as { value?: unknown }).value;
      if (typeof blob === "string" && this.state.blobs.has(blob))
        value = { ...(value as object), value: this.state.blobs.get(blob) };
      body = typeof value === "string" ? value : JSON.stringify(value);
    }
    return { pathAndQuery, headers, body };
  }

  private async send(entry: RecordedEntry, nextLink?: string): Promise<Answer> {
    const { pathAndQuery, headers, body } = this.requestOf(entry, nextLink);
    return send(this.vault, entry.RequestMethod.toUpperCase(), pathAndQuery, headers, body);
  }

  /** Compares status, headers and body of an answer with a recorded entry. */
  private compare(expected: RecordedEntry, answer: Answer, blobValue = false): Difference[] {
    const differences: Difference[] = [];
    if (expected.StatusCode !== answer.status) {
      differences.push({
        check: "status",
        expected: String(expected.StatusCode),
        actual: String(answer.status),
      });
    }
    differences.push(...compareHeaders(expected.ResponseHeaders, answer.headers, this.notRecorded));
    differences.push(...compareBody(expected.ResponseBody, answer.body, { blobValue }));
    return differences;
  }

  private async replayEntry(
    index: number,
    entry: RecordedEntry,
    result: EntryResult,
  ): Promise<void> {
    const role = this.plan.roles[index];
    const entries = this.recording.entries;
    const t = targetOf(entry);
    const isBackup = t.method === "POST" && t.segments[t.segments.length - 1] === "backup";

    if (role.kind === "identity") {
      result.rules.push("identity-traffic");
      return;
    }
    if (role.kind === "page") {
      await this.replayPage(entry, result, role.collection, role.continuation);
      return;
    }
    if (role.kind === "restoreConflict" || role.kind === "restoreDone") {
      const early = this.state.earlyRestores.get(role.kind === "restoreDone" ? index : role.final);
      if (early !== undefined) {
        // The vault already restored within the group (a difference reported on that entry).
        result.rules.push("restore-retry");
        if (role.kind === "restoreDone") {
          result.actualStatus = early.status;
          this.differences(result, this.compare(entry, early));
          this.state.learnIds(entry.ResponseBody, early.body);
        }
        return;
      }
    }

    let answer = await this.send(entry);
    result.actualStatus = answer.status;

    if (role.kind === "poll" && answer.status === 200 && entry.StatusCode === 404) {
      result.rules.push("poll-done-early");
      const final = role.final === undefined ? undefined : entries[role.final];
      this.differences(
        result,
        final === undefined
          ? compareHeaders(entry.ResponseHeaders, answer.headers, this.notRecorded).filter(
              (d) => d.check !== "header:content-type",
            )
          : this.compare(final, answer),
      );
      return;
    }
    if (role.kind === "pollDone" && answer.status === 404) {
      result.rules.push("poll-until-done");
      const previous = role.previous === undefined ? undefined : entries[role.previous];
      if (previous !== undefined) this.differences(result, this.compare(previous, answer));
      answer = await this.retryUntil(entry, answer, 404, pollStepMs);
      result.actualStatus = answer.status;
    }
    if (role.kind === "restoreConflict" && answer.status === 200) {
      this.differences(result, [
        {
          check: "rule:restore-retry",
          expected: "409 Conflict (restore right after a purge)",
          actual: "200",
        },
      ]);
      this.state.earlyRestores.set(role.final, answer);
      return;
    }
    if (role.kind === "restoreDone" && answer.status === 409) {
      result.rules.push("restore-retry");
      this.differences(result, this.compare(entries[role.previous], answer));
      answer = await this.retryUntil(entry, answer, 409, restoreConflictAfterPurgeInMs);
      result.actualStatus = answer.status;
    }

    this.differences(result, this.compare(entry, answer, isBackup));
    this.state.learnIds(entry.ResponseBody, answer.body);
    if (isBackup) {
      const recorded = (entry.ResponseBody as { value?: unknown } | null)?.value;
      const actual = (answer.body as { value?: unknown } | null)?.value;
      if (typeof recorded === "string" && typeof actual === "string")
        this.state.blobs.set(recorded, actual);
    }
  }

  /** Repeats a request while it gets `whileStatus`, moving the vault's clock forward each time. */
  private async retryUntil(
    entry: RecordedEntry,
    first: Answer,
    whileStatus: number,
    stepMs: number,
  ): Promise<Answer> {
    let answer = first;
    for (let attempt = 0; answer.status === whileStatus && attempt < this.maxRetries; attempt++) {
      this.vault.advanceClock(stepMs);
      answer = await this.send(entry);
    }
    return answer;
  }

  private itemKey(
    collection: string,
    item: Record<string, unknown>,
    recorded: boolean,
  ): string | undefined {
    if (collection.endsWith("/versions")) {
      const version = versionOfId(item.id);
      if (version === undefined) return undefined;
      return recorded ? (this.state.versions.get(version) ?? `recorded:${version}`) : version;
    }
    return nameOfId(item.id ?? item.recoveryId);
  }

  private endWalk(collection: string): void {
    const walk = this.state.walks.get(collection);
    if (walk === undefined) return;
    this.state.walks.delete(collection);
    const missing = [...walk.recordedOwn].filter((key) => !walk.seen.has(key));
    if (missing.length > 0) {
      this.differences(walk.last, [
        {
          check: "list:missing-item",
          expected: missing.join(", "),
          actual: "not listed by the vault",
        },
      ]);
    }
  }

  private async replayPage(
    entry: RecordedEntry,
    result: EntryResult,
    collection: string,
    continuation: boolean,
  ): Promise<void> {
    const foreign = this.plan.foreignCollections.has(collection);
    const recordedItems = ((entry.ResponseBody as { value?: unknown } | null)?.value ??
      []) as Array<Record<string, unknown>>;
    let nextLink: string | undefined;
    if (continuation) {
      const link = this.state.nextLinks.get(collection);
      if (link === null || link === undefined) {
        // The local vault has no more pages; the real vault listed other tests' secrets here.
        const own = recordedItems.filter((item) =>
          this.plan.ownNames.has(nameOfId(item.id ?? item.recoveryId) ?? ""),
        );
        if (foreign) {
          // Own items on such a page must have been listed earlier in the vault's walk (checked
          // when the walk ends).
          result.rules.push("foreign-items");
        } else {
          this.differences(result, [
            {
              check: "list:page-missing",
              expected: `a page with ${recordedItems.length} items`,
              actual: "no nextLink to it",
            },
          ]);
        }
        const walk = this.state.walks.get(collection);
        for (const item of own) walk?.recordedOwn.add(this.itemKey(collection, item, true) ?? "");
        return;
      }
      nextLink = link;
    } else {
      this.endWalk(collection);
    }
    let walk = this.state.walks.get(collection);
    if (walk === undefined) {
      walk = { seen: new Set(), recordedOwn: new Set(), last: result, lastVersion: "" };
      this.state.walks.set(collection, walk);
    }
    walk.last = result;

    const answer = await this.send(entry, nextLink);
    result.actualStatus = answer.status;
    const differences: Difference[] = [];
    if (answer.status !== entry.StatusCode) {
      differences.push({
        check: "status",
        expected: String(entry.StatusCode),
        actual: String(answer.status),
      });
    }
    differences.push(...compareHeaders(entry.ResponseHeaders, answer.headers, this.notRecorded));
    const body = answer.body as { value?: unknown; nextLink?: unknown } | undefined;
    const recordedBody = entry.ResponseBody as { value?: unknown; nextLink?: unknown };
    const envelope = compareJson(
      { ...recordedBody, value: [] },
      { ...body, value: Array.isArray(body?.value) ? [] : body?.value },
    );
    for (const d of envelope) {
      const boundary =
        d.check === "body:$.nextLink" &&
        (recordedBody.nextLink === null) !==
          (body?.nextLink === null || body?.nextLink === undefined);
      if (boundary && foreign) {
        if (!result.rules.includes("foreign-items")) result.rules.push("foreign-items");
      } else differences.push(d);
    }
    this.state.nextLinks.set(collection, typeof body?.nextLink === "string" ? body.nextLink : null);

    const actualItems = Array.isArray(body?.value)
      ? (body.value as Array<Record<string, unknown>>)
      : [];
    // Every recorded item of this collection, by key: the counterpart of what the vault lists.
    const recordedByKey = new Map<string, Record<string, unknown>>();
    this.recording.entries.forEach((other, i) => {
      const role = this.plan.roles[i];
      if (role.kind !== "page" || role.collection !== collection) return;
      for (const item of ((other.ResponseBody as { value?: unknown } | null)?.value ?? []) as Array<
        Record<string, unknown>
      >) {
        const key = this.itemKey(collection, item, true);
        if (key !== undefined && !recordedByKey.has(key)) recordedByKey.set(key, item);
      }
    });
    actualItems.forEach((item, i) => {
      const key = this.itemKey(collection, item, false);
      if (key === undefined) {
        differences.push({
          check: `body:$.value[${i}].id`,
          expected: "an identifier",
          actual: JSON.stringify(item.id),
        });
        return;
      }
      walk.seen.add(key);
      // The service lists versions ordered by version id, across pages (every recorded walk is).
      if (collection.endsWith("/versions")) {
        if (key < walk.lastVersion) {
          differences.push({
            check: "list:order",
            expected: `versions ordered by id, after ${walk.lastVersion}`,
            actual: key,
          });
        }
        walk.lastVersion = key;
      }
      const counterpart = recordedByKey.get(key);
      if (counterpart === undefined) {
        differences.push({
          check: "list:unexpected-item",
          expected: "not in the recording",
          actual: key,
        });
        return;
      }
      differences.push(...compareJson(counterpart, item, {}, `$.value[${i}]`));
    });
    for (const item of recordedItems) {
      if (this.plan.ownNames.has(nameOfId(item.id ?? item.recoveryId) ?? "")) {
        const key = this.itemKey(collection, item, true);
        if (key !== undefined) walk.recordedOwn.add(key);
      }
    }
    this.differences(result, differences);
  }
}
