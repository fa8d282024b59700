// Bundles the ESM build's entry points: our own modules (46 files for the main entry) become one
// file per entry point plus shared chunks, with every package left as an import. A fresh process
// then loads a handful of files instead of dozens, which is most of what our part of the import
// costs (see bench/README.md, "Cold start"). Declarations (.d.ts) stay as tsc wrote them.
import { readdirSync, rmSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { buildSync } from "esbuild";

/** The ESM entry points of the package (its `exports` and `bin`), relative to the ESM directory. */
export const esmEntryPoints = [
  "index.js",
  "emulator/index.js",
  "emulator/bin.js",
  "inject/bin.js",
  "inject/preload.js",
  "inject/preloadWatchWorker.js",
];

/**
 * Bundles `entryPoints` of the compiled ESM in `dir` in place (shared code in `dir/chunks/`) and
 * deletes the compiled modules the bundles replace, keeping declarations and package.json.
 *
 * @param {string} directory - the directory tsc wrote the ESM build to
 * @param {string[]} entryPoints - entry points relative to `dir`
 * @param {{ prune?: boolean }} options - `prune: false` keeps the compiled modules (for other
 *   programs that import them directly, as the benchmark's servers do)
 */
export function bundleEsm(directory, entryPoints = esmEntryPoints, { prune = true } = {}) {
  const dir = resolve(directory);
  buildSync({
    absWorkingDir: dir,
    entryPoints,
    outdir: ".",
    outbase: ".",
    allowOverwrite: true,
    bundle: true,
    splitting: true,
    chunkNames: "chunks/[name]-[hash]",
    format: "esm",
    platform: "node",
    target: "node20",
    packages: "external",
    // Composed with tsc's maps: stack traces and coverage of the built files point at src/.
    sourcemap: true,
    logLevel: "warning",
  });
  if (!prune) return;
  const keep = new Set(entryPoints.flatMap((entry) => [entry, `${entry}.map`]));
  for (const file of filesUnder(dir)) {
    const path = relative(dir, file);
    if (keep.has(path) || path.startsWith("chunks/")) continue;
    if (path.endsWith(".js") || path.endsWith(".js.map")) rmSync(file);
  }
}

function filesUnder(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}
