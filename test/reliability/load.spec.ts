/**
 * The local vault under load and crashes (the bounded version; `soak/run.ts` runs the long one):
 * 16 concurrent clients × 300 mixed operations with zero lost versions, and SIGKILL of a vault
 * process with writes in flight with every acknowledged write back after the restart.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import { runCrashRounds } from "./crashScenario.js";
import { runLoad } from "./loadScenario.js";

/** Prints a run's figures when RELIABILITY_FIGURES is set (the soak prints them always). */
function report(title: string, figures: object): void {
  if (process.env["RELIABILITY_FIGURES"]) console.log(`${title}: ${JSON.stringify(figures)}`);
}

describe("reliability: the local vault under load", function () {
  this.timeout(120_000);
  let vault: LocalVault;

  before(async () => {
    vault = await startLocalVault({ delayMs: 0 });
  });
  after(() => vault.close());

  it("16 clients × 300 mixed operations: no lost version, no 5xx, no failure, no stale read", async () => {
    const figures = await runLoad(vault, 16, 300);
    report("load", figures);
    assert.equal(figures.operations, 16 * 300);
    assert.deepEqual(figures.failureSamples, []);
    assert.equal(figures.failures, 0);
    assert.equal(figures.lostVersions, 0, "acknowledged versions the vault does not list");
    assert.equal(figures.phantomVersions, 0, "listed versions no set acknowledged");
    assert.equal(figures.serverErrors, 0, "5xx answers");
    assert.equal(figures.staleReads, 0, "gets that missed the client's own last set");
    for (const kind of ["set", "get", "update", "list", "delete+recover", "set shared"]) {
      assert.ok((figures.byKind[kind] ?? 0) > 50, `${kind}: ${figures.byKind[kind]}`);
    }
  });
});

describe("reliability: the local vault killed with writes in flight", function () {
  this.timeout(120_000);
  let location: string;

  before(async () => {
    location = await mkdtemp(join(tmpdir(), "kv-reliability-crash-"));
  });
  after(() => rm(location, { recursive: true, force: true }));

  it("SIGKILL twice mid-write: every acknowledged version is back, nothing half-written", async () => {
    const figures = await runCrashRounds(location, 2, 150);
    report("crash", figures);
    assert.deepEqual(figures.unexpectedFailures, []);
    assert.ok(figures.acknowledged >= 300, `${figures.acknowledged} acknowledged`);
    assert.ok(figures.inFlightAtKill > 0, "writes were in flight at each kill");
    assert.equal(figures.lost, 0, "acknowledged writes missing after a restart");
    assert.equal(figures.malformed, 0, "versions holding a value no writer sent");
    // Every line of the journal is complete and checksummed: a torn tail was cut at the restart.
    const journal = await readFile(join(location, "journal.log"), "utf8");
    assert.ok(journal.endsWith("\n"));
    const [header, ...lines] = journal.slice(0, -1).split("\n");
    assert.match(header!, /^keyvault-secrets local vault journal v1 base=\d+$/);
    for (const line of lines) {
      assert.match(line, /^[0-9a-f]{8}\t\{.*\}$/);
    }
  });
});
