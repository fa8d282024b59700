/**
 * What each entry of a recording is, for the replay's timing rules: polls of a delete or recover
 * (404 until the operation completes, then 200), restores retried after a purge (409 until the
 * real vault lets the name be reused, then 200), and list pages (whose contents depend on what
 * else the real, shared test vault held).
 */
import {
  isChallenge,
  isIdentityTraffic,
  targetOf,
  type Recording,
  type RecordedEntry,
} from "./recordings.js";

/** The role of one entry. */
export type EntryRole =
  | { kind: "challenge" }
  /** A request to the identity platform, not to the vault (skipped by both halves). */
  | { kind: "identity" }
  | { kind: "plain" }
  /** A poll answered 404 while the operation ran; `final` is the entry that answered 200, if any. */
  | { kind: "poll"; final: number | undefined }
  /** The poll that answered 200; `previous` is the last 404 poll of the group, if any. */
  | { kind: "pollDone"; previous: number | undefined }
  /** A restore answered 409 after a purge; `final` is the restore that answered 200. */
  | { kind: "restoreConflict"; final: number }
  /** The restore that answered 200 after 409s; `previous` is the last 409. */
  | { kind: "restoreDone"; previous: number }
  /** A page of a list; `collection` is the listed path (`/secrets`, `/secrets/x/versions`). */
  | { kind: "page"; collection: string; continuation: boolean };

/** The analysis of a recording. */
export interface RecordingPlan {
  roles: EntryRole[];
  /** Lower-cased names this recording creates or restores (list items of other names are foreign). */
  ownNames: Set<string>;
  /** Collections whose recorded walk lists items this recording did not create. */
  foreignCollections: Set<string>;
}

/**
 * The collection a list request reads, if it is one.
 * @param segments - the request's path segments
 * @param method - the request method
 * @returns `/secrets`, `/deletedsecrets` or `/secrets/{name}/versions`
 */
export function listCollection(segments: string[], method: string): string | undefined {
  if (method !== "GET") return undefined;
  const s = segments[segments.length - 1] === "" ? segments.slice(0, -1) : segments;
  if (s.length === 1 && (s[0] === "secrets" || s[0] === "deletedsecrets")) return `/${s[0]}`;
  if (s.length === 3 && s[0] === "secrets" && s[2] === "versions")
    return `/secrets/${s[1]}/versions`;
  return undefined;
}

/**
 * The secret name an identifier names (`https://v/secrets/name/version` -> `name`).
 * @param id - an id or recoveryId
 * @returns the lower-cased name
 */
export function nameOfId(id: unknown): string | undefined {
  if (typeof id !== "string") return undefined;
  try {
    const segments = new URL(id).pathname.split("/");
    return segments[2]?.toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * The version an identifier names, if it names one.
 * @param id - an id
 * @returns the version
 */
export function versionOfId(id: unknown): string | undefined {
  if (typeof id !== "string") return undefined;
  try {
    const version = new URL(id).pathname.split("/")[3];
    return version === undefined || version === "" ? undefined : version;
  } catch {
    return undefined;
  }
}

function items(entry: RecordedEntry): Array<Record<string, unknown>> {
  const value = (entry.ResponseBody as { value?: unknown } | null)?.value;
  return Array.isArray(value) ? (value as Array<Record<string, unknown>>) : [];
}

/**
 * Analyses a recording.
 * @param recording - the recording
 * @returns the roles of its entries, its own names and its collections with foreign items
 */
export function planRecording(recording: Recording): RecordingPlan {
  const { entries } = recording;
  const roles: EntryRole[] = entries.map(() => ({ kind: "plain" }));
  const ownNames = new Set<string>();
  const targets = entries.map(targetOf);

  // Authenticated entries only: a challenge request is answered 401 whatever it asks.
  const authed: number[] = [];
  entries.forEach((entry, i) => {
    if (isIdentityTraffic(entry)) roles[i] = { kind: "identity" };
    else if (isChallenge(entry)) roles[i] = { kind: "challenge" };
    else authed.push(i);
  });

  for (const i of authed) {
    const t = targets[i];
    if (
      t.method === "PUT" &&
      t.segments[0] === "secrets" &&
      t.segments.length === 2 &&
      t.segments[1] !== ""
    ) {
      ownNames.add(t.segments[1].toLowerCase());
    }
    if (t.method === "POST" && t.segments.join("/") === "secrets/restore") {
      const name = nameOfId((entries[i].ResponseBody as { id?: unknown } | null)?.id);
      if (name !== undefined) ownNames.add(name);
    }
  }

  // Polls: after a delete (GET /deletedsecrets/{n}) or a recover (GET /secrets/{n}/).
  for (let k = 0; k < authed.length; k++) {
    const i = authed[k];
    const t = targets[i];
    let pollPath: string | undefined;
    if (
      t.method === "DELETE" &&
      t.segments[0] === "secrets" &&
      t.segments.length === 2 &&
      entries[i].StatusCode === 200
    ) {
      pollPath = `/deletedsecrets/${t.segments[1]}`;
    } else if (
      t.method === "POST" &&
      t.segments[0] === "deletedsecrets" &&
      t.segments[2] === "recover" &&
      entries[i].StatusCode === 200
    ) {
      pollPath = `/secrets/${t.segments[1]}/`;
    }
    if (pollPath === undefined) continue;
    const group: number[] = [];
    let final: number | undefined;
    for (let j = k + 1; j < authed.length; j++) {
      const e = authed[j];
      if (targets[e].method !== "GET" || decodeURIComponent(targets[e].path) !== pollPath) break;
      if (entries[e].StatusCode === 404) group.push(e);
      else {
        if (entries[e].StatusCode === 200) final = e;
        break;
      }
    }
    for (const e of group) roles[e] = { kind: "poll", final };
    if (final !== undefined) roles[final] = { kind: "pollDone", previous: group[group.length - 1] };
  }

  // Restores retried after a purge: 409s then a 200 of the same body.
  for (let k = 0; k < authed.length; k++) {
    const i = authed[k];
    const t = targets[i];
    if (
      t.method !== "POST" ||
      t.segments.join("/") !== "secrets/restore" ||
      entries[i].StatusCode !== 409
    )
      continue;
    const group = [i];
    let j = k + 1;
    while (
      j < authed.length &&
      entries[authed[j]].StatusCode === 409 &&
      targets[authed[j]].segments.join("/") === "secrets/restore"
    ) {
      group.push(authed[j]);
      j++;
    }
    const last = authed[j];
    if (
      last !== undefined &&
      targets[last].segments.join("/") === "secrets/restore" &&
      entries[last].StatusCode === 200 &&
      JSON.stringify(entries[last].RequestBody) === JSON.stringify(entries[i].RequestBody)
    ) {
      for (const e of group) roles[e] = { kind: "restoreConflict", final: last };
      roles[last] = { kind: "restoreDone", previous: group[group.length - 1] };
      k = j;
    }
  }

  const foreignCollections = new Set<string>();
  for (const i of authed) {
    const t = targets[i];
    const collection = listCollection(t.segments, t.method);
    if (collection === undefined) continue;
    roles[i] = { kind: "page", collection, continuation: t.query.has("$skiptoken") };
    for (const item of items(entries[i])) {
      const name = nameOfId(item.id ?? item.recoveryId);
      if (name !== undefined && !ownNames.has(name)) foreignCollections.add(collection);
    }
  }
  return { roles, ownNames, foreignCollections };
}
