import v8 from "node:v8";
import { describe, expect, it } from "vitest";
import { createLogger } from "../log/logger.js";
import { releaseHeapWhenIdle } from "./idle-heap-release.js";

const logger = createLogger({ service: "test", level: "silent" });
const youngBytes = () =>
  v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space")?.space_size ?? 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Allocates fast with some survivors, as a service under load does: V8 grows the young generation. */
function churn(): void {
  let kept: object[] = [];
  for (let i = 0; i < 3_000_000; i++) {
    kept.push({ i, s: `x${i}` });
    if (kept.length > 200_000) kept = [];
  }
}

function busyFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe("releaseHeapWhenIdle", () => {
  it("after load and two quiet windows, gives the grown young generation back", async () => {
    // A long window: only the explicit observations below count. Quiet means busy under 20 % here:
    // this worker runs other test files' leftovers too, on a loaded machine (the default, 1 %, is
    // for a service's own loop); the busy windows below are busy all the time.
    const release = releaseHeapWhenIdle(logger, { windowMs: 3_600_000, quietUtilization: 0.2 });
    try {
      churn();
      const grown = youngBytes();
      expect(grown).toBeGreaterThan(8 * 1024 * 1024);
      expect(release.observe()).toBe(false); // the window of the load itself
      await sleep(300);
      expect(release.observe()).toBe(false); // one quiet window is not enough
      await sleep(300);
      expect(release.observe()).toBe(true);
      expect(youngBytes()).toBeLessThan(grown / 4);
      // Nothing grew since: no second collection while the process stays idle.
      await sleep(300);
      expect(release.observe()).toBe(false);
    } finally {
      release.stop();
    }
  });

  it("never collects while the event loop is busy", async () => {
    const release = releaseHeapWhenIdle(logger, { windowMs: 3_600_000, quietUtilization: 0.2 });
    try {
      churn();
      for (let i = 0; i < 4; i++) {
        busyFor(100);
        await sleep(20);
        expect(release.observe()).toBe(false);
      }
    } finally {
      release.stop();
    }
  });

  it("does nothing when turned off (window 0)", async () => {
    const release = releaseHeapWhenIdle(logger, { windowMs: 0 });
    churn();
    await sleep(300);
    release.observe();
    await sleep(300);
    expect(release.observe()).toBe(false);
    release.stop();
  });
});
