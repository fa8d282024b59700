import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import type { KeyVaultSecret } from "../../../src/index.js";
import {
  applyOutcomes,
  invalidated,
  toEntry,
  type CachedSecret,
  type ReadOutcome,
} from "../../../src/secretCache/changes.js";
import { vaultUrl } from "./secretCacheKit.js";

function secretOf(name: string, version: string, updatedOn: Date, value = `value-of-${name}`) {
  return {
    name,
    value,
    properties: {
      vaultUrl,
      name,
      version,
      updatedOn,
      id: `${vaultUrl}/secrets/${name}/${version}`,
    },
  } satisfies KeyVaultSecret;
}

describe("SecretCache changes", () => {
  describe("toEntry: when a version is settled", () => {
    const longAgo = new Date(Date.now() - 3600_000);
    // A vault whose clock runs an hour ahead of this machine (or advanced with advanceClock).
    const ahead = new Date(Date.now() + 3600_000);

    it("a version updated long before it was read is settled at once", () => {
      assert.equal(toEntry(secretOf("a", "v1", longAgo), performance.now()).unsettled, false);
    });

    it("a version read within seconds of its update is unsettled, and so is a re-read less than a second later", () => {
      // Taken here, not when the suite is defined: the window is a few seconds of wall time.
      const justNow = new Date(Date.now());
      const first = toEntry(secretOf("a", "v1", justNow), performance.now());
      assert.equal(first.unsettled, true);
      const soon = toEntry(secretOf("a", "v1", justNow), first.versionSeenAtMs + 500, first);
      assert.equal(soon.unsettled, true);
    });

    it("a re-read of the same version sent more than a second after it was first seen settles it, whatever the vault's clock says", () => {
      const first = toEntry(secretOf("a", "v1", ahead), performance.now());
      assert.equal(first.unsettled, true, "updatedOn is in this machine's future");
      const again = toEntry(secretOf("a", "v1", ahead), first.versionSeenAtMs + 1200, first);
      assert.equal(again.unsettled, false);
      assert.equal(again.versionSeenAtMs, first.versionSeenAtMs);
      // A new version starts over.
      const rotated = toEntry(secretOf("a", "v2", ahead), first.versionSeenAtMs + 1300, again);
      assert.equal(rotated.unsettled, true);
      assert.ok(rotated.versionSeenAtMs > first.versionSeenAtMs);
    });
  });

  describe("applyOutcomes", () => {
    it("a read sent before the entry's own read, or before its invalidation, changes nothing", () => {
      const entries = new Map<string, CachedSecret>();
      const newer = toEntry(secretOf("a", "v2", new Date(0), "new"), 200);
      entries.set("a", newer);
      const older: Map<string, ReadOutcome> = new Map([
        [
          "a",
          { kind: "read", secret: secretOf("a", "v1", new Date(0), "old"), readStartedAtMs: 100 },
        ],
      ]);
      assert.deepEqual(applyOutcomes(entries, older, []).details, []);
      assert.equal(entries.get("a")!.value, "new");
      const removal: Map<string, ReadOutcome> = new Map([
        ["a", { kind: "removed", secretName: "a", reason: "deleted", readStartedAtMs: 150 }],
      ]);
      assert.deepEqual(applyOutcomes(entries, removal, []).removed, []);
      assert.ok(entries.has("a"));

      entries.set("a", invalidated(newer));
      const beforeInvalidation: Map<string, ReadOutcome> = new Map([
        [
          "a",
          { kind: "read", secret: secretOf("a", "v2", new Date(0), "new"), readStartedAtMs: 300 },
        ],
      ]);
      applyOutcomes(entries, beforeInvalidation, []);
      assert.equal(entries.get("a")!.invalidated, true);
    });

    it("an invalidated secret read again at the same version is not reported as updated", () => {
      const entries = new Map([["a", invalidated(toEntry(secretOf("a", "v1", new Date(0)), 1))]]);
      const reread: Map<string, ReadOutcome> = new Map([
        [
          "a",
          {
            kind: "read",
            secret: secretOf("a", "v1", new Date(0)),
            readStartedAtMs: performance.now(),
          },
        ],
      ]);
      assert.deepEqual(applyOutcomes(entries, reread, []).details, []);
      assert.equal(entries.get("a")!.invalidated, false);
      assert.equal(entries.get("a")!.value, "value-of-a");
    });
  });
});
