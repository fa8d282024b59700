/**
 * Child processes of the tests run compiled JavaScript, never `node --import tsx`: a tsx child
 * spends half a second (a second under coverage) compiling before it runs a line of its own.
 *
 * A TypeScript entry (a fixture or a sample) is bundled once per mocha process with esbuild into
 * `temp/children/<pid>/`, under the repository's own package.json: its imports of
 * `keyvault-secrets` and `keyvault-secrets/emulator` stay imports, and resolve to the dist/ bundle
 * the build made, as a user's code would; its relative imports are bundled in.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcessByStdio } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import type { Readable } from "node:stream";
import { buildSync } from "esbuild";
import { repoRoot } from "./testKit.js";

/** Where this process's compiled entries go (temp/ is git-ignored); removed when it exits. */
const outputRoot = join(repoRoot, "temp", "children", String(process.pid));

const compiled = new Map<string, string>();

/** The built entry points that children import or run. */
const builtEntries = [
  "dist/esm/index.js",
  "dist/esm/emulator/index.js",
  "dist/esm/emulator/bin.js",
  "dist/esm/inject/bin.js",
  "dist/commonjs/inject/preloadCommonJs.js",
];

/** Fails early, with what to do, when the package was not built. */
export function assertBuilt(): void {
  assert.ok(
    builtEntries.every((entry) => existsSync(join(repoRoot, entry))),
    "dist/ is missing: run `npm run build` first (npm test does)",
  );
}

/**
 * The compiled JavaScript of a TypeScript entry, bundled on first use.
 * @param entry - the entry's path, absolute or relative to the repository root
 * @returns the absolute path of the compiled entry
 */
export function compiledScript(entry: string): string {
  const source = resolve(repoRoot, entry);
  const known = compiled.get(source);
  if (known !== undefined) return known;
  assertBuilt();
  if (compiled.size === 0) {
    process.once("exit", () => rmSync(outputRoot, { recursive: true, force: true }));
  }
  const outfile = join(outputRoot, relative(repoRoot, source)).replace(/\.ts$/, ".js");
  buildSync({
    entryPoints: [source],
    outfile,
    bundle: true,
    // Packages, this one included, are imported at run time: ours from dist/. Not through the
    // repository's tsconfig.json, whose `paths` would bundle src/ in its place.
    packages: "external",
    tsconfigRaw: {},
    format: "esm",
    platform: "node",
    target: "node20",
    // Stack traces and coverage of the bundled code point at the TypeScript sources.
    sourcemap: true,
    logLevel: "warning",
  });
  compiled.set(source, outfile);
  return outfile;
}

/** A child process with piped stdout and stderr. */
export type PipedChild = ChildProcessByStdio<null, Readable, Readable>;

/** The output of a child process. */
export interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Spawns the compiled `entry` from the repository root with piped output.
 * @param entry - a TypeScript entry, relative to the repository root
 * @param args - arguments
 * @param env - environment added to this process's (KEYVAULT_URI is removed)
 * @returns the child
 */
export function spawnScript(
  entry: string,
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
): PipedChild {
  const { KEYVAULT_URI: _ignored, ...inherited } = process.env;
  return spawn(process.execPath, [compiledScript(entry), ...args], {
    cwd: repoRoot,
    env: { ...inherited, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/**
 * Runs the compiled `entry` from the repository root and collects its output.
 * @param entry - a TypeScript entry, relative to the repository root
 * @param args - arguments
 * @param env - environment added to this process's (KEYVAULT_URI is removed)
 * @param timeoutMs - kill after this long
 * @returns the exit and output
 */
export function runScript(
  entry: string,
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 30_000,
): Promise<ChildRun> {
  return collectRun(spawnScript(entry, args, env), timeoutMs);
}

/**
 * Collects the output of a child with piped stdout and stderr until it closes.
 * @param child - the child
 * @param timeoutMs - kill it after this long
 * @returns the exit and output
 */
export function collectRun(child: PipedChild, timeoutMs = 30_000): Promise<ChildRun> {
  return new Promise((done, fail) => {
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", fail);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr });
    });
  });
}
