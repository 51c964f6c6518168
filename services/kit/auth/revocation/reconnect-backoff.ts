export interface BackoffSettings {
  /** First delay after a failure (and after a clean end: the server draining). */
  readonly initialMs?: number;
  /** The delay never grows beyond this: reconnecting must stay well inside the staleness limit. */
  readonly maxMs?: number;
}

/**
 * Delay before reconnect attempt `attempt` (0-based): doubling from `initialMs` up to `maxMs`, with
 * "equal jitter" (half fixed, half random) so the verifiers of a restarted identity provider don't
 * all come back in the same millisecond, yet none waits much less than the schedule.
 */
export function reconnectDelayMs(
  attempt: number,
  settings: BackoffSettings = {},
  random = Math.random,
): number {
  const initial = settings.initialMs ?? 100;
  const max = settings.maxMs ?? 2_000;
  const ceiling = Math.min(max, initial * 2 ** Math.min(attempt, 20));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
