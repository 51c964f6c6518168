/**
 * Callers of `RevocationWatcher.ready`, each waiting until the feed turns live or its own timeout
 * passes, whichever comes first.
 */
export interface LiveWaiters {
  /** Resolves what `settleAll` says, or false after `timeoutMs`. */
  wait(timeoutMs: number): Promise<boolean>;
  /** Resolves every pending wait with `live` and forgets them. */
  settleAll(live: boolean): void;
}

export function createLiveWaiters(): LiveWaiters {
  const waiters = new Set<(live: boolean) => void>();
  return {
    wait(timeoutMs) {
      return new Promise<boolean>((resolve) => {
        const settle = (live: boolean) => {
          clearTimeout(timer);
          waiters.delete(settle);
          resolve(live);
        };
        const timer = setTimeout(() => settle(false), timeoutMs);
        timer.unref();
        waiters.add(settle);
      });
    },
    settleAll(live) {
      for (const settle of [...waiters]) settle(live);
      waiters.clear();
    },
  };
}
