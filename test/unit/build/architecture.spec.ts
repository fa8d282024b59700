import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";

/** Every `.ts` file under a folder, as paths relative to it. */
function sourceFiles(folder: string): string[] {
  return readdirSync(folder, { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts"))
    .map((file) => file.split(path.sep).join("/"));
}

describe("docs/ARCHITECTURE.md", () => {
  it("names every file of src/ (the map stays true as files are added)", () => {
    const map = readFileSync("docs/ARCHITECTURE.md", "utf8");
    const missing = sourceFiles("src").filter((file) => !map.includes(path.basename(file)));
    assert.deepEqual(missing, [], `add these files to the tree in docs/ARCHITECTURE.md`);
  });
});
