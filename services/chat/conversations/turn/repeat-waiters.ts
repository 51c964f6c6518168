import { OPEN_TURNS_RETRY_S, UserLimitReached } from "../user-limits.js";

/** How often a repeat looks again at a turn another live process is still running. */
export const REPEAT_POLL_MS = 250;

/**
 * The repeats each user has waiting in this process for a turn another run holds (docs/chat.md,
 * "Limits per user"). A waiting repeat holds its call open and reads the turn every REPEAT_POLL_MS,
 * so without a bound one user's copies of one message could keep the database busy for everyone;
 * a client retrying its running turns after a lost connection needs at most one per turn running,
 * so the bound is the turns a user may run at once. 0: no bound.
 */
export class RepeatWaiters {
  private readonly waiting = new Map<string, number>();

  constructor(private readonly maxPerUser: number) {}

  /** How many of `userId`'s repeats wait in this process now. */
  waitingOf(userId: string): number {
    return this.waiting.get(userId) ?? 0;
  }

  /** Takes a place for one of `userId`'s repeats; the function given back gives it up (once). */
  enter(userId: string): () => void {
    const now = this.waiting.get(userId) ?? 0;
    if (this.maxPerUser > 0 && now >= this.maxPerUser) {
      throw new UserLimitReached({
        limit: "waiting_repeats",
        allowed: this.maxPerUser,
        retryAfterSec: OPEN_TURNS_RETRY_S,
      });
    }
    this.waiting.set(userId, now + 1);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const after = (this.waiting.get(userId) ?? 1) - 1;
      if (after > 0) this.waiting.set(userId, after);
      else this.waiting.delete(userId);
    };
  }
}

/** Waits REPEAT_POLL_MS before a repeat looks at its turn again (no wait once the caller is gone). */
export function pauseBeforeLookingAgain(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, REPEAT_POLL_MS);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
