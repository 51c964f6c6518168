/**
 * Counts events per key over a sliding time window, in memory (one process; shared-windows.ts
 * shares the events between identity replicas).
 *
 * Each key keeps at most `limit` timestamps: enough to tell whether the limit is reached and when
 * the oldest counted event leaves the window. The number of keys is capped too, evicting the
 * least recently touched, so a flood of distinct emails cannot grow memory without bound.
 */
export interface SlidingWindow {
  /** Whether `key` has `limit` events in the window; if so, ms until one expires. */
  blockedFor(key: string, now: number): number;
  /** Events of `key` in the window, at most `limit` (only that many are kept). */
  count(key: string, now: number): number;
  /** Ms until the oldest event of `key` leaves the window (the count falls by one); 0 when it has none. */
  oldestExpiresIn(key: string, now: number): number;
  record(key: string, now: number): void;
  clear(key: string): void;
}

export function createSlidingWindow(options: {
  windowMs: number;
  limit: number;
  maxKeys?: number;
}): SlidingWindow {
  const { windowMs, limit } = options;
  const maxKeys = options.maxKeys ?? 100_000;
  const events = new Map<string, number[]>();

  const live = (key: string, now: number): number[] | undefined => {
    const times = events.get(key);
    if (!times) return undefined;
    while (times.length > 0 && (times[0] ?? 0) <= now - windowMs) times.shift();
    if (times.length === 0) {
      events.delete(key);
      return undefined;
    }
    return times;
  };

  return {
    blockedFor(key, now) {
      const times = live(key, now);
      if (!times || times.length < limit) return 0;
      return (times[0] ?? now) + windowMs - now;
    },
    count(key, now) {
      return live(key, now)?.length ?? 0;
    },
    oldestExpiresIn(key, now) {
      const oldest = live(key, now)?.[0];
      return oldest === undefined ? 0 : oldest + windowMs - now;
    },
    record(key, now) {
      const times = live(key, now) ?? [];
      // In time order even when another replica's event arrives after a later one of ours.
      let at = times.length;
      while (at > 0 && (times[at - 1] ?? 0) > now) at--;
      times.splice(at, 0, now);
      if (times.length > limit) times.shift();
      // Re-insert to mark the key most recently used (Map keeps insertion order).
      events.delete(key);
      events.set(key, times);
      if (events.size > maxKeys) {
        const oldest = events.keys().next().value;
        if (oldest !== undefined) events.delete(oldest);
      }
    },
    clear(key) {
      events.delete(key);
    },
  };
}
