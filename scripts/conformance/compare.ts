/**
 * The comparison rules of the conformance check: what in an answer must equal the recording, and
 * what is compared by shape because the recording sanitized it or it varies naturally (versions,
 * timestamps, hosts, request ids, sanitized secret values). Pure functions, unit-tested.
 */

/** One way an answer differs from the recorded one. */
export interface Difference {
  /**
   * What differs, as a stable id the accepted-differences file refers to: `status`,
   * `header:<name>`, `body:<json path>`, `request:<part>`, `rule:<name>`, `model:<path>` ...
   */
  check: string;
  /** The recorded side, shortened for the report. */
  expected?: string;
  /** The side under test, shortened for the report. */
  actual?: string;
}

/** Keys whose values are identifiers (URLs naming the vault, collection, name and version). */
const identifierKeys = new Set(["id", "kid", "recoveryId", "previousVersion", "nextLink", "sid"]);
/** Keys whose values are timestamps the service sets (integer Unix seconds). */
const serviceDateKeys = new Set(["created", "updated", "deletedDate", "scheduledPurgeDate"]);
/** The value the test proxy puts in place of a secret value. */
const sanitizedValue = /^SECRET_VALUE/;
const versionPattern = /^[0-9a-f]{32}$/;
/** Headers a client reads or that the issue lists, compared by value (or shape) when recorded. */
export const comparedHeaders = [
  "content-type",
  "www-authenticate",
  "retry-after",
  "cache-control",
  "pragma",
  "expires",
  "x-content-type-options",
  "strict-transport-security",
  "allow",
] as const;

/** Options of {@link compareJson}. */
export interface JsonCompareOptions {
  /** Compare a top-level `value` as an opaque blob (base64url), e.g. a backup. */
  blobValue?: boolean;
}

/**
 * The shape of an identifier URL: host replaced by `{vault}`, 32-hex versions by `{version}`,
 * `$skiptoken` values by `{token}`, query parameters sorted. Names and collections stay literal.
 * @param value - an identifier or nextLink
 * @returns its shape, or undefined when it is not an absolute URL
 */
export function identifierShape(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  const path = url.pathname
    .split("/")
    .map((segment) => (versionPattern.test(segment) ? "{version}" : segment))
    .join("/");
  const params = [...url.searchParams.entries()]
    .map(([k, v]) => `${k}=${k.toLowerCase() === "$skiptoken" ? "{token}" : v}`)
    .sort();
  return `${url.protocol === "https:" || url.protocol === "http:" ? "" : url.protocol}{vault}${path}${
    params.length > 0 ? `?${params.join("&")}` : ""
  }`;
}

/**
 * A message with the varying parts replaced: URLs' scheme and host by `{vault}`, 32-hex versions
 * by `{version}`.
 * @param message - an error message
 * @returns the normalized message
 */
export function normalizeMessage(message: string): string {
  return message
    .replace(/https?:\/\/[^/\s'"]+/g, "{vault}")
    .replace(/(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])/g, "{version}");
}

/** Whether a number is a plausible Unix timestamp in integer seconds (2001..2286). */
export function isUnixSeconds(value: unknown): boolean {
  return typeof value === "number" && Number.isInteger(value) && value >= 1e9 && value < 1e10;
}

function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function childPath(path: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/**
 * Compares a JSON answer with the recorded one: the same keys and JSON types at every level;
 * identifiers by shape, service timestamps as integer seconds, sanitized secret values and
 * opaque blobs by type; error messages with hosts and versions normalized; every other leaf
 * exactly.
 * @param expected - the recorded body
 * @param actual - the body under test
 * @param options - comparison options
 * @param path - JSON path of the two values (for the report)
 * @returns the differences, empty when they match
 */
export function compareJson(
  expected: unknown,
  actual: unknown,
  options: JsonCompareOptions = {},
  path = "$",
): Difference[] {
  const differences: Difference[] = [];
  const walk = (e: unknown, a: unknown, p: string, key: string | undefined): void => {
    const te = jsonType(e);
    const ta = jsonType(a);
    if (te !== ta) {
      differences.push({
        check: `body:${p}`,
        expected: `${te} ${show(e)}`,
        actual: `${ta} ${show(a)}`,
      });
      return;
    }
    if (te === "object") {
      const eo = e as Record<string, unknown>;
      const ao = a as Record<string, unknown>;
      // Dates are compared by shape; where the recording shows how two of them relate, the
      // answer must keep the relation.
      if (
        purgeScheduleHolds(eo) &&
        typeof ao.deletedDate === "number" &&
        typeof ao.scheduledPurgeDate === "number" &&
        !purgeScheduleHolds(ao)
      ) {
        differences.push({
          check: `body:${childPath(p, "scheduledPurgeDate")}`,
          expected: "deletedDate + recoverableDays days",
          actual: show([ao.deletedDate, ao.scheduledPurgeDate]),
        });
      }
      for (const k of Object.keys(eo)) {
        if (!(k in ao))
          differences.push({
            check: `body:${childPath(p, k)}`,
            expected: show(eo[k]),
            actual: "missing",
          });
      }
      for (const k of Object.keys(ao)) {
        if (!(k in eo))
          differences.push({
            check: `body:${childPath(p, k)}`,
            expected: "absent",
            actual: show(ao[k]),
          });
      }
      for (const k of Object.keys(eo)) {
        if (k in ao) walk(eo[k], ao[k], childPath(p, k), k);
      }
      return;
    }
    if (te === "array") {
      const ea = e as unknown[];
      const aa = a as unknown[];
      if (ea.length !== aa.length) {
        differences.push({
          check: `body:${p}.length`,
          expected: String(ea.length),
          actual: String(aa.length),
        });
      }
      for (let i = 0; i < Math.min(ea.length, aa.length); i++)
        walk(ea[i], aa[i], `${p}[${i}]`, undefined);
      return;
    }
    if (!leafMatches(e, a, key, p, options)) {
      differences.push({ check: `body:${p}`, expected: show(e), actual: show(a) });
    }
  };
  walk(expected, actual, path, undefined);
  return differences;
}

function purgeScheduleHolds(o: Record<string, unknown>): boolean {
  const days = (o.attributes as Record<string, unknown> | undefined)?.recoverableDays;
  return (
    typeof o.deletedDate === "number" &&
    typeof days === "number" &&
    o.scheduledPurgeDate === o.deletedDate + days * 86_400
  );
}

function leafMatches(
  expected: unknown,
  actual: unknown,
  key: string | undefined,
  path: string,
  options: JsonCompareOptions,
): boolean {
  if (key !== undefined && identifierKeys.has(key) && typeof expected === "string") {
    const shape = identifierShape(expected);
    return shape !== undefined && shape === identifierShape(actual as string);
  }
  if (key !== undefined && serviceDateKeys.has(key)) {
    return isUnixSeconds(expected) && isUnixSeconds(actual);
  }
  if (key === "value" && typeof expected === "string") {
    if (options.blobValue === true && path === "$.value") {
      return /^[A-Za-z0-9_-]+$/.test(actual as string);
    }
    if (sanitizedValue.test(expected)) return typeof actual === "string";
  }
  if (key === "message" && typeof expected === "string") {
    return normalizeMessage(expected) === normalizeMessage(actual as string);
  }
  return expected === actual;
}

/** A parsed `WWW-Authenticate` challenge: scheme and parameters. */
export interface ParsedChallenge {
  scheme: string;
  params: Map<string, string>;
}

/**
 * Parses a `WWW-Authenticate` header value with one challenge (`Bearer a="x", b="y"`).
 * @param value - the header value
 * @returns the scheme and parameters
 */
export function parseChallenge(value: string): ParsedChallenge {
  const match = /^\s*(\S+)\s*(.*)$/s.exec(value);
  const params = new Map<string, string>();
  if (match === null) return { scheme: "", params };
  const re = /([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(match[2])) !== null) params.set(m[1].toLowerCase(), m[2] ?? m[3] ?? "");
  return { scheme: match[1].toLowerCase(), params };
}

/** The shape of an authority URL: origin kept, a GUID tenant replaced by `{tenant}`. */
function authorityShape(value: string): string {
  return value.replace(
    /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi,
    "{tenant}",
  );
}

/**
 * Compares two `WWW-Authenticate` values: scheme, the set of parameters, the authority's origin
 * and tenant shape, and every other parameter exactly.
 * @param expected - the recorded value
 * @param actual - the value under test
 * @returns the differences
 */
export function compareChallenge(expected: string, actual: string): Difference[] {
  const e = parseChallenge(expected);
  const a = parseChallenge(actual);
  const differences: Difference[] = [];
  if (e.scheme !== a.scheme) {
    differences.push({
      check: "header:www-authenticate:scheme",
      expected: e.scheme,
      actual: a.scheme,
    });
  }
  for (const [name, value] of e.params) {
    const other = a.params.get(name);
    if (other === undefined) {
      differences.push({
        check: `header:www-authenticate:${name}`,
        expected: value,
        actual: "missing",
      });
    } else if (name === "authorization" || name === "authorization_uri") {
      if (authorityShape(value) !== authorityShape(other)) {
        differences.push({
          check: `header:www-authenticate:${name}`,
          expected: value,
          actual: other,
        });
      }
    } else if (name !== "claims" && value !== other) {
      differences.push({
        check: `header:www-authenticate:${name}`,
        expected: value,
        actual: other,
      });
    }
  }
  for (const [name, value] of a.params) {
    if (!e.params.has(name)) {
      differences.push({
        check: `header:www-authenticate:${name}`,
        expected: "absent",
        actual: value,
      });
    }
  }
  return differences;
}

/**
 * Compares response headers: the headers a client reads (content type, challenge, Retry-After),
 * the service's cache and security headers by value, and the presence of every `x-ms-*` header.
 * @param expected - the recorded headers (any case)
 * @param actual - the headers under test (any case)
 * @param notRecorded - lower-case names the recording stripped from every answer (not compared)
 * @returns the differences
 */
export function compareHeaders(
  expected: Record<string, string>,
  actual: Record<string, string | string[] | undefined>,
  notRecorded: ReadonlySet<string> = new Set(),
): Difference[] {
  const lower = (headers: Record<string, unknown>): Map<string, string> => {
    const map = new Map<string, string>();
    for (const [k, v] of Object.entries(headers)) {
      if (v !== undefined) map.set(k.toLowerCase(), Array.isArray(v) ? v.join(", ") : String(v));
    }
    return map;
  };
  const e = lower(expected);
  const a = lower(actual);
  const differences: Difference[] = [];
  for (const name of comparedHeaders) {
    const ev = e.get(name);
    const av = a.get(name);
    if (ev === undefined && av === undefined) continue;
    if (ev === undefined) {
      differences.push({ check: `header:${name}`, expected: "absent", actual: av });
    } else if (av === undefined) {
      differences.push({ check: `header:${name}`, expected: ev, actual: "missing" });
    } else if (name === "www-authenticate") {
      differences.push(...compareChallenge(ev, av));
    } else if (name === "retry-after") {
      if (!/^\d+$/.test(av))
        differences.push({ check: `header:${name}`, expected: ev, actual: av });
    } else if (ev.replace(/\s+/g, "").toLowerCase() !== av.replace(/\s+/g, "").toLowerCase()) {
      differences.push({ check: `header:${name}`, expected: ev, actual: av });
    }
  }
  for (const name of e.keys()) {
    if (name.startsWith("x-ms-") && !a.has(name)) {
      differences.push({ check: `header:${name}`, expected: "present", actual: "missing" });
    }
  }
  for (const name of a.keys()) {
    if (name.startsWith("x-ms-") && !e.has(name) && !notRecorded.has(name)) {
      differences.push({ check: `header:${name}`, expected: "absent", actual: "present" });
    }
  }
  return differences;
}

/**
 * Compares an error body: code, inner code and message (normalized), plus the body's shape.
 * Falls back to {@link compareJson} for the whole body, which covers all of that.
 * @param expected - the recorded body
 * @param actual - the body under test
 * @returns the differences
 */
export function compareBody(
  expected: unknown,
  actual: unknown,
  options: JsonCompareOptions = {},
): Difference[] {
  const empty = (v: unknown): boolean => v === null || v === undefined || v === "";
  if (empty(expected) && empty(actual)) return [];
  if (empty(expected) || empty(actual)) {
    return [
      {
        check: "body",
        expected: empty(expected) ? "empty" : show(expected),
        actual: empty(actual) ? "empty" : show(actual),
      },
    ];
  }
  return compareJson(expected, actual, options);
}

/** Earlier wordings of a message the service words differently today (today's -> earlier). */
const earlierWordings: Record<string, readonly string[]> = {
  "AKV10000: Request is missing a Bearer, PoP, or MTLS_POP token.": [
    // 2022 - mid-2025 recordings
    "AKV10000: Request is missing a Bearer or PoP token.",
  ],
};

/**
 * Whether a difference is only the recording's earlier form of what today's service sends (the
 * rule `earlier-service`): the 401 message's earlier wording, the challenge's authority on
 * `login.windows.net` (an alias of `login.microsoftonline.com`, which every recording since 2024
 * names), or `x-ms-keyvault-rbac-cache`, a header the service sent in 2022 and 2023 only
 * (service versions up to 1.9.973) and no longer sends. The local vault answers as the service
 * does today.
 * @param difference - a difference of an answer
 * @returns true when the recorded side is that earlier form
 */
export function isEarlierServiceForm(difference: Difference): boolean {
  const { check, expected = "", actual = "" } = difference;
  switch (check) {
    case "body:$.error.message":
      // Body leaves are reported as JSON text.
      return Object.entries(earlierWordings).some(
        ([today, earlier]) =>
          JSON.stringify(today) === actual &&
          earlier.some((wording) => JSON.stringify(wording) === expected),
      );
    case "header:www-authenticate:authorization":
      return (
        expected.startsWith("https://login.windows.net/") &&
        actual === expected.replace("//login.windows.net/", "//login.microsoftonline.com/")
      );
    case "header:x-ms-keyvault-rbac-cache":
      return actual === "missing";
    default:
      return false;
  }
}
