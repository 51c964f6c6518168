import { createSlidingWindow, type SlidingWindow } from "./sliding-window.js";

/** Makes the throttle's windows: in memory by default, shared by the replicas (shared-windows.ts). */
export type WindowFactory = (
  name: string,
  options: { windowMs: number; limit: number; maxKeys?: number },
) => SlidingWindow;

export const localWindows: WindowFactory = (_name, options) => createSlidingWindow(options);

export interface LoginThrottleOptions {
  readonly windowMs: number;
  /** Failures allowed per (email, address) pair; also where the per-email slow-down starts. */
  readonly maxFailuresPerEmail: number;
  readonly maxFailuresPerAddress: number;
  /** Slow-down of the first failure past the per-email threshold; doubles with each further one. */
  readonly emailDelayBaseMs?: number;
  /** The slow-down never exceeds this: a real user under attack waits, bounded, and gets in. */
  readonly emailDelayMaxMs?: number;
  readonly windows?: WindowFactory;
  /** Hears every attempt that came with no usable client address (they share one bucket). */
  readonly onMissingAddress?: () => void;
}

export const EMAIL_DELAY_BASE_MS = 250;
export const EMAIL_DELAY_MAX_MS = 2_000;

/**
 * Throttles password guessing without letting one party's failures lock another party out
 * (docs/identity.md, "Throttling"):
 * - per (email, address) pair and per address, failures past the limits are refused: they are
 *   keyed by the guesser's own address, so only the guesser (and whoever shares its address) is
 *   stopped;
 * - per email across addresses nothing is refused — a botnet spread over many addresses only
 *   makes every attempt on that email wait a bounded delay before the password is checked, the
 *   same delay for everyone, so the real user is slowed but always gets in with the right password.
 * Unknown emails count exactly like known ones, so throttling reveals nothing about which accounts
 * exist.
 */
export interface LoginThrottle {
  /** Seconds to wait before trying again from this address, or 0 when the attempt may proceed. */
  retryAfterSec(email: string, address: string | undefined): number;
  /**
   * Starts an attempt whose password is about to be hashed. While the failures counted plus the
   * attempts of this pair or address still being checked (in this process) would reach a limit, it
   * waits for one of those to end, then looks again: a burst of concurrent guesses costs at most as
   * many hashes at once as the limits allow, and once its failures fill a limit the rest are
   * refused unhashed — while a burst of right passwords (many people behind one address) only
   * queues. A counted failure leaving its window wakes it as an ending attempt does. Refused at once
   * when its failures already fill a limit; refused as `busy` when `MAX_WAITING` attempts of its
   * pair or address (or `MAX_WAITING_IN_ALL` in all) already wait, when it has waited `MAX_WAIT_MS`
   * in all (however often it was woken), or when `signal` aborts (its caller left). An admitted
   * attempt counts as under way until `end()`, called after its failure or success is recorded.
   */
  begin(email: string, address: string | undefined, signal?: AbortSignal): Promise<LoginAttempt>;
  /** How long to hold an attempt on `email` before checking it (same for every address). */
  delayMs(email: string): number;
  recordFailure(email: string, address: string | undefined): void;
  /** A successful login clears its (email, address) pair; not the address (it may be spraying) nor the email. */
  recordSuccess(email: string, address: string | undefined): void;
}

/**
 * `retryAfterSec` 0: admitted, and `end()` must follow; otherwise refused (`end()` does nothing),
 * `failures` when failures fill a limit, `busy` when too many attempts wait or it waited too long.
 */
export interface LoginAttempt {
  readonly retryAfterSec: number;
  readonly refusal?: "failures" | "busy";
  end(): void;
}

/** Attempts of one pair or address that may wait for a place at most; more are refused (1 s). */
export const MAX_WAITING = 256;
/** Attempts waiting in all (every address), at most: what a flood from many networks may hold. */
export const MAX_WAITING_IN_ALL = 4096;
/** How long an attempt waits for a place at most: then it is refused `busy` (1 s). */
export const MAX_WAIT_MS = 10_000;
const BUSY_RETRY_S = 1;

// Requests with no usable address (a misconfigured proxy chain) share one bucket: never unthrottled.
const NO_ADDRESS = "?";

export function createLoginThrottle(
  options: LoginThrottleOptions,
  clock: () => number = Date.now,
): LoginThrottle {
  const base = options.emailDelayBaseMs ?? EMAIL_DELAY_BASE_MS;
  const max = options.emailDelayMaxMs ?? EMAIL_DELAY_MAX_MS;
  // Enough events per email to reach the maximum delay; more would not change it.
  const doublings = Math.ceil(Math.log2(Math.max(1, max / base)));
  const windows = options.windows ?? localWindows;
  const byPair = windows("login_pair", { windowMs: options.windowMs, limit: options.maxFailuresPerEmail });
  const byAddress = windows("login_address", {
    windowMs: options.windowMs,
    limit: options.maxFailuresPerAddress,
  });
  const byEmail = windows("login_email", {
    windowMs: options.windowMs,
    limit: options.maxFailuresPerEmail + doublings + 1,
  });
  const pairKey = (email: string, address: string | undefined) => `${address ?? NO_ADDRESS}\n${email}`;
  const underWay = createUnderWay();
  const retryAfterSec = (email: string, address: string | undefined) => {
    const now = clock();
    const wait = Math.max(
      byPair.blockedFor(pairKey(email, address), now),
      byAddress.blockedFor(address ?? NO_ADDRESS, now),
    );
    return wait > 0 ? Math.ceil(wait / 1000) : 0;
  };
  return {
    retryAfterSec,
    async begin(email, address, signal) {
      if (address === undefined) options.onMissingAddress?.();
      const pair = pairKey(email, address);
      const addressKey = address ?? NO_ADDRESS;
      const keys = [`pair\n${pair}`, `address\n${addressKey}`] as const;
      // One bound for the whole attempt, however often it is woken and finds no place; on the
      // monotonic clock, which no step of the wall clock (NTP, a resumed VM) stretches.
      const deadline = performance.now() + MAX_WAIT_MS;
      for (;;) {
        const wait = retryAfterSec(email, address);
        if (wait > 0) return refused(wait);
        const now = clock();
        const pairFull = byPair.count(pair, now) + underWay.count(keys[0]) >= options.maxFailuresPerEmail;
        const addressFull =
          byAddress.count(addressKey, now) + underWay.count(keys[1]) >= options.maxFailuresPerAddress;
        if (!pairFull && !addressFull) return underWay.start(keys);
        const left = deadline - performance.now();
        if (left <= 0) return refused(BUSY_RETRY_S, "busy");
        // A counted failure leaving its window frees a place as an attempt ending does: the
        // attempt looks again then too, rather than leaving that place to whoever comes next.
        const expiries = [
          pairFull ? byPair.oldestExpiresIn(pair, now) : 0,
          addressFull ? byAddress.oldestExpiresIn(addressKey, now) : 0,
        ].filter((ms) => ms > 0);
        const lookAgainInMs = Math.min(left, ...expiries);
        if (!(await underWay.waitForEnd(keys, signal, lookAgainInMs))) return refused(BUSY_RETRY_S, "busy");
      }
    },
    delayMs(email) {
      const over = byEmail.count(email, clock()) - options.maxFailuresPerEmail;
      return over < 0 ? 0 : Math.min(max, base * 2 ** over);
    },
    recordFailure(email, address) {
      const now = clock();
      byPair.record(pairKey(email, address), now);
      byAddress.record(address ?? NO_ADDRESS, now);
      byEmail.record(email, now);
    },
    recordSuccess(email, address) {
      byPair.clear(pairKey(email, address));
    },
  };
}

function refused(retryAfterSec: number, refusal: "failures" | "busy" = "failures"): LoginAttempt {
  // Nothing under way to end.
  return { retryAfterSec, refusal, end: () => undefined };
}

/** Attempts being checked, per key, and those waiting for one of them to end; a key is kept only while used. */
function createUnderWay() {
  const counts = new Map<string, number>();
  const waiting = new Map<string, (() => void)[]>();
  let waiters = 0;
  const add = (key: string, delta: number) => {
    const n = (counts.get(key) ?? 0) + delta;
    if (n > 0) counts.set(key, n);
    else counts.delete(key);
  };
  const wakeAll = (key: string) => {
    const woken = waiting.get(key);
    waiting.delete(key);
    for (const wake of woken ?? []) wake();
  };
  return {
    count: (key: string) => counts.get(key) ?? 0,
    start(keys: readonly string[]): LoginAttempt {
      for (const key of keys) add(key, 1);
      let ended = false;
      return {
        retryAfterSec: 0,
        end() {
          if (ended) return;
          ended = true;
          for (const key of keys) add(key, -1);
          // Every waiter looks again: the one ended may have been a failure that now fills a limit.
          for (const key of keys) wakeAll(key);
        },
      };
    },
    /**
     * Resolves true once an attempt of one of `keys` ends or `lookAgainInMs` has passed; false at
     * once when too many wait, or when `signal` aborts.
     */
    waitForEnd(
      keys: readonly string[],
      signal: AbortSignal | undefined,
      lookAgainInMs: number,
    ): Promise<boolean> {
      const crowded = keys.some((key) => (waiting.get(key)?.length ?? 0) >= MAX_WAITING);
      if (crowded || waiters >= MAX_WAITING_IN_ALL || signal?.aborted) return Promise.resolve(false);
      return new Promise((resolve) => {
        let done = false;
        const finish = (ended: boolean) => {
          if (done) return;
          done = true;
          waiters--;
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          for (const key of keys) {
            const list = waiting.get(key)?.filter((w) => w !== wake);
            if (list?.length) waiting.set(key, list);
            else waiting.delete(key);
          }
          resolve(ended);
        };
        const wake = () => finish(true);
        const onAbort = () => finish(false);
        const timer = setTimeout(() => finish(true), lookAgainInMs);
        signal?.addEventListener("abort", onAbort, { once: true });
        waiters++;
        for (const key of keys) waiting.set(key, [...(waiting.get(key) ?? []), wake]);
      });
    },
  };
}
