import assert from "node:assert/strict";
import { RequestLog } from "../../src/emulator/http/requestLog.js";

const entry = (path: string) => ({
  time: 1_700_000_000_000,
  method: "GET",
  path,
  status: 200,
  latencyMs: 1.5,
  userAgent: "test",
});

describe("RequestLog", () => {
  it("keeps the newest entries up to its capacity, oldest first, with increasing numbers", () => {
    const log = new RequestLog(3);
    for (const path of ["/a", "/b", "/c", "/d", "/e"]) log.add(entry(path));
    assert.deepEqual(
      log.after().map((e) => [e.seq, e.path]),
      [
        [3, "/c"],
        [4, "/d"],
        [5, "/e"],
      ],
    );
    assert.equal(log.newestSeq, 5);
  });

  it("returns only the entries after a sequence number", () => {
    const log = new RequestLog(10);
    for (const path of ["/a", "/b", "/c"]) log.add(entry(path));
    assert.deepEqual(
      log.after(2).map((e) => e.path),
      ["/c"],
    );
    assert.deepEqual(log.after(3), []);
  });

  it("bounds paths and User-Agents and shows control characters as ?", () => {
    const log = new RequestLog(2);
    const kept = log.add({
      ...entry(`/${"p".repeat(400)}`),
      userAgent: `evil\r\nX: y${"u".repeat(300)}`,
    });
    assert.equal(kept.path.length, 300);
    assert.ok(kept.path.endsWith("..."));
    assert.equal(kept.userAgent.length, 200);
    assert.ok(kept.userAgent.startsWith("evil??X: y"));
  });

  it("refuses a capacity that is not a positive integer", () => {
    assert.throws(() => new RequestLog(0), RangeError);
    assert.throws(() => new RequestLog(1.5), RangeError);
  });
});
