/**
 * A retry schedule: the delay doubles from `initialMs` after each failed attempt, never beyond
 * `maxMs`. The one schedule of the product (docs/architecture.md, "The kit"); each caller names its
 * own bounds.
 */
export interface BackoffSchedule {
  readonly initialMs: number;
  readonly maxMs: number;
  /**
   * "equal": half the delay fixed, half random, so many clients that failed together (the verifiers
   * of a restarted identity provider, replicas that lost their database) do not all come back in
   * the same millisecond, yet none waits much less than the schedule. "none": exactly the schedule,
   * for one caller retrying its own request.
   */
  readonly jitter: "equal" | "none";
}

/** Delay before retry number `attempt` (0 = the first retry). */
export function backoffDelayMs(attempt: number, schedule: BackoffSchedule, random = Math.random): number {
  // The exponent is capped: 2 ** 1024 is Infinity, and any schedule reaches its maximum long before.
  const ceiling = Math.min(schedule.maxMs, schedule.initialMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  return schedule.jitter === "none" ? ceiling : Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * While a restarting peer still refuses connections: 100, 200, 400, 800 ms, then every second, no
 * jitter (one caller retrying its own call within that call's deadline).
 */
export const REFUSED_CONNECTION_BACKOFF: BackoffSchedule = { initialMs: 100, maxMs: 1_000, jitter: "none" };
