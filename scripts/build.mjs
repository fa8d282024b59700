// Builds the dual package: ESM in dist/esm (its entry points bundled, see bundle.mjs), CommonJS in
// dist/commonjs, each with its own type marker.
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, rmSync, writeFileSync } from "node:fs";
import { bundleEsm } from "./bundle.mjs";

const tsc = (project) =>
  execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", project], {
    stdio: "inherit",
  });

rmSync("dist", { recursive: true, force: true });
tsc("tsconfig.build.json");
tsc("tsconfig.cjs.json");
writeFileSync("dist/esm/package.json", JSON.stringify({ type: "module" }) + "\n");
bundleEsm("dist/esm");
writeFileSync("dist/commonjs/package.json", JSON.stringify({ type: "commonjs" }) + "\n");
for (const bin of ["dist/esm/emulator/bin.js", "dist/esm/inject/bin.js"]) {
  if (existsSync(bin)) chmodSync(bin, 0o755);
}
