import { describe, expect, it } from "vitest";
import { type FeedClock, feedState, LIVE_HEARTBEATS, nextStateChangeAt } from "./feed-state.js";

/**
 * How much a verifier trusts its revocation feed (docs/architecture.md, "Revocation"): live within
 * 2.5 heartbeats of the last message, stale up to the staleness limit, failed beyond it or before
 * any message (fail closed); each boundary inclusive, and the next change predicted one ms past it.
 */
const limits = { heartbeatMs: 1_000, stalenessLimitMs: 10_000 };
const LIVE_WINDOW = limits.heartbeatMs * LIVE_HEARTBEATS;

const clock = (lastMessageAt: number | undefined, liveSince = 0): FeedClock => ({
  startedAt: 0,
  lastMessageAt,
  liveSince,
});

describe("the revocation feed's state", () => {
  it("fails closed before the first message, from the watcher's start, with nothing to wait for", () => {
    expect(feedState(clock(undefined), limits, 60_000)).toEqual({
      status: "failed",
      since: 0,
      lastMessageAt: undefined,
    });
    expect(nextStateChangeAt(clock(undefined), limits, 60_000)).toBeUndefined();
  });

  it("is live up to 2.5 heartbeats after the last message, inclusive, since the run of live messages began", () => {
    const c = clock(100_000, 40_000);
    expect(feedState(c, limits, 100_000)).toEqual({ status: "live", since: 40_000, lastMessageAt: 100_000 });
    expect(feedState(c, limits, 100_000 + LIVE_WINDOW).status).toBe("live");
    expect(feedState(c, limits, 100_000 + LIVE_WINDOW + 1)).toEqual({
      status: "stale",
      since: 100_000 + LIVE_WINDOW,
      lastMessageAt: 100_000,
    });
  });

  it("is stale up to the staleness limit, inclusive, then failed from the limit on", () => {
    const c = clock(100_000);
    expect(feedState(c, limits, 100_000 + limits.stalenessLimitMs).status).toBe("stale");
    expect(feedState(c, limits, 100_000 + limits.stalenessLimitMs + 1)).toEqual({
      status: "failed",
      since: 100_000 + limits.stalenessLimitMs,
      lastMessageAt: 100_000,
    });
  });

  it("bounds staleness by the limit even when the limit is shorter than the live window", () => {
    const tight = { heartbeatMs: 1_000, stalenessLimitMs: 1_000 };
    expect(feedState(clock(0), tight, 1_000).status).toBe("live");
    expect(feedState(clock(0), tight, 1_001).status).toBe("failed");
  });

  it("predicts the next change one ms past each boundary, and none once failed", () => {
    const c = clock(100_000);
    expect(nextStateChangeAt(c, limits, 100_000)).toBe(100_000 + LIVE_WINDOW + 1);
    expect(nextStateChangeAt(c, limits, 100_000 + LIVE_WINDOW + 1)).toBe(
      100_000 + limits.stalenessLimitMs + 1,
    );
    expect(nextStateChangeAt(c, limits, 100_000 + limits.stalenessLimitMs + 1)).toBeUndefined();
    // At each predicted moment the state has indeed changed.
    const first = nextStateChangeAt(c, limits, 100_000) as number;
    expect(feedState(c, limits, first - 1).status).toBe("live");
    expect(feedState(c, limits, first).status).toBe("stale");
    const second = nextStateChangeAt(c, limits, first) as number;
    expect(feedState(c, limits, second - 1).status).toBe("stale");
    expect(feedState(c, limits, second).status).toBe("failed");
  });
});
