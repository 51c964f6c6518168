import v8 from "node:v8";
import { describe, expect, it } from "vitest";
import { createLogger } from "../log/logger.js";
import { releaseHeapWhenIdle } from "./idle-heap-release.js";

const logger = createLogger({ service: "test", level: "silent" });
const youngBytes = () =>
  v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space")?.space_size ?? 0;

/** Allocates fast with some survivors, as a service under load does: V8 grows the young generation. */
function churn(): void {
  let kept: object[] = [];
  for (let i = 0; i < 3_000_000; i++) {
    kept.push({ i, s: `x${i}` });
    if (kept.length > 200_000) kept = [];
  }
}

/**
 * The event loop's business, scripted window by window: a test worker's loop also runs other
 * files' leftovers and the collector's own tasks after a churn, so its real utilization says
 * nothing about this module. The collection itself is V8's, for real.
 */
function scripted(...windows: number[]) {
  const busy = [...windows];
  return () => busy.shift() ?? 0;
}

describe("releaseHeapWhenIdle", () => {
  it("after load and two quiet windows, gives the grown young generation back — once per quiet period", () => {
    // Windows: the load (busy), quiet, quiet (release; its own reset reads one more), then the
    // heap grows while the loop stays quiet (no second collection in one quiet period), then
    // a busy window and two quiet ones: a new quiet period, a new release.
    const release = releaseHeapWhenIdle(logger, {
      windowMs: 3_600_000, // only the explicit observations below count
      busySinceLast: scripted(0.9, 0, 0, 0, 0, 0, 0.5, 0, 0, 0),
    });
    try {
      churn();
      const grown = youngBytes();
      expect(grown).toBeGreaterThan(8 * 1024 * 1024);
      expect(release.observe()).toBe(false); // the window of the load itself
      expect(release.observe()).toBe(false); // one quiet window is not enough
      expect(release.observe()).toBe(true);
      expect(youngBytes()).toBeLessThan(grown / 4);
      churn();
      expect(release.observe()).toBe(false); // grown again, but still the same quiet period
      expect(release.observe()).toBe(false);
      expect(release.observe()).toBe(false); // busy: the quiet period is over
      expect(release.observe()).toBe(false);
      expect(release.observe()).toBe(true);
    } finally {
      release.stop();
    }
  });

  it("never collects while the event loop is busy, even a little (1 % by default)", () => {
    const release = releaseHeapWhenIdle(logger, {
      windowMs: 3_600_000,
      busySinceLast: scripted(0.5, 0.02, 0, 0.011, 0, 0.3, 0),
    });
    try {
      churn();
      for (let i = 0; i < 7; i++) expect(release.observe()).toBe(false);
    } finally {
      release.stop();
    }
  });

  it("does nothing when turned off (window 0)", () => {
    const release = releaseHeapWhenIdle(logger, { windowMs: 0, busySinceLast: scripted(0, 0, 0) });
    churn();
    for (let i = 0; i < 3; i++) expect(release.observe()).toBe(false);
    release.stop();
  });
});
