import assert from "node:assert/strict";
import { RestartSchedule } from "../../../src/inject/restartSchedule.js";
import { seededRandom } from "../../helpers/testKit.js";

/** A schedule on a clock the test moves. */
function scheduleAt(seed: number, jitterInMs: number, minRestartIntervalInMs: number) {
  const clock = { nowMs: 0 };
  const schedule = new RestartSchedule(
    { jitterInMs, minRestartIntervalInMs, random: seededRandom(seed) },
    () => clock.nowMs,
  );
  return { clock, schedule };
}

describe("RestartSchedule (run --watch)", () => {
  it("waits a random part of the jitter, different per instance", () => {
    const delays = [1, 2, 3].map((seed) => {
      const { clock, schedule } = scheduleAt(seed, 30_000, 0);
      schedule.started();
      clock.nowMs = 600_000;
      return schedule.delay();
    });
    for (const { delayInMs, capped } of delays) {
      assert.ok(delayInMs >= 0 && delayInMs <= 30_000, String(delayInMs));
      assert.equal(capped, false);
    }
    assert.equal(new Set(delays.map((d) => d.delayInMs)).size, 3, "a fleet restarts at one moment");
  });

  it("never starts the command twice within the minimum interval, however often it changes", () => {
    const { clock, schedule } = scheduleAt(7, 1_000, 60_000);
    schedule.started();
    const starts = [0];
    // A secret that flaps every second for an hour: each change is found and waits its turn.
    let dueAtMs: number | undefined;
    for (clock.nowMs = 1_000; clock.nowMs <= 3_600_000; clock.nowMs += 1_000) {
      if (dueAtMs !== undefined && clock.nowMs >= dueAtMs) {
        schedule.started();
        starts.push(clock.nowMs);
        dueAtMs = undefined;
      }
      if (dueAtMs === undefined) {
        const { delayInMs, capped } = schedule.delay();
        assert.equal(capped, clock.nowMs - starts.at(-1)! < 60_000);
        dueAtMs = clock.nowMs + delayInMs;
      }
    }
    const gaps = starts.slice(1).map((at, i) => at - starts[i]!);
    assert.ok(
      gaps.every((gap) => gap >= 60_000),
      `gaps: ${gaps.join(", ")}`,
    );
    assert.ok(starts.length >= 55 && starts.length <= 60, `${starts.length} starts in an hour`);
  });

  it("adds the jitter after the rate cap, so a fleet started together does not restart together", () => {
    const delays = [1, 2].map((seed) => {
      const { clock, schedule } = scheduleAt(seed, 10_000, 60_000);
      schedule.started();
      clock.nowMs = 5_000;
      return schedule.delay();
    });
    for (const { delayInMs, capped } of delays) {
      assert.equal(capped, true);
      assert.ok(delayInMs >= 55_000 && delayInMs <= 65_000, String(delayInMs));
    }
    assert.notEqual(delays[0]!.delayInMs, delays[1]!.delayInMs);
  });
});
