import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { bundleEsm, esmEntryPoints } from "../../../scripts/bundle.mjs";

describe("build: bundling the ESM entry points", function () {
  let dir: string;

  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), "keyvault-secrets-bundle-"));
    mkdirSync(join(dir, "sub"));
    writeFileSync(join(dir, "package.json"), '{"type":"module"}\n');
    // Module state both entry points must share, as the client's challenge cache is shared.
    writeFileSync(join(dir, "state.js"), "export const seen = [];\n");
    writeFileSync(join(dir, "state.d.ts"), "export declare const seen: string[];\n");
    writeFileSync(
      join(dir, "index.js"),
      'import { seen } from "./state.js";\nexport function add(v) { seen.push(v); return seen; }\n' +
        'export const later = () => import("./later.js");\n',
    );
    writeFileSync(join(dir, "later.js"), 'export const loaded = "later";\n');
    writeFileSync(
      join(dir, "sub", "bin.js"),
      '#!/usr/bin/env node\nimport { seen } from "../state.js";\nimport { createRequire } from "node:module";\n' +
        "export { seen, createRequire };\n",
    );
  });
  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it("names every entry point of the package's exports and bins", function () {
    assert.deepEqual([...esmEntryPoints].sort(), [
      "emulator/bin.js",
      "emulator/index.js",
      "index.js",
      "inject/bin.js",
      "inject/preload.js",
      "inject/preloadWatchWorker.js",
    ]);
  });

  it("leaves one file per entry point and shared chunks, with shared state and lazy imports kept", async function () {
    bundleEsm(dir, ["index.js", "sub/bin.js"]);
    assert.equal(existsSync(join(dir, "state.js")), false, "the bundled modules are gone");
    assert.equal(existsSync(join(dir, "later.js")), false);
    assert.equal(existsSync(join(dir, "state.d.ts")), true, "declarations stay");
    assert.ok(readdirSync(join(dir, "chunks")).length >= 2, "shared code and the lazy import");
    const index = (await import(pathToFileURL(join(dir, "index.js")).href)) as {
      add(v: string): string[];
      later(): Promise<{ loaded: string }>;
    };
    const bin = (await import(pathToFileURL(join(dir, "sub", "bin.js")).href)) as {
      seen: string[];
      createRequire: unknown;
    };
    index.add("a");
    assert.deepEqual(bin.seen, ["a"], "one module instance behind both entry points");
    assert.equal((await index.later()).loaded, "later");
    assert.equal(typeof bin.createRequire, "function", "packages and node: stay imports");
    assert.match(readFileSync(join(dir, "sub", "bin.js"), "utf8"), /^#!\/usr\/bin\/env node\n/);
  });

  it("keeps the compiled modules with prune: false", function () {
    bundleEsm(dir, ["index.js"], { prune: false });
    assert.equal(existsSync(join(dir, "state.js")), true);
  });
});
