import { backoffDelayMs } from "#kit/retry/index.js";

/**
 * When to restart a crashed service: 0.5 s after the first crash, doubling on each crash that
 * follows quickly, at most 30 s; a service that ran healthy for a minute starts again from 0.5 s,
 * so one crash a day never waits 30 s while a crash loop never spins the CPU.
 */
export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
  /** Running this long before a crash counts as healthy: the next delay is `initialMs` again. */
  readonly resetAfterMs: number;
}

export const RESTART_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 30_000, resetAfterMs: 60_000 };

export interface Backoff {
  /** The delay before the restart that follows a crash after `ranMs` of running. */
  next(ranMs: number): number;
}

export function createBackoff(policy: BackoffPolicy = RESTART_BACKOFF): Backoff {
  const schedule = { initialMs: policy.initialMs, maxMs: policy.maxMs, jitter: "none" } as const;
  // Crashes in a row, each after less than `resetAfterMs` of running (-1: none yet).
  let streak = -1;
  return {
    next(ranMs) {
      streak = streak < 0 || ranMs >= policy.resetAfterMs ? 0 : streak + 1;
      return backoffDelayMs(streak, schedule);
    },
  };
}
