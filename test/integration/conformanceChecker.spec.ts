/**
 * Tests of the conformance checker itself (scripts/conformance), not of conformance: a recording
 * the local vault makes of itself is replayed against it, so the checker's timing rules must
 * explain every difference and any change to a recorded status, message or key must fail.
 * Conformance with the real service is `npm run conformance` on the real recordings (a step of
 * .ci/run that fails when they are missing).
 */
import assert from "node:assert/strict";
import { request as httpsRequest } from "node:https";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import { AcceptedList } from "../../scripts/conformance/accepted.js";
import { playRecording } from "../../scripts/conformance/clientPlayback.js";
import type { RecordedEntry, Recording } from "../../scripts/conformance/recordings.js";
import { outcomeOf, type RecordingResult } from "../../scripts/conformance/results.js";
import { replayRecording } from "../../scripts/conformance/vaultReplay.js";

/** Sends one request to a local vault and stores it the way the test proxy does. */
async function record(
  vault: LocalVault,
  method: string,
  path: string,
  options: { token?: string; body?: unknown } = {},
): Promise<RecordedEntry> {
  const url = new URL(path, vault.vaultUrl);
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  const headers: Record<string, string> = { "x-ms-client-request-id": "Sanitized" };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      { method, headers, ca: vault.caCertificate, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const responseHeaders: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers))
            if (typeof v === "string") responseHeaders[k] = v;
          resolve({
            RequestUri: `https://Sanitized.vault.azure.net${path}`,
            RequestMethod: method,
            RequestHeaders: {
              "x-ms-client-request-id": "Sanitized",
              ...(options.token === undefined ? {} : { Authorization: "Sanitized" }),
              ...(body === undefined ? {} : { "Content-Type": "application/json" }),
            },
            RequestBody: options.body ?? null,
            StatusCode: res.statusCode ?? 0,
            ResponseHeaders: responseHeaders,
            ResponseBody: text === "" ? null : JSON.parse(text),
          });
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const api = "api-version=2025-07-01";
const name = "conformance-spec";

/** A recording made against a local vault: set, get, delete with polls, purge. */
async function makeRecording(): Promise<Recording> {
  const vault = await startLocalVault({
    https: true,
    strictAuth: true,
    delayMs: 60_000,
    recoverableDays: 7,
  });
  try {
    const token = (await vault.credential.getToken("https://vault.azure.net/.default"))!.token;
    const entries: RecordedEntry[] = [];
    entries.push(await record(vault, "PUT", `/secrets/${name}?${api}`));
    entries.push(
      await record(vault, "PUT", `/secrets/${name}?${api}`, {
        token,
        body: { value: "SECRET_VALUE" },
      }),
    );
    entries.push(await record(vault, "GET", `/secrets/${name}/?${api}`, { token }));
    entries.push(await record(vault, "DELETE", `/secrets/${name}?${api}`, { token }));
    entries.push(await record(vault, "GET", `/deletedsecrets/${name}?${api}`, { token }));
    vault.advanceClock(61_000);
    entries.push(await record(vault, "GET", `/deletedsecrets/${name}?${api}`, { token }));
    entries.push(await record(vault, "DELETE", `/deletedsecrets/${name}?${api}`, { token }));
    entries.push(await record(vault, "GET", `/secrets/${name}/versions?${api}`, { token }));
    return { name: "synthetic/recording_lifecycle.json", entries };
  } finally {
    await vault.close();
  }
}

function outcomes(result: RecordingResult): string[] {
  return result.entries.map(outcomeOf);
}

describe("conformance checker (scripts/conformance), on a recording the local vault made of itself", () => {
  let recording: Recording;
  const none = () => new AcceptedList([]);

  before(async () => {
    recording = await makeRecording();
    assert.deepEqual(
      recording.entries.map((e) => e.StatusCode),
      [401, 200, 200, 200, 404, 200, 204, 200],
    );
  });

  it("vault half: a fresh vault matches a recording of the same vault, versions and dates by shape", async () => {
    // The delete takes 200 ms: the first poll is answered 404 as recorded, the last one is
    // repeated until the vault answers 200 (the poll rule).
    const result = await replayRecording(recording, none(), { vaultOptions: { delayMs: 200 } });
    assert.deepEqual(result.entries[5].rules, ["poll-until-done"]);
    assert.deepEqual(outcomes(result), [
      "match",
      "match",
      "match",
      "match",
      "match",
      "rule",
      "match",
      "match",
    ]);
  });

  it("vault half: a poll the vault finishes early is matched by the poll rule against the final answer", async () => {
    const result = await replayRecording(recording, none(), { vaultOptions: { delayMs: 0 } });
    assert.deepEqual(result.entries[4].rules, ["poll-done-early"]);
    assert.equal(result.entries[4].actualStatus, 200);
    assert.deepEqual(outcomes(result), [
      "match",
      "match",
      "match",
      "match",
      "rule",
      "match",
      "match",
      "match",
    ]);
  });

  it("vault half: a different status, message or key fails, and an accepted difference does not", async () => {
    const changed = structuredClone(recording);
    (changed.entries[4].ResponseBody as { error: { message: string } }).error.message =
      "Another message";
    (changed.entries[2].ResponseBody as Record<string, unknown>).previousVersion = "0".repeat(32);
    changed.entries[6].StatusCode = 200;
    const result = await replayRecording(changed, none(), { vaultOptions: { delayMs: 200 } });
    assert.deepEqual(
      result.entries[4].differences.map((d) => d.check),
      ["body:$.error.message"],
    );
    assert.deepEqual(
      result.entries[2].differences.map((d) => d.check),
      ["body:$.previousVersion"],
    );
    assert.ok(result.entries[6].differences.some((d) => d.check === "status"));

    const accepted = new AcceptedList([
      {
        side: "vault",
        recording: "synthetic/recording_lifecycle.json",
        check: "body:$.previousVersion",
        reason: "test",
      },
    ]);
    const again = await replayRecording(changed, accepted, { vaultOptions: { delayMs: 200 } });
    assert.equal(outcomeOf(again.entries[2]), "accepted");
    assert.equal(outcomeOf(again.entries[4]), "differs");
  });

  it("client half: our client sends the recorded requests and parses every answer", async () => {
    const result = await playRecording(recording, none());
    assert.deepEqual(outcomes(result), Array(8).fill("match"));
    // setSecret, getSecret, beginDeleteSecret (with its polls), purge, list versions
    assert.equal(result.operations, 5);
  });

  it("client half: a request our client sends differently, or an answer it reads differently, fails", async () => {
    const changed = structuredClone(recording);
    // The recorded get named no trailing slash; our client sends `/secrets/{name}/`.
    changed.entries[2].RequestUri = changed.entries[2].RequestUri.replace(`${name}/?`, `${name}?`);
    // The recorded value of the purge answer claims an error our client cannot have seen.
    changed.entries[6].StatusCode = 409;
    changed.entries[6].ResponseBody = {
      error: { code: "Conflict", message: "Secret is currently being deleted." },
    };
    const result = await playRecording(changed, none());
    assert.deepEqual(
      result.entries[2].differences.map((d) => d.check),
      ["request:sequence", "request:not-sent"],
    );
    assert.deepEqual(outcomeOf(result.entries[6]), "match");
    assert.deepEqual(outcomeOf(result.entries[3]), "match");
  });
});
