import { describe, expect, it, vi } from "vitest";
import {
  createLoginThrottle,
  EMAIL_DELAY_BASE_MS,
  EMAIL_DELAY_MAX_MS,
  MAX_WAIT_MS,
  MAX_WAITING,
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

  it("admits an attempt only while the failures counted plus the attempts under way stay under each limit; the rest wait", async () => {
    let now = 0;
    const t = createLoginThrottle(
      { windowMs: 60_000, maxFailuresPerEmail: 2, maxFailuresPerAddress: 3 },
      () => now,
    );
    const settled = <T>(p: Promise<T>) => {
      const state: { value?: T } = {};
      void p.then((v) => {
        state.value = v;
      });
      return state;
    };
    const tick = () => new Promise((r) => setImmediate(r));
    const first = await t.begin("a@x", "10.0.0.1");
    const second = await t.begin("a@x", "10.0.0.1");
    expect([first.retryAfterSec, second.retryAfterSec]).toEqual([0, 0]);
    // Two of this pair under way: a third waits for one of them to end, whatever its outcome.
    const third = settled(t.begin("a@x", "10.0.0.1"));
    // The address has one place left, taken by another email; a fourth email waits too.
    const other = await t.begin("b@x", "10.0.0.1");
    const fourth = settled(t.begin("c@x", "10.0.0.1"));
    // Another address is untouched by all of this.
    expect((await t.begin("a@x", "10.0.0.2")).retryAfterSec).toBe(0);
    await tick();
    expect([third.value, fourth.value]).toEqual([undefined, undefined]);

    // The first ends as a failure: one place of the pair is now a counted failure, so the third
    // still waits; the address has 1 failure + 2 under way = its limit, so the fourth waits too.
    t.recordFailure("a@x", "10.0.0.1");
    first.end();
    first.end(); // ending twice frees nothing more
    await tick();
    expect([third.value, fourth.value]).toEqual([undefined, undefined]);
    // The second ends as a success: a place for each.
    t.recordSuccess("a@x", "10.0.0.1");
    second.end();
    await tick();
    expect(third.value?.retryAfterSec).toBe(0);
    expect(fourth.value).toBeUndefined();
    other.end();
    await tick();
    expect(fourth.value?.retryAfterSec).toBe(0);

    // Failures that fill a limit refuse at once, without waiting (the success cleared the pair's).
    third.value?.end();
    fourth.value?.end();
    t.recordFailure("a@x", "10.0.0.1");
    t.recordFailure("a@x", "10.0.0.1");
    expect((await t.begin("a@x", "10.0.0.1")).retryAfterSec).toBe(60);
    // A refused attempt's end() is harmless.
    (await t.begin("a@x", "10.0.0.1")).end();
    now += 60_001;
    expect((await t.begin("a@x", "10.0.0.1")).retryAfterSec).toBe(0);
  });

  it("refuses (1 s) an attempt past MAX_WAITING waiting on one address", async () => {
    const t = createLoginThrottle({ windowMs: 60_000, maxFailuresPerEmail: 1, maxFailuresPerAddress: 1 });
    const holder = await t.begin("a@x", "10.0.0.9");
    const waiters = Array.from({ length: MAX_WAITING }, (_, i) => t.begin(`w${i}@x`, "10.0.0.9"));
    expect((await t.begin("late@x", "10.0.0.9")).retryAfterSec).toBe(1);
    holder.end();
    // Each waiter in turn: admitted when the one before it ends.
    for (const w of waiters) (await w).end();
    expect((await t.begin("late@x", "10.0.0.9")).retryAfterSec).toBe(0);
  });

  it("drops a waiting attempt whose caller left, and refuses one that waited MAX_WAIT_MS (busy, 1 s)", async () => {
    vi.useFakeTimers();
    try {
      const t = createLoginThrottle({ windowMs: 60_000, maxFailuresPerEmail: 1, maxFailuresPerAddress: 5 });
      const holder = await t.begin("a@x", "10.0.0.7");
      const left = new AbortController();
      const leaving = t.begin("a@x", "10.0.0.7", left.signal);
      const patient = t.begin("a@x", "10.0.0.7");
      left.abort();
      expect(await leaving).toMatchObject({ retryAfterSec: 1, refusal: "busy" });
      await vi.advanceTimersByTimeAsync(MAX_WAIT_MS);
      expect(await patient).toMatchObject({ retryAfterSec: 1, refusal: "busy" });
      // Neither holds a place: once the holder ends, a newcomer is admitted at once.
      holder.end();
      const next = await t.begin("a@x", "10.0.0.7");
      expect(next.retryAfterSec).toBe(0);
      next.end();
      // A signal already aborted never waits.
      const gone = new AbortController();
      gone.abort();
      const blocker = await t.begin("a@x", "10.0.0.7");
      expect(await t.begin("a@x", "10.0.0.7", gone.signal)).toMatchObject({ refusal: "busy" });
      blocker.end();
    } finally {
      vi.useRealTimers();
    }
  });

  it("waits MAX_WAIT_MS in all, however often it is woken without finding a place", async () => {
    vi.useFakeTimers();
    try {
      const t = createLoginThrottle({ windowMs: 60_000, maxFailuresPerEmail: 1, maxFailuresPerAddress: 5 });
      // The pair is full while `holder` is checked; attempts of other emails from the same address
      // keep ending, and each end wakes the waiter, which finds its pair still full.
      const holder = await t.begin("a@x", "10.0.0.7");
      let outcome: { retryAfterSec: number; refusal?: string } | undefined;
      const patient = t.begin("a@x", "10.0.0.7").then((attempt) => {
        outcome = attempt;
        return attempt;
      });
      for (let i = 0; i < 12 && outcome === undefined; i++) {
        await vi.advanceTimersByTimeAsync(MAX_WAIT_MS / 4);
        (await t.begin(`other${i}@x`, "10.0.0.7")).end();
      }
      expect(outcome).toMatchObject({ retryAfterSec: 1, refusal: "busy" });
      expect(await patient).toBe(outcome);
      holder.end();
    } finally {
      vi.useRealTimers();
    }
  });

  it("a counted failure leaving its window wakes a waiting attempt, before anyone who comes later", async () => {
    vi.useFakeTimers();
    try {
      const t = createLoginThrottle({ windowMs: 5_000, maxFailuresPerEmail: 2, maxFailuresPerAddress: 10 });
      t.recordFailure("a@x", "10.0.0.8");
      await vi.advanceTimersByTimeAsync(1_000);
      // One failure counted and one attempt under way fill the pair's two places.
      const holder = await t.begin("a@x", "10.0.0.8");
      let admitted = false;
      const waiting = t.begin("a@x", "10.0.0.8").then((attempt) => {
        admitted = attempt.retryAfterSec === 0;
        return attempt;
      });
      await vi.advanceTimersByTimeAsync(3_999);
      expect(admitted).toBe(false);
      // The failure leaves the window: the waiter takes that place, the holder still checking.
      await vi.advanceTimersByTimeAsync(1);
      expect(admitted).toBe(true);
      // Both places are taken again: a latecomer waits for one of the two under way.
      let lateAdmitted = false;
      const late = t.begin("a@x", "10.0.0.8").then((attempt) => {
        lateAdmitted = attempt.retryAfterSec === 0;
        return attempt;
      });
      await vi.advanceTimersByTimeAsync(1_000);
      expect(lateAdmitted).toBe(false);
      holder.end();
      expect((await late).retryAfterSec).toBe(0);
      (await waiting).end();
      (await late).end();
    } finally {
      vi.useRealTimers();
    }
  });

  it("keeps the MAX_WAIT_MS bound when the wall clock steps back during a wait", async () => {
    vi.useFakeTimers();
    try {
      let skew = 0;
      const t = createLoginThrottle(
        { windowMs: 60_000, maxFailuresPerEmail: 1, maxFailuresPerAddress: 5 },
        () => Date.now() + skew,
      );
      const holder = await t.begin("a@x", "10.0.0.7");
      let outcome: unknown;
      const patient = t.begin("a@x", "10.0.0.7").then((attempt) => {
        outcome = attempt;
        return attempt;
      });
      await vi.advanceTimersByTimeAsync(1_000);
      // An NTP step or a resumed VM: the wall clock goes back an hour; an end wakes the waiter.
      skew = -3_600_000;
      (await t.begin("b@x", "10.0.0.7")).end();
      await vi.advanceTimersByTimeAsync(MAX_WAIT_MS);
      expect(outcome).toMatchObject({ retryAfterSec: 1, refusal: "busy" });
      await patient;
      holder.end();
    } finally {
      vi.useRealTimers();
    }
  });
});
