import { type BackoffSchedule, backoffDelayMs } from "../retry/backoff.js";

export interface BackoffSettings {
  /** First delay after a failure (and after a clean end: the server draining). */
  readonly initialMs?: number;
  /** The delay never grows beyond this: reconnecting must stay well inside the staleness limit. */
  readonly maxMs?: number;
}

/**
 * The revocation feed's reconnect schedule: from 100 ms up to 2 s, with equal jitter, so the
 * verifiers of a restarted identity provider don't all come back in the same millisecond.
 */
export function reconnectSchedule(settings: BackoffSettings = {}): BackoffSchedule {
  return { initialMs: settings.initialMs ?? 100, maxMs: settings.maxMs ?? 2_000, jitter: "equal" };
}

/** Delay before reconnect attempt `attempt` (0-based) on that schedule. */
export function reconnectDelayMs(
  attempt: number,
  settings: BackoffSettings = {},
  random = Math.random,
): number {
  return backoffDelayMs(attempt, reconnectSchedule(settings), random);
}
