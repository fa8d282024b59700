/**
 * No import cycles in src/: modules import what they use from where it lives, never back through
 * an entry point (index.ts) that imports them. The graph is read with the TypeScript parser: every
 * relative import, export-from and dynamic import(); for cycles, only those still there at run
 * time (`import type` and imports of types only are left out, as the compiler leaves them out).
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const srcDir = resolve(dirname(fileURLToPath(import.meta.url)), "../../../src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [path] : [];
  });
}

/** Whether an import declaration is still there at run time. */
function isRuntimeImport(node: ts.ImportDeclaration): boolean {
  const clause = node.importClause;
  if (clause === undefined) return true; // import "./x.js": for its effects
  if (clause.isTypeOnly) return false;
  if (clause.name !== undefined) return true;
  const bindings = clause.namedBindings;
  if (bindings === undefined || ts.isNamespaceImport(bindings)) return true;
  return bindings.elements.some((element) => !element.isTypeOnly);
}

function isRuntimeExport(node: ts.ExportDeclaration): boolean {
  if (node.isTypeOnly) return false;
  const clause = node.exportClause;
  if (clause === undefined || !ts.isNamedExports(clause)) return true;
  return clause.elements.some((element) => !element.isTypeOnly);
}

/** Which imports make an edge: those left at run time, or every one, `import type` included. */
type Imports = "runtime" | "all";

/** The relative module specifiers a file imports. */
function specifiersOf(file: string, imports: Imports): string[] {
  const all = imports === "all";
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest);
  const specifiers: string[] = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isImportDeclaration(node) &&
      ts.isStringLiteral(node.moduleSpecifier) &&
      (all || isRuntimeImport(node))
    ) {
      specifiers.push(node.moduleSpecifier.text);
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier !== undefined &&
      ts.isStringLiteral(node.moduleSpecifier) &&
      (all || isRuntimeExport(node))
    ) {
      specifiers.push(node.moduleSpecifier.text);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] !== undefined &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      specifiers.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return specifiers.filter((specifier) => specifier.startsWith("."));
}

/** The import graph of src/: each file (relative to src/) and the files it imports. */
function importGraph(imports: Imports): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(srcDir)) {
    const targets = specifiersOf(file, imports).map((specifier) =>
      relative(srcDir, resolve(dirname(file), specifier.replace(/\.js$/, ".ts"))),
    );
    graph.set(relative(srcDir, file), targets);
  }
  return graph;
}

/** Every cycle of the graph, each once, as the files along it (the first repeated at the end). */
function findCycles(graph: Map<string, string[]>): string[][] {
  const cycles = new Map<string, string[]>();
  const done = new Set<string>();
  const path: string[] = [];
  const onPath = new Set<string>();
  const visit = (file: string): void => {
    if (onPath.has(file)) {
      const cycle = path.slice(path.indexOf(file));
      // One key per cycle, whichever file it was entered from.
      const start = cycle.indexOf([...cycle].sort()[0]!);
      const rotated = [...cycle.slice(start), ...cycle.slice(0, start)];
      cycles.set(rotated.join(" -> "), [...rotated, rotated[0]!]);
      return;
    }
    if (done.has(file)) return;
    path.push(file);
    onPath.add(file);
    for (const target of graph.get(file) ?? []) visit(target);
    onPath.delete(file);
    path.pop();
    done.add(file);
  };
  for (const file of [...graph.keys()].sort()) visit(file);
  return [...cycles.values()];
}

/**
 * What each part of the client may import (docs/ARCHITECTURE.md, "Dependency rules"): a folder of
 * src/ or a file at its top, and the parts it may import besides its own files. The local vault
 * (emulator/) keeps rules of its own; no part of the client imports it.
 */
const clientRules: Record<string, string[]> = {
  "index.ts": [
    "secretClient.ts",
    "models.ts",
    "identifier.ts",
    "paging.ts",
    "secretCache",
    "inject",
    "log.ts",
  ],
  "secretClient.ts": [
    "api",
    "pipeline",
    "lro",
    "paging.ts",
    "models.ts",
    "util",
    "loopbackHost.ts",
  ],
  api: ["models.ts", "identifier.ts", "util", "log.ts"],
  pipeline: ["policies", "util", "models.ts", "log.ts", "constants.ts", "loopbackHost.ts"],
  policies: ["api", "util", "log.ts", "loopbackHost.ts"],
  lro: ["models.ts", "util"],
  events: ["util"],
  secretCache: ["models.ts", "paging.ts", "util", "log.ts", "events"],
  inject: ["secretClient.ts", "secretCache", "models.ts", "util", "loopbackHost.ts"],
  "models.ts": ["api"],
  "paging.ts": ["api"],
  "identifier.ts": [],
  "log.ts": [],
  "constants.ts": [],
  "loopbackHost.ts": [],
  util: [],
};

/** The part of src/ a file belongs to: its top folder, or the file itself at the top. */
function partOf(file: string): string {
  return file.split("/")[0]!;
}

describe("build: the import graph of src/", function () {
  it("resolves every relative import to a file of src/", function () {
    const graph = importGraph("all");
    const missing = [...graph].flatMap(([file, targets]) =>
      targets.filter((target) => !graph.has(target)).map((target) => `${file} -> ${target}`),
    );
    assert.deepEqual(missing, []);
  });

  it("has no import cycle", function () {
    const cycles = findCycles(importGraph("runtime"));
    assert.deepEqual(
      cycles.map((cycle) => cycle.join(" -> ")),
      [],
      "import what you use from the module it lives in, not from an index that imports you",
    );
  });

  it("leaves index.ts, the public surface, to users: no module of src/ imports it", function () {
    const importers = [...importGraph("all")]
      .filter(([, targets]) => targets.includes("index.ts"))
      .map(([file]) => file);
    assert.deepEqual(importers, []);
  });

  it("keeps each part of the client to the imports its rules allow", function () {
    const broken = [...importGraph("all")].flatMap(([file, targets]) => {
      const part = partOf(file);
      if (part === "emulator") return [];
      const allowed = clientRules[part];
      if (allowed === undefined) return [`${file}: a part with no rules; add it to clientRules`];
      return targets
        .filter((target) => partOf(target) !== part && !allowed.includes(partOf(target)))
        .map((target) => `${file} -> ${target}`);
    });
    assert.deepEqual(broken, []);
  });

  it("finds a cycle when there is one", function () {
    const graph = new Map([
      ["index.ts", ["inject/references.ts", "secretClient.ts"]],
      ["inject/references.ts", ["index.ts"]],
      ["secretClient.ts", []],
    ]);
    assert.deepEqual(findCycles(graph), [["index.ts", "inject/references.ts", "index.ts"]]);
  });
});
