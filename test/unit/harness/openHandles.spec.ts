import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { collectRun } from "../../helpers/childProcesses.js";
import { repoRoot } from "../../helpers/testKit.js";

describe("open-handle guard (test/helpers/openHandles.ts, loaded by every mocha run)", function () {
  this.timeout(20_000);

  it("fails a run whose tests all pass but leave a handle open, and names the handle", async () => {
    const child = spawn(
      process.execPath,
      ["node_modules/mocha/bin/mocha.js", "test/unit/harness/fixtures/leaksAnInterval.ts"],
      {
        cwd: repoRoot,
        env: { ...process.env, KV_TEST_LEAK_GRACE_MS: "200" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const run = await collectRun(child);
    assert.match(run.stdout, /1 passing/);
    assert.equal(run.code, 1, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stderr, /left handles open after its last test: .*Timeout/);
  });
});
