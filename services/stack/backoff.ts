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
  let previous = 0;
  return {
    next(ranMs) {
      previous =
        previous === 0 || ranMs >= policy.resetAfterMs
          ? policy.initialMs
          : Math.min(previous * 2, policy.maxMs);
      return previous;
    },
  };
}
