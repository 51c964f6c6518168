import { describe, expect, it } from "vitest";
import {
  createLoginThrottle,
  EMAIL_DELAY_BASE_MS,
  EMAIL_DELAY_MAX_MS,
  type WindowFactory,
} from "./login-throttle.js";
import { createSlidingWindow } from "./sliding-window.js";

/**
 * The login throttle's rules (docs/identity.md, "Throttling") beyond throttle.test.ts: its windows
 * are named and sized so the per-email delay can reach its ceiling and no further, Retry-After is
 * rounded up to whole seconds, the defaults hold, and one party's failures and successes never
 * touch another party's counts.
 */
const made: { name: string; options: { windowMs: number; limit: number } }[] = [];
const recordingWindows: WindowFactory = (name, options) => {
  made.push({ name, options });
  return createSlidingWindow(options);
};

describe("the login throttle", () => {
  it("sizes its per-email window to reach the maximum delay, with the pair and address windows at their limits", () => {
    made.length = 0;
    createLoginThrottle(
      {
        windowMs: 60_000,
        maxFailuresPerEmail: 4,
        maxFailuresPerAddress: 20,
        emailDelayBaseMs: 100,
        emailDelayMaxMs: 1_000,
        windows: recordingWindows,
      },
      () => 0,
    );
    // 100 → 1 000 needs ceil(log2(10)) = 4 doublings past the threshold, plus the first delayed one.
    expect(made).toEqual([
      { name: "login_pair", options: { windowMs: 60_000, limit: 4 } },
      { name: "login_address", options: { windowMs: 60_000, limit: 20 } },
      { name: "login_email", options: { windowMs: 60_000, limit: 4 + 4 + 1 } },
    ]);
  });

  it("delays from the default base up to the default ceiling, which it reaches and keeps", () => {
    const t = createLoginThrottle(
      { windowMs: 60_000, maxFailuresPerEmail: 1, maxFailuresPerAddress: 1_000 },
      () => 0,
    );
    const delays: number[] = [];
    for (let i = 0; i < 10; i++) {
      t.recordFailure("a@x", `10.0.0.${i}`);
      delays.push(t.delayMs("a@x"));
    }
    expect(delays[0]).toBe(EMAIL_DELAY_BASE_MS);
    expect(delays.at(-1)).toBe(EMAIL_DELAY_MAX_MS);
    expect(Math.max(...delays)).toBe(EMAIL_DELAY_MAX_MS);
    expect(delays).toEqual([...delays].sort((a, b) => a - b));
  });

  it("rounds Retry-After up to whole seconds, never to zero while refused", () => {
    let now = 0;
    const t = createLoginThrottle(
      { windowMs: 10_000, maxFailuresPerEmail: 1, maxFailuresPerAddress: 100 },
      () => now,
    );
    t.recordFailure("a@x", "10.0.0.1");
    now = 9_999; // 1 ms left
    expect(t.retryAfterSec("a@x", "10.0.0.1")).toBe(1);
    now = 8_500; // 1.5 s left
    expect(t.retryAfterSec("a@x", "10.0.0.1")).toBe(2);
    now = 10_000;
    expect(t.retryAfterSec("a@x", "10.0.0.1")).toBe(0);
  });

  it("clears on success the succeeding pair only: not another pair, not the address, not the email", () => {
    const t = createLoginThrottle(
      { windowMs: 60_000, maxFailuresPerEmail: 2, maxFailuresPerAddress: 3 },
      () => 0,
    );
    t.recordFailure("a@x", "10.0.0.1");
    t.recordFailure("a@x", "10.0.0.1");
    t.recordFailure("a@x", "10.0.0.2");
    t.recordFailure("a@x", "10.0.0.2");
    t.recordSuccess("a@x", "10.0.0.1");
    expect(t.retryAfterSec("a@x", "10.0.0.1")).toBe(0);
    expect(t.retryAfterSec("a@x", "10.0.0.2")).toBe(60);
    // The email keeps its four failures: every attempt on it is still slowed.
    expect(t.delayMs("a@x")).toBe(EMAIL_DELAY_BASE_MS * 4);
    expect(t.delayMs("b@x")).toBe(0);
    // The address keeps its two: one more failure from it, on any email, reaches its limit.
    t.recordFailure("b@x", "10.0.0.1");
    expect(t.retryAfterSec("c@x", "10.0.0.1")).toBe(60);
  });

  it("admits an attempt only while the failures counted plus the attempts under way stay under each limit", () => {
    let now = 0;
    const t = createLoginThrottle(
      { windowMs: 60_000, maxFailuresPerEmail: 2, maxFailuresPerAddress: 3 },
      () => now,
    );
    const first = t.begin("a@x", "10.0.0.1");
    const second = t.begin("a@x", "10.0.0.1");
    expect([first.retryAfterSec, second.retryAfterSec]).toEqual([0, 0]);
    // Two of this pair under way: a third waits for them (1 s), whatever their outcome will be.
    expect(t.begin("a@x", "10.0.0.1").retryAfterSec).toBe(1);
    // The address has one slot left, taken by another email; then the address is full too.
    const third = t.begin("b@x", "10.0.0.1");
    expect(third.retryAfterSec).toBe(0);
    expect(t.begin("c@x", "10.0.0.1").retryAfterSec).toBe(1);
    // Another address is untouched by all of this.
    expect(t.begin("a@x", "10.0.0.2").retryAfterSec).toBe(0);

    // An attempt that ended as a failure keeps its place as a counted failure; ending twice frees nothing more.
    t.recordFailure("a@x", "10.0.0.1");
    first.end();
    first.end();
    expect(t.begin("a@x", "10.0.0.1").retryAfterSec).toBe(1);
    // One that ended as a success frees its places.
    t.recordSuccess("a@x", "10.0.0.1");
    second.end();
    third.end();
    const again = t.begin("c@x", "10.0.0.1");
    expect(again.retryAfterSec).toBe(0);
    // A refused attempt's end() is harmless.
    t.begin("c@x", "10.0.0.1").end();
    now += 60_001;
    again.end();
    expect(t.begin("c@x", "10.0.0.1").retryAfterSec).toBe(0);
  });
});
