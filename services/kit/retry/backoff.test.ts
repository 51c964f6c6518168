import { describe, expect, it } from "vitest";
import { backoffDelayMs, REFUSED_CONNECTION_BACKOFF } from "./backoff.js";
import { sleep } from "./sleep.js";

describe("backoff", () => {
  it("doubles from its first delay up to its maximum, exactly when without jitter", () => {
    const delays = Array.from({ length: 7 }, (_, i) => backoffDelayMs(i, REFUSED_CONNECTION_BACKOFF));
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
    // Far past any real attempt count: still the maximum, never Infinity or NaN.
    expect(backoffDelayMs(10_000, REFUSED_CONNECTION_BACKOFF)).toBe(1000);
  });

  it("with equal jitter stays between half the schedule and the schedule", () => {
    const schedule = { initialMs: 100, maxMs: 2_000, jitter: "equal" } as const;
    expect(backoffDelayMs(3, schedule, () => 0)).toBe(400);
    expect(backoffDelayMs(3, schedule, () => 1)).toBe(800);
    expect(backoffDelayMs(30, schedule, () => 0.5)).toBe(1500);
  });
});

describe("sleep", () => {
  it("ends at once when its signal aborts, or if it already had", async () => {
    // Each would take a minute otherwise: past the test's own timeout.
    const controller = new AbortController();
    const slept = sleep(60_000, controller.signal);
    controller.abort();
    await slept;
    await sleep(60_000, AbortSignal.abort());
  });
});
