import assert from "node:assert/strict";
import type { InjectResult, Reloaded } from "../../../src/inject/environmentSource.js";
import { ReloadError } from "../../../src/inject/vaultSecrets.js";
import {
  describeChange,
  EnvironmentWatcher,
  type EnvironmentChange,
} from "../../../src/inject/environmentWatcher.js";

function resultOf(variables: Record<string, string>, extra: Partial<InjectResult> = {}): Reloaded {
  return {
    result: {
      variables,
      loaded: [],
      skipped: [],
      references: [],
      outsideValidityPeriod: [],
      missing: [],
      refused: [],
      ...extra,
    },
    details: [],
  };
}

/**
 * A watcher whose reads answer from a script, one entry per read. The returned promise settles
 * when the read after the last is asked for (so every entry has been handled).
 */
function watchScript(
  initial: Record<string, string>,
  script: Array<Reloaded | Error>,
): Promise<{ lines: string[]; changes: EnvironmentChange[] }> {
  const lines: string[] = [];
  const changes: EnvironmentChange[] = [];
  return new Promise((resolve) => {
    let read = 0;
    const watcher = new EnvironmentWatcher({
      intervalInMs: 1,
      variables: initial,
      knownWarnings: [],
      holder: "the command",
      warn: (line) => lines.push(line),
      onChange: (change) => changes.push(change),
      // The test's own promise holds the loop while the script runs.
      holdsEventLoop: true,
      reload: async () => {
        if (read === script.length) {
          watcher.close();
          resolve({ lines, changes });
          return new Promise<Reloaded>(() => undefined);
        }
        const next = script[read++]!;
        if (next instanceof Error) throw next;
        return next;
      },
    });
    watcher.start();
  });
}

describe("EnvironmentWatcher (run --watch and the preload)", () => {
  it("reports a change by variable: added, updated, removed", async () => {
    const { changes } = await watchScript({ A: "1", B: "2", C: "3" }, [
      resultOf({ A: "1", B: "2", C: "3" }),
      resultOf({ A: "1", B: "two", D: "4" }),
    ]);
    assert.equal(changes.length, 1);
    const [change] = changes;
    assert.deepEqual(
      { added: change!.added, updated: change!.updated, removed: change!.removed },
      { added: ["D"], updated: ["B"], removed: ["C"] },
    );
    assert.deepEqual(change!.variables, { A: "1", B: "two", D: "4" });
    assert.equal(describeChange(change!), "D added, B updated, C removed");
  });

  it("changes nothing while reads fail: one warning per episode, one line when they succeed again", async () => {
    const failure = new ReloadError(["db-password: 503 ServiceUnavailable: try later"]);
    const { lines, changes } = await watchScript({ A: "1" }, [
      failure,
      failure,
      failure,
      resultOf({ A: "1" }),
      new ReloadError(["(listing): 429 Throttled"]),
      resultOf({ A: "2" }),
    ]);
    assert.deepEqual(lines, [
      "reading the vault failed; the command keeps the last good values until a read succeeds (one line per episode): db-password: 503 ServiceUnavailable: try later",
      "reading the vault succeeded again; the values are current.",
      "reading the vault failed; the command keeps the last good values until a read succeeds (one line per episode): (listing): 429 Throttled",
      "reading the vault succeeded again; the values are current.",
    ]);
    assert.deepEqual(
      changes.map((c) => c.variables),
      [{ A: "2" }],
    );
  });

  it("writes a new warning once (a secret that expired, a refused variable), not on every read", async () => {
    const expired = resultOf(
      { A: "1" },
      { outsideValidityPeriod: [{ secretName: "old-key", reason: "expired" }] },
    );
    const { lines } = await watchScript({ A: "1" }, [resultOf({ A: "1" }), expired, expired]);
    assert.deepEqual(lines, ["skipped, expired: old-key"]);
  });

  it("names the secrets and why in the change's description, never a value", () => {
    const text = describeChange({
      added: [],
      updated: ["DB_PASSWORD"],
      removed: ["API_KEY"],
      details: [
        {
          secretName: "api-key",
          kind: "removed",
          reason: "disabled",
          previousVersion: "a",
          version: undefined,
        },
        {
          secretName: "db-password",
          kind: "updated",
          reason: "newVersion",
          previousVersion: "b",
          version: "c",
        },
      ],
    });
    assert.equal(
      text,
      "DB_PASSWORD updated, API_KEY removed (api-key: disabled; db-password: new version)",
    );
  });
});
