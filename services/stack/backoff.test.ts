import { describe, expect, it } from "vitest";
import { createBackoff, RESTART_BACKOFF } from "./backoff.js";

describe("restart backoff", () => {
  it("doubles from 0.5 s to at most 30 s while crashes follow quickly", () => {
    const backoff = createBackoff();
    const delays = Array.from({ length: 9 }, () => backoff.next(100));
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
  });

  it("starts again from 0.5 s after a minute of healthy running", () => {
    const backoff = createBackoff();
    backoff.next(0);
    backoff.next(0);
    expect(backoff.next(0)).toBe(2000);
    expect(backoff.next(RESTART_BACKOFF.resetAfterMs)).toBe(500);
    expect(backoff.next(10)).toBe(1000);
  });
});
