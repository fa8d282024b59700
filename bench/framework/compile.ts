/**
 * The one compile step: the client (src/) and every child program (bench/children/) with the
 * project's TypeScript into a temporary directory, so that every measured process runs plain
 * compiled JavaScript under plain `node`: no TypeScript loader in any contender's import time or
 * CPU profile, and no dependence on a `dist/` that another build may be rewriting.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { bundleEsm } from "../../scripts/bundle.mjs";

/** The programs that run in child processes, each in bench/children/. */
export const childPrograms = [
  "vaultChild",
  "fixedServer",
  "clientChild",
  "coldStartChild",
  "loaderChild",
  "startupChild",
] as const;
/** One of them. */
export type ChildProgram = (typeof childPrograms)[number];

/** Where the compiled programs are. */
export interface CompiledBench {
  /** Root of the repository the benchmark was started from. */
  repoRoot: string;
  /** The temporary directory (removed by `remove`). */
  dir: string;
  /** The compiled bench/children/<program>.js. */
  childModule(program: ChildProgram): string;
  /** file: URL of our client's compiled entry point. */
  ourModuleUrl: string;
  /** Deletes the directory. */
  remove(): void;
}

/**
 * Compiles src/ and every child program, and bundles our client's entry point as the package's
 * build does (scripts/bundle.mjs), so that every import and profile is of what users load.
 * @param options - `bundle: false` leaves the entry point unbundled (CPU profiles then name our
 *   files one by one)
 * @returns where they are
 */
export function compileBench({ bundle }: { bundle: boolean }): CompiledBench {
  const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
  const dir = mkdtempSync(path.join(tmpdir(), "keyvault-secrets-bench-"));
  const outDir = path.join(dir, "out");
  const tsconfig = {
    extends: path.join(repoRoot, "tsconfig.json"),
    compilerOptions: {
      noEmit: false,
      rootDir: repoRoot,
      outDir,
      declaration: false,
      declarationMap: false,
      sourceMap: false,
      types: ["node"],
      paths: {},
    },
    include: [],
    files: [
      path.join(repoRoot, "src", "index.ts"),
      ...childPrograms.map((name) => path.join(repoRoot, "bench", "children", `${name}.ts`)),
    ],
  };
  // Packages (and @types) resolve from the repository's node_modules, for tsc and for the children.
  symlinkSync(path.join(repoRoot, "node_modules"), path.join(dir, "node_modules"), "dir");
  const project = path.join(dir, "tsconfig.json");
  writeFileSync(project, JSON.stringify(tsconfig, null, 2));
  try {
    execFileSync(
      process.execPath,
      [path.join(repoRoot, "node_modules", "typescript", "bin", "tsc"), "-p", project],
      { stdio: ["ignore", "inherit", "inherit"], timeout: 180_000 },
    );
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`Compiling the benchmark failed: ${(error as Error).message}`, {
      cause: error,
    });
  }
  writeFileSync(path.join(outDir, "package.json"), JSON.stringify({ type: "module" }) + "\n");
  // The benchmark's servers import src/ modules directly: they stay (prune: false).
  if (bundle) bundleEsm(path.join(outDir, "src"), ["index.js"], { prune: false });
  return {
    repoRoot,
    dir,
    childModule: (program) => path.join(outDir, "bench", "children", `${program}.js`),
    ourModuleUrl: pathToFileURL(path.join(outDir, "src", "index.js")).href,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
