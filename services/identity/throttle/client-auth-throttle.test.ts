import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CLIENT_FAILURE_HOLD_MS, createClientAuthThrottle } from "./client-auth-throttle.js";
import { createSlidingWindow } from "./sliding-window.js";

/**
 * The token endpoint's throttle of failed client authentications (docs/identity.md, "Throttling of
 * client authentication"): failures are answered plainly up to the limit, then held and answered
 * 429; holds are bounded per address and in all, and given back when they end. Timers are fake, so
 * nothing here depends on how fast the machine is. (throttle.test.ts covers the per-address cap in
 * real time.)
 */
let settled: string[];

beforeEach(() => {
  vi.useFakeTimers();
  settled = [];
});
afterEach(() => {
  vi.useRealTimers();
});

/** Starts a failure and notes when it is answered. */
const start = (t: ReturnType<typeof createClientAuthThrottle>, address: string | undefined, label: string) =>
  t.failed(address).then((answer) => {
    settled.push(label);
    return answer;
  });

describe("the client authentication throttle", () => {
  it("holds a failure past the limit for the default hold, then answers 429 with Retry-After", async () => {
    const t = createClientAuthThrottle(
      { failures: createSlidingWindow({ windowMs: 30_000, limit: 1 }) },
      () => 0,
    );
    expect(await t.failed("10.0.0.1")).toEqual({ throttled: false });
    const held = start(t, "10.0.0.1", "held");
    await vi.advanceTimersByTimeAsync(CLIENT_FAILURE_HOLD_MS - 1);
    expect(settled).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(await held).toEqual({ throttled: true, retryAfterSec: 30 });
  });

  it("caps the holds in all, across addresses, and answers at once beyond the cap", async () => {
    const t = createClientAuthThrottle(
      { failures: createSlidingWindow({ windowMs: 60_000, limit: 1 }), holdMs: 1_000, maxHeld: 2 },
      () => 0,
    );
    for (const a of ["a", "b", "c"]) await t.failed(a); // each address's plain first failure
    const answers = [start(t, "a", "a"), start(t, "b", "b"), start(t, "c", "c")];
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toEqual(["c"]);
    expect(await answers[2]).toEqual({ throttled: true, retryAfterSec: 60 });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(settled).toEqual(["c", "a", "b"]);
  });

  it("gives a hold back when it ends, so a later failure is held again", async () => {
    const t = createClientAuthThrottle(
      { failures: createSlidingWindow({ windowMs: 60_000, limit: 1 }), holdMs: 1_000, maxHeldPerAddress: 1 },
      () => 0,
    );
    await t.failed("a");
    const first = start(t, "a", "first");
    await vi.advanceTimersByTimeAsync(1_000);
    await first;
    start(t, "a", "second");
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toEqual(["first"]); // held, not answered at once
    await vi.advanceTimersByTimeAsync(1_000);
    expect(settled).toEqual(["first", "second"]);
  });

  it("answers at once with no hold configured, still saying 429", async () => {
    const t = createClientAuthThrottle(
      { failures: createSlidingWindow({ windowMs: 5_500, limit: 1 }), holdMs: 0 },
      () => 0,
    );
    await t.failed("a");
    expect(await t.failed("a")).toEqual({ throttled: true, retryAfterSec: 6 });
  });

  it("counts failures with no usable address in one bucket, apart from every real address", async () => {
    const t = createClientAuthThrottle(
      { failures: createSlidingWindow({ windowMs: 60_000, limit: 1 }), holdMs: 0 },
      () => 0,
    );
    expect(await t.failed(undefined)).toEqual({ throttled: false });
    expect(await t.failed(undefined)).toMatchObject({ throttled: true });
    expect(await t.failed("10.0.0.1")).toEqual({ throttled: false });
  });

  it("never says Retry-After 0 while throttling", async () => {
    let now = 0;
    const t = createClientAuthThrottle(
      { failures: createSlidingWindow({ windowMs: 1_000, limit: 1 }), holdMs: 0 },
      () => now,
    );
    await t.failed("a");
    now = 999; // 1 ms left of the window
    expect(await t.failed("a")).toEqual({ throttled: true, retryAfterSec: 1 });
  });
});
