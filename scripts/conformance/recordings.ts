/**
 * Reading test-proxy recordings: `{ Entries: [{ RequestUri, RequestMethod, RequestHeaders,
 * RequestBody, StatusCode, ResponseHeaders, ResponseBody }], Variables }`, one file per test.
 * The recordings are not ours; they are read from a folder given on the command line.
 */
import { readdir, readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";

/** One request and its answer, as the test proxy stored them. */
export interface RecordedEntry {
  RequestUri: string;
  RequestMethod: string;
  RequestHeaders: Record<string, string>;
  RequestBody: unknown;
  StatusCode: number;
  ResponseHeaders: Record<string, string>;
  ResponseBody: unknown;
}

/** One recording file. */
export interface Recording {
  /** Path relative to the recordings folder, with `/` separators (`folder/recording_x.json`). */
  name: string;
  entries: RecordedEntry[];
}

/** Where a recorded request points, with the sanitized host removed. */
export interface RecordedTarget {
  method: string;
  /** Path segments after the host, decoded (`["secrets", "name", ""]` for `/secrets/name/`). */
  segments: string[];
  /** The path as recorded (`/secrets/name/`). */
  path: string;
  /** Query parameters (names as recorded). */
  query: Map<string, string>;
}

/**
 * Reads every `*.json` recording under a folder (recursively), sorted by path.
 * @param folder - the recordings folder
 * @returns the recordings
 */
export async function loadRecordings(folder: string): Promise<Recording[]> {
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile() && entry.name.endsWith(".json")) files.push(path);
    }
  };
  await walk(folder);
  files.sort();
  const recordings: Recording[] = [];
  for (const file of files) {
    const parsed: unknown = JSON.parse(await readFile(file, "utf8"));
    recordings.push(parseRecording(relative(folder, file).split(sep).join("/"), parsed));
  }
  return recordings;
}

/**
 * Checks the shape of a parsed recording file.
 * @param name - the recording's name
 * @param parsed - the parsed JSON
 * @returns the recording
 * @throws TypeError when the file is not a test-proxy recording
 */
export function parseRecording(name: string, parsed: unknown): Recording {
  const entries = (parsed as { Entries?: unknown } | null)?.Entries;
  if (!Array.isArray(entries)) {
    throw new TypeError(`${name} is not a test-proxy recording (no "Entries" array).`);
  }
  for (const [index, entry] of entries.entries()) {
    const e = entry as Partial<RecordedEntry> | null;
    if (
      typeof e?.RequestUri !== "string" ||
      typeof e.RequestMethod !== "string" ||
      typeof e.StatusCode !== "number"
    ) {
      throw new TypeError(`${name}: entry ${index} lacks RequestUri, RequestMethod or StatusCode.`);
    }
    e.RequestHeaders ??= {};
    e.ResponseHeaders ??= {};
  }
  return { name, entries: entries as RecordedEntry[] };
}

/**
 * Splits a recorded request URI into method, path segments and query.
 * @param entry - the recorded entry
 * @returns the target
 */
export function targetOf(entry: RecordedEntry): RecordedTarget {
  const url = new URL(entry.RequestUri);
  const query = new Map<string, string>();
  for (const [key, value] of url.searchParams) query.set(key, value);
  const path = url.pathname;
  return {
    method: entry.RequestMethod.toUpperCase(),
    segments: path
      .slice(1)
      .split("/")
      .map((s) => decodeURIComponent(s)),
    path,
    query,
  };
}

/**
 * A response header of a recorded entry, by case-insensitive name.
 * @param headers - the recorded headers
 * @param name - the header name
 * @returns the value, if present
 */
export function headerOf(headers: Record<string, string>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

/**
 * Whether an entry is a request to the identity platform (`login.microsoftonline.com`: the
 * OpenID configuration and instance discovery the Python client's identity library fetched after
 * the challenge), not to the vault: neither half replays it.
 */
export function isIdentityTraffic(entry: RecordedEntry): boolean {
  return !new URL(entry.RequestUri).hostname.toLowerCase().endsWith(".vault.azure.net");
}

/**
 * Whether a recording kept the `Authorization` header of its requests. The Python SDK's
 * recordings drop it altogether: there, every vault request but the challenge carried a token.
 * @param recording - the recording
 * @returns true when some request shows the header
 */
export function recordsAuthorization(recording: Recording): boolean {
  return recording.entries.some((e) => headerOf(e.RequestHeaders, "authorization") !== undefined);
}

/** Headers a test proxy may strip from every answer it stores (the Python recordings do). */
const strippableHeaders = ["x-ms-request-id"];

/**
 * The strippable headers a recording carries on none of its answers: not recorded, so not
 * compared (the Python SDK's recordings keep no `x-ms-request-id`; the JavaScript ones keep it).
 * @param recording - the recording
 * @returns the lower-case names
 */
export function headersNotRecorded(recording: Recording): Set<string> {
  return new Set(
    strippableHeaders.filter((name) =>
      recording.entries.every((e) => headerOf(e.ResponseHeaders, name) === undefined),
    ),
  );
}

/** Whether an entry is the unauthenticated challenge request (answered 401 with a challenge). */
export function isChallenge(entry: RecordedEntry): boolean {
  return (
    entry.StatusCode === 401 &&
    headerOf(entry.RequestHeaders, "authorization") === undefined &&
    headerOf(entry.ResponseHeaders, "www-authenticate") !== undefined
  );
}
