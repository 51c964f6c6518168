/**
 * How much a verifier can trust what it knows about revocations (docs/architecture.md, "Revocation"):
 * - `live`: a message (snapshot, revocation or heartbeat) came within 2.5 heartbeats;
 * - `stale`: silent for longer, but within the staleness limit of the last message: keep serving,
 *   a revocation made meanwhile may not be known yet (bounded, logged staleness);
 * - `failed`: silent beyond the limit, or no snapshot received yet: refuse user tokens (fail closed).
 */
export type FeedStatus = "live" | "stale" | "failed";

export interface FeedState {
  readonly status: FeedStatus;
  /** When this status began, epoch ms. */
  readonly since: number;
  /** When the last message arrived, epoch ms; undefined before the first one. */
  readonly lastMessageAt: number | undefined;
}

/** Heartbeats that may be missed before the feed counts as silent: one late, one lost, some slack. */
export const LIVE_HEARTBEATS = 2.5;

export interface FeedClock {
  readonly startedAt: number;
  readonly lastMessageAt: number | undefined;
  /** When the current run of live messages began. */
  readonly liveSince: number;
}

export function feedState(
  clock: FeedClock,
  limits: { readonly heartbeatMs: number; readonly stalenessLimitMs: number },
  now: number,
): FeedState {
  const { lastMessageAt } = clock;
  if (lastMessageAt === undefined) return { status: "failed", since: clock.startedAt, lastMessageAt };
  const silentMs = now - lastMessageAt;
  // The limit first: it bounds staleness even when it is shorter than the live window.
  if (silentMs > limits.stalenessLimitMs) {
    return { status: "failed", since: lastMessageAt + limits.stalenessLimitMs, lastMessageAt };
  }
  const liveWindowMs = limits.heartbeatMs * LIVE_HEARTBEATS;
  if (silentMs <= liveWindowMs) return { status: "live", since: clock.liveSince, lastMessageAt };
  return { status: "stale", since: lastMessageAt + liveWindowMs, lastMessageAt };
}

/** When `feedState` can next change by time alone (no message), or undefined if it cannot. */
export function nextStateChangeAt(
  clock: FeedClock,
  limits: { readonly heartbeatMs: number; readonly stalenessLimitMs: number },
  now: number,
): number | undefined {
  const { lastMessageAt } = clock;
  if (lastMessageAt === undefined) return undefined;
  const liveEnds = lastMessageAt + limits.heartbeatMs * LIVE_HEARTBEATS;
  const limitEnds = lastMessageAt + limits.stalenessLimitMs;
  const next = [liveEnds, limitEnds].filter((t) => t >= now).sort((a, b) => a - b)[0];
  // +1: `feedState` is inclusive at the boundary.
  return next === undefined ? undefined : next + 1;
}
