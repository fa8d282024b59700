// Compiles every ```ts block of README.md as its own module, against the package's public names,
// so the README cannot drift from the API.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const outDir = "temp/readme-snippets";
const readme = readFileSync("README.md", "utf8");
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]);
if (blocks.length === 0) throw new Error("README.md has no ts blocks to check");

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
const files = blocks.map((code, index) => {
  const file = `snippet${index + 1}.ts`;
  writeFileSync(join(outDir, file), `${code}\nexport {};\n`);
  return file;
});
writeFileSync(
  join(outDir, "tsconfig.json"),
  JSON.stringify({
    extends: "../../tsconfig.json",
    compilerOptions: { noEmit: true, noUnusedLocals: false, baseUrl: "../..", types: ["node"] },
    include: files,
  }),
);
try {
  execFileSync(
    process.execPath,
    ["node_modules/typescript/bin/tsc", "-p", join(outDir, "tsconfig.json")],
    {
      stdio: "inherit",
    },
  );
} catch {
  console.error(`README.md: a ts block does not compile (see ${outDir}/snippetN.ts above).`);
  process.exit(1);
}
console.log(`README.md: ${blocks.length} ts blocks compile.`);
