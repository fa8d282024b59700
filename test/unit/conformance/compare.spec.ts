import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  AcceptedList,
  loadAccepted,
  parseAccepted,
} from "../../../scripts/conformance/accepted.js";
import {
  compareChallenge,
  compareHeaders,
  compareJson,
  identifierShape,
  isEarlierServiceForm,
  isUnixSeconds,
  normalizeMessage,
} from "../../../scripts/conformance/compare.js";
import {
  compareError,
  compareModel,
  compareRequest,
  expectedDeletedSecret,
  expectedSecret,
  serviceVersionFor,
} from "../../../scripts/conformance/clientPlayback.js";
import { planRecording } from "../../../scripts/conformance/plan.js";
import {
  headersNotRecorded,
  parseRecording,
  recordsAuthorization,
  type RecordedEntry,
} from "../../../scripts/conformance/recordings.js";
import {
  addDifferences,
  formatTable,
  newEntry,
  outcomeOf,
} from "../../../scripts/conformance/results.js";

const host = "https://Sanitized.vault.azure.net";
const v1 = "0123456789abcdef0123456789abcdef";
const v2 = "fedcba9876543210fedcba9876543210";

function entry(
  method: string,
  path: string,
  status: number,
  body: unknown = null,
  extra: Partial<RecordedEntry> = {},
): RecordedEntry {
  return {
    RequestUri: `${host}${path}`,
    RequestMethod: method,
    RequestHeaders: { Authorization: "Sanitized" },
    RequestBody: null,
    StatusCode: status,
    ResponseHeaders: {},
    ResponseBody: body,
    ...extra,
  };
}

describe("conformance: identifier and message shapes", () => {
  it("keeps collection and name, and replaces host, version and skiptoken", () => {
    assert.equal(
      identifierShape(`https://keyvault_name.vault.azure.net/secrets/a-b/${v1}`),
      "{vault}/secrets/a-b/{version}",
    );
    assert.equal(
      identifierShape(`https://127.0.0.1:4443/secrets/a-b/${v2}`),
      identifierShape(`https://keyvault_name.vault.azure.net/secrets/a-b/${v1}`),
    );
    assert.notEqual(
      identifierShape(`https://x/secrets/a-b/${v1}`),
      identifierShape(`https://x/secrets/a-c/${v1}`),
    );
    assert.notEqual(
      identifierShape("https://x/secrets/a"),
      identifierShape("https://x/deletedsecrets/a"),
    );
  });

  it("compares nextLink queries without order and with the skiptoken as a token", () => {
    assert.equal(
      identifierShape(
        "https://t1.vault.azure.net:443/secrets?api-version=2025-07-01&$skiptoken=Sanitized&maxresults=1",
      ),
      identifierShape(
        "https://127.0.0.1:1/secrets?maxresults=1&api-version=2025-07-01&$skiptoken=eyJ9",
      ),
    );
    assert.notEqual(
      identifierShape("https://a/secrets?api-version=2025-07-01&maxresults=1"),
      identifierShape("https://a/secrets?api-version=2025-07-01&maxresults=2"),
    );
    assert.equal(identifierShape("not a url"), undefined);
  });

  it("normalizes hosts and versions in messages, nothing else", () => {
    assert.equal(
      normalizeMessage(
        `There was a conflict restoring the secret 'https://keyvault_name.vault.azure.net/secrets/n/${v1}'.`,
      ),
      normalizeMessage(
        `There was a conflict restoring the secret 'https://127.0.0.1:9/secrets/n/${v2}'.`,
      ),
    );
    assert.notEqual(normalizeMessage("Secret a not found"), normalizeMessage("Secret b not found"));
  });

  it("accepts only integer Unix seconds as service dates", () => {
    assert.equal(isUnixSeconds(1777137795), true);
    assert.equal(isUnixSeconds(1777137795.5), false);
    assert.equal(isUnixSeconds(1777137795000), false);
    assert.equal(isUnixSeconds("1777137795"), false);
  });
});

describe("conformance: compareJson", () => {
  const recorded = {
    value: "SECRET_VALUE",
    id: `https://keyvault_name.vault.azure.net/secrets/n/${v1}`,
    attributes: { enabled: true, created: 1777137795, exp: 1798761600, recoverableDays: 7 },
  };

  it("matches an answer that differs only in sanitized and varying values", () => {
    const actual = {
      value: "whatever the vault echoes",
      id: `https://127.0.0.1:5/secrets/n/${v2}`,
      attributes: { enabled: true, created: 1795754496, exp: 1798761600, recoverableDays: 7 },
    };
    assert.deepEqual(compareJson(recorded, actual), []);
  });

  it("reports missing and unexpected keys at every level", () => {
    const actual = {
      value: "x",
      id: recorded.id,
      previousVersion: v2,
      attributes: { enabled: true, created: 1777137795, exp: 1798761600 },
    };
    assert.deepEqual(
      compareJson(recorded, actual).map((d) => d.check),
      ["body:$.previousVersion", "body:$.attributes.recoverableDays"],
    );
  });

  it("reports a different JSON type, a client-set date and a non-integer service date", () => {
    const actual = {
      value: "x",
      id: recorded.id,
      attributes: { enabled: "true", created: 1777137795.2, exp: 1798761601, recoverableDays: 7 },
    };
    assert.deepEqual(
      compareJson(recorded, actual).map((d) => d.check),
      ["body:$.attributes.enabled", "body:$.attributes.created", "body:$.attributes.exp"],
    );
  });

  it("keeps the purge schedule: scheduledPurgeDate = deletedDate + recoverableDays days", () => {
    const deleted = (deletedDate: number, scheduledPurgeDate: number) => ({
      deletedDate,
      scheduledPurgeDate,
      attributes: { recoverableDays: 7 },
    });
    assert.deepEqual(
      compareJson(deleted(1777137795, 1777742595), deleted(1795754496, 1796359296)),
      [],
    );
    assert.deepEqual(
      compareJson(deleted(1777137795, 1777742595), deleted(1795754496, 1803530496)).map(
        (d) => d.check,
      ),
      ["body:$.scheduledPurgeDate"],
    );
  });

  it("compares a value that was not sanitized exactly, and a blob by its alphabet", () => {
    assert.equal(compareJson({ value: "ABC123" }, { value: "ABC124" }).length, 1);
    assert.deepEqual(
      compareJson({ value: "KUF6dX" }, { value: "abc_-9" }, { blobValue: true }),
      [],
    );
    assert.equal(
      compareJson({ value: "KUF6dX" }, { value: "a+b/=" }, { blobValue: true }).length,
      1,
    );
  });

  it("compares error codes exactly and messages after normalization", () => {
    const error = (code: string, message: string, inner?: string) => ({
      error: { code, message, ...(inner ? { innererror: { code: inner } } : {}) },
    });
    assert.deepEqual(
      compareJson(
        error("Conflict", "a 'https://x/secrets/n'"),
        error("Conflict", "a 'https://y:1/secrets/n'"),
      ),
      [],
    );
    assert.deepEqual(
      compareJson(error("Forbidden", "m", "SecretDisabled"), error("Forbidden", "m", "Other")).map(
        (d) => d.check,
      ),
      ["body:$.error.innererror.code"],
    );
    assert.deepEqual(
      compareJson(error("BadParameter", "Only PFX"), error("BadParameter", "Only PEM")).map(
        (d) => d.check,
      ),
      ["body:$.error.message"],
    );
  });
});

describe("conformance: headers", () => {
  const challenge =
    'Bearer authorization="https://login.microsoftonline.com/12345678-1234-1234-1234-123456789012", resource="https://vault.azure.net"';

  it("accepts another tenant but not another authority host or resource", () => {
    assert.deepEqual(
      compareChallenge(
        challenge,
        challenge.replace(
          "12345678-1234-1234-1234-123456789012",
          "00000000-0000-0000-0000-000000000000",
        ),
      ),
      [],
    );
    assert.deepEqual(
      compareChallenge(
        challenge,
        challenge.replace("login.microsoftonline.com", "login.windows.net"),
      ).map((d) => d.check),
      ["header:www-authenticate:authorization"],
    );
    assert.deepEqual(
      compareChallenge(challenge, `${challenge}, scope="https://vault.azure.net/.default"`).map(
        (d) => d.check,
      ),
      ["header:www-authenticate:scope"],
    );
  });

  it("checks the x-ms-* headers both ways, by presence", () => {
    const differences = compareHeaders(
      { "x-ms-request-id": "Sanitized", "x-ms-keyvault-network-info": "conn_type=Ipv4" },
      { "x-ms-request-id": "abc", "x-ms-extra": "1" },
    );
    assert.deepEqual(differences.map((d) => d.check).sort(), [
      "header:x-ms-extra",
      "header:x-ms-keyvault-network-info",
    ]);
  });

  it("compares content type and cache headers by value, whatever the case of the name", () => {
    assert.deepEqual(
      compareHeaders(
        { "Content-Type": "application/json; charset=utf-8", Pragma: "no-cache" },
        { "content-type": "application/json;charset=utf-8", pragma: "no-cache" },
      ),
      [],
    );
    assert.deepEqual(
      compareHeaders({ "Content-Type": "application/json; charset=utf-8" }, {}).map((d) => d.check),
      ["header:content-type"],
    );
    assert.deepEqual(
      compareHeaders({}, { "content-type": "application/json" }).map((d) => d.check),
      ["header:content-type"],
    );
  });

  it("leaves out x-ms-request-id only where the recording stripped it from every answer", () => {
    const python = parseRecording("p.json", {
      Entries: [entry("GET", "/secrets/a/?api-version=7.6", 200, {})],
    });
    const js = parseRecording("j.json", {
      Entries: [
        entry(
          "GET",
          "/secrets/a/?api-version=7.6",
          200,
          {},
          {
            ResponseHeaders: { "x-ms-request-id": "Sanitized" },
          },
        ),
      ],
    });
    assert.deepEqual([...headersNotRecorded(python)], ["x-ms-request-id"]);
    assert.deepEqual([...headersNotRecorded(js)], []);
    const answer = { "x-ms-request-id": "abc", "x-ms-other": "1" };
    assert.deepEqual(
      compareHeaders({}, answer, headersNotRecorded(python)).map((d) => d.check),
      ["header:x-ms-other"],
    );
    assert.deepEqual(
      compareHeaders({}, answer, headersNotRecorded(js)).map((d) => d.check),
      ["header:x-ms-request-id", "header:x-ms-other"],
    );
  });

  it("explains only the recorded earlier forms of today's answers (rule earlier-service)", () => {
    const today = "AKV10000: Request is missing a Bearer, PoP, or MTLS_POP token.";
    const earlier = "AKV10000: Request is missing a Bearer or PoP token.";
    const message = (expected: string, actual: string) => ({
      check: "body:$.error.message",
      expected: JSON.stringify(expected),
      actual: JSON.stringify(actual),
    });
    assert.equal(isEarlierServiceForm(message(earlier, today)), true);
    assert.equal(isEarlierServiceForm(message(today, earlier)), false);
    assert.equal(isEarlierServiceForm(message("Something else.", today)), false);
    const tenant = "00000000-0000-0000-0000-000000000000";
    const authority = (expected: string, actual: string) => ({
      check: "header:www-authenticate:authorization",
      expected: `https://${expected}/${tenant}`,
      actual: `https://${actual}/${tenant}`,
    });
    assert.equal(
      isEarlierServiceForm(authority("login.windows.net", "login.microsoftonline.com")),
      true,
    );
    assert.equal(isEarlierServiceForm(authority("login.windows.net", "evil.example")), false);
    assert.equal(
      isEarlierServiceForm({
        check: "header:x-ms-keyvault-rbac-cache",
        expected: "present",
        actual: "missing",
      }),
      true,
    );
    assert.equal(
      isEarlierServiceForm({ check: "header:x-ms-keyvault-region", actual: "missing" }),
      false,
    );
  });

  it("requires Retry-After to be a number of seconds where one was recorded", () => {
    assert.deepEqual(compareHeaders({ "Retry-After": "5" }, { "retry-after": "1" }), []);
    assert.equal(compareHeaders({ "Retry-After": "5" }, { "retry-after": "soon" }).length, 1);
  });
});

describe("conformance: planRecording", () => {
  const name = "s1";
  const deleted = {
    recoveryId: `https://kv/deletedsecrets/${name}`,
    id: `https://kv/secrets/${name}/${v1}`,
  };
  const notFound = { error: { code: "SecretNotFound", message: "Deleted Secret not found: s1" } };
  const recording = parseRecording("group/recording_x.json", {
    Entries: [
      entry("PUT", `/secrets/${name}?api-version=2025-07-01`, 401, null, {
        RequestHeaders: {},
        ResponseHeaders: {
          "WWW-Authenticate":
            'Bearer authorization="https://l/t", resource="https://vault.azure.net"',
        },
      }),
      entry("PUT", `/secrets/${name}?api-version=2025-07-01`, 200, {
        id: `https://kv/secrets/${name}/${v1}`,
      }),
      entry("DELETE", `/secrets/${name}?api-version=2025-07-01`, 200, deleted),
      entry("GET", `/deletedsecrets/${name}?api-version=2025-07-01`, 404, notFound),
      entry("GET", `/deletedsecrets/${name}?api-version=2025-07-01`, 200, deleted),
      entry("GET", `/deletedsecrets/${name}?api-version=2025-07-01`, 200, deleted),
      entry(
        "POST",
        `/secrets/restore?api-version=2025-07-01`,
        409,
        { error: { code: "Conflict", message: "m" } },
        { RequestBody: { value: "b" } },
      ),
      entry(
        "POST",
        `/secrets/restore?api-version=2025-07-01`,
        200,
        { id: `https://kv/secrets/${name}/${v1}` },
        { RequestBody: { value: "b" } },
      ),
      entry("GET", `/secrets?api-version=2025-07-01`, 200, {
        value: [{ id: `https://kv/secrets/other` }],
        nextLink: "https://kv/secrets?$skiptoken=x",
      }),
      entry("GET", `/secrets?api-version=2025-07-01&$skiptoken=Sanitized`, 200, {
        value: [],
        nextLink: null,
      }),
    ],
  });

  it("names the challenge, the polls until done, the restore retries and the pages", () => {
    const plan = planRecording(recording);
    assert.deepEqual(
      plan.roles.map((r) => r.kind),
      [
        "challenge",
        "plain",
        "plain",
        "poll",
        "pollDone",
        "plain",
        "restoreConflict",
        "restoreDone",
        "page",
        "page",
      ],
    );
    assert.deepEqual(plan.roles[3], { kind: "poll", final: 4 });
    assert.deepEqual(plan.roles[7], { kind: "restoreDone", previous: 6 });
    assert.deepEqual(plan.roles[9], { kind: "page", collection: "/secrets", continuation: true });
    assert.deepEqual([...plan.ownNames], [name]);
    assert.deepEqual([...plan.foreignCollections], ["/secrets"]);
  });

  it("marks requests to the identity platform, which neither half replays", () => {
    const python = parseRecording("p.json", {
      Entries: [
        entry("GET", "/secrets/a/?api-version=7.5", 401, null, {
          RequestHeaders: {},
          ResponseHeaders: { "WWW-Authenticate": 'Bearer resource="https://vault.azure.net"' },
        }),
        {
          ...entry("GET", "/", 200, {}),
          RequestUri: "https://login.microsoftonline.com/common/discovery/instance?x=1",
          RequestHeaders: {},
        },
        entry("GET", "/secrets/a/?api-version=7.5", 404, {}, { RequestHeaders: {} }),
      ],
    });
    assert.deepEqual(
      planRecording(python).roles.map((r) => r.kind),
      ["challenge", "identity", "plain"],
    );
    assert.equal(recordsAuthorization(python), false);
    assert.equal(recordsAuthorization(recording), true);
  });

  it("rejects a file that is not a recording", () => {
    assert.throws(() => parseRecording("x.json", { entries: [] }), TypeError);
    assert.throws(
      () => parseRecording("x.json", { Entries: [{ RequestUri: "https://a/" }] }),
      TypeError,
    );
  });
});

describe("conformance: accepted differences and outcomes", () => {
  const accepted = new AcceptedList(
    parseAccepted({
      accepted: [
        {
          side: "vault",
          recording: "group/a.json",
          check: "header:x-ms-keyvault-network-info",
          reason: "no network",
        },
      ],
    }),
  );

  it("accepts only the listed side, recording and check, and reports unused entries", () => {
    const result = newEntry(0, "GET /secrets", 200);
    addDifferences(
      result,
      [{ check: "header:x-ms-keyvault-network-info" }],
      "client",
      "group/a.json",
      accepted,
    );
    assert.equal(outcomeOf(result), "differs");
    assert.equal(accepted.unused().length, 1);
    const other = newEntry(1, "GET /secrets", 200);
    addDifferences(
      other,
      [{ check: "header:x-ms-keyvault-network-info" }],
      "vault",
      "group/a.json",
      accepted,
    );
    assert.equal(outcomeOf(other), "accepted");
    assert.equal(other.accepted[0].reason, "no network");
    assert.equal(accepted.unused().length, 0);
    const elsewhere = newEntry(2, "GET /secrets", 200);
    addDifferences(
      elsewhere,
      [{ check: "header:x-ms-keyvault-network-info" }],
      "vault",
      "group/b.json",
      accepted,
    );
    assert.equal(outcomeOf(elsewhere), "differs");
  });

  it("refuses a wildcard in a recording or a check: each entry names one of each", () => {
    for (const [recording, check] of [
      ["*", "status"],
      ["group/recording_*.json", "status"],
      ["group/a.json", "header:x-ms-*"],
    ]) {
      assert.throws(
        () => parseAccepted({ accepted: [{ side: "vault", recording, check, reason: "r" }] }),
        (error: unknown) =>
          error instanceof TypeError &&
          /wildcard: name each recording and check/.test(error.message),
      );
    }
  });

  it("the shipped list names every recording and check exactly, each with a reason", async () => {
    const entries = await loadAccepted(
      fileURLToPath(
        new URL("../../../scripts/conformance/acceptedDifferences.json", import.meta.url),
      ),
    );
    assert.ok(entries.length > 0);
    const keys = entries.map((e) => `${e.side} ${e.recording} ${e.check}`);
    assert.equal(new Set(keys).size, keys.length, "an entry is listed twice");
  });

  it("requires a reason for every accepted difference", () => {
    assert.throws(
      () =>
        parseAccepted({
          accepted: [{ side: "vault", recording: "a.json", check: "status", reason: " " }],
        }),
      /reason/,
    );
    assert.throws(
      () =>
        parseAccepted({
          accepted: [{ side: "both", recording: "a.json", check: "status", reason: "r" }],
        }),
      /side/,
    );
  });

  it("orders outcomes: a difference fails, then accepted, then rule, then match", () => {
    const e = newEntry(0, "GET /", 200);
    assert.equal(outcomeOf(e), "match");
    e.rules.push("poll-done-early");
    assert.equal(outcomeOf(e), "rule");
    e.accepted.push({ difference: { check: "x" }, reason: "r" });
    assert.equal(outcomeOf(e), "accepted");
    e.differences.push({ check: "y" });
    assert.equal(outcomeOf(e), "differs");
  });

  it("counts outcomes per recordings folder in the table", () => {
    const a = newEntry(0, "GET /", 200);
    const b = newEntry(1, "GET /", 200);
    b.differences.push({ check: "status" });
    const table = formatTable(
      "T",
      [{ side: "vault", recording: "g/r.json", entries: [a, b] }],
      "entries",
    );
    assert.match(table, /\| g \| 1 \| 2 \| 1 \| 0 \| 0 \| 1 \| 0\/1 \|/);
    assert.match(table, /\| \*\*total\*\* \| 1 \| 2 \| 1 \| 0 \| 0 \| 1 \| 0\/1 \|/);
  });
});

describe("conformance: client half checks", () => {
  it("compares the query without order, the token and the body shape of a request", () => {
    const recorded = entry("PUT", "/secrets/n?api-version=2025-07-01", 200, null, {
      RequestBody: { value: "SECRET_VALUE", attributes: {} },
    });
    const url = new URL("http://127.0.0.1:1/secrets/n?api-version=2025-07-01");
    assert.deepEqual(
      compareRequest(recorded, url, "Bearer t", '{"value":"v","attributes":{}}'),
      [],
    );
    assert.deepEqual(
      compareRequest(recorded, new URL("http://h/secrets/n?api-version=7.6"), undefined, "").map(
        (d) => d.check,
      ),
      ["request:query:api-version", "request:authorization", "request:body"],
    );
    assert.deepEqual(
      compareRequest(recorded, url, "Bearer t", '{"value":"v"}').map((d) => d.check),
      ["request:body:$.attributes"],
    );
  });

  it("expects a token where the recording dropped Authorization but the request was not the challenge", () => {
    const recorded = entry("GET", "/secrets/n/?api-version=7.6", 200, {}, { RequestHeaders: {} });
    const url = new URL("http://127.0.0.1:1/secrets/n/?api-version=7.6");
    assert.deepEqual(compareRequest(recorded, url, "Bearer t", "", true), []);
    assert.deepEqual(
      compareRequest(recorded, url, undefined, "", true).map((d) => d.check),
      ["request:authorization"],
    );
  });

  it("speaks the recorded api-version where our client offers it, else 2025-07-01", () => {
    const at = (version: string) =>
      serviceVersionFor(
        parseRecording("r.json", {
          Entries: [entry("GET", `/secrets/n/?api-version=${version}`, 200, {})],
        }),
      );
    assert.deepEqual(at("7.3"), { version: "7.3", recorded: true });
    assert.deepEqual(at("2025-07-01"), { version: "2025-07-01", recorded: true });
    assert.deepEqual(at("2016-10-01"), { version: "2025-07-01", recorded: false });
    assert.deepEqual(at("7.6-preview.2"), { version: "2025-07-01", recorded: false });
  });

  it("expects the 4.x models of a recorded bundle and deleted bundle", () => {
    const wire = {
      value: "v",
      id: `https://keyvault_name.vault.azure.net/secrets/n/${v1}`,
      attributes: { enabled: true, created: 1777137795, recoverableDays: 7 },
    };
    assert.deepEqual(expectedSecret(wire), {
      name: "n",
      value: "v",
      properties: {
        vaultUrl: "https://keyvault_name.vault.azure.net",
        name: "n",
        id: wire.id,
        version: v1,
        enabled: true,
        createdOn: new Date(1777137795000),
        recoverableDays: 7,
      },
    });
    const deleted = expectedDeletedSecret({
      ...wire,
      recoveryId: "https://kv/deletedsecrets/n",
      deletedDate: 1777137795,
    });
    assert.equal(
      (deleted.properties as { recoveryId: string }).recoveryId,
      "https://kv/deletedsecrets/n",
    );
    assert.deepEqual(deleted.deletedOn, new Date(1777137795000));
  });

  it("reports model differences: a wrong date, a missing and an extra key", () => {
    const expected = { name: "n", properties: { createdOn: new Date(1000), enabled: true } };
    assert.deepEqual(
      compareModel(expected, {
        name: "n",
        properties: { createdOn: new Date(1000), enabled: true },
      }),
      [],
    );
    assert.deepEqual(
      compareModel(expected, {
        name: "n",
        extra: 1,
        properties: { createdOn: new Date(2000) },
      })
        .map((d) => d.check)
        .sort(),
      [
        "model:result.extra",
        "model:result.properties.createdOn",
        "model:result.properties.enabled",
      ],
    );
  });

  it("expects errors with the recorded status, code and message", () => {
    const recorded = entry("GET", "/secrets/n/", 403, {
      error: { code: "Forbidden", message: "Operation get is not allowed on a disabled secret." },
    });
    const error = Object.assign(new Error("Operation get is not allowed on a disabled secret."), {
      name: "RestError",
      statusCode: 403,
      code: "Forbidden",
    });
    assert.deepEqual(compareError(recorded, error), []);
    assert.deepEqual(
      compareError(recorded, {
        ...error,
        name: "RestError",
        message: "forbidden",
        statusCode: 401,
      }).map((d) => d.check),
      ["error:statusCode", "error:message"],
    );
  });
});
