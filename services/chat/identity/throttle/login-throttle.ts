import { createSlidingWindow } from "./sliding-window.js";

export interface LoginThrottleOptions {
  readonly windowMs: number;
  readonly maxFailuresPerEmail: number;
  readonly maxFailuresPerAddress: number;
}

/**
 * Throttles password guessing: too many failed logins for one email (guessing one account) or
 * from one client address (spraying many accounts) within the window block further attempts
 * until old failures leave the window. Unknown emails count exactly like known ones, so being
 * throttled reveals nothing about which accounts exist.
 */
export interface LoginThrottle {
  /** Seconds to wait before trying again, or 0 when the attempt may proceed. */
  retryAfterSec(email: string, address: string | undefined): number;
  recordFailure(email: string, address: string | undefined): void;
  /** A successful login clears the email's failures (not the address's: it may be spraying). */
  recordSuccess(email: string): void;
}

export function createLoginThrottle(
  options: LoginThrottleOptions,
  clock: () => number = Date.now,
): LoginThrottle {
  const byEmail = createSlidingWindow({ windowMs: options.windowMs, limit: options.maxFailuresPerEmail });
  const byAddress = createSlidingWindow({ windowMs: options.windowMs, limit: options.maxFailuresPerAddress });
  return {
    retryAfterSec(email, address) {
      const now = clock();
      const wait = Math.max(byEmail.blockedFor(email, now), address ? byAddress.blockedFor(address, now) : 0);
      return wait > 0 ? Math.ceil(wait / 1000) : 0;
    },
    recordFailure(email, address) {
      const now = clock();
      byEmail.record(email, now);
      if (address) byAddress.record(address, now);
    },
    recordSuccess(email) {
      byEmail.clear(email);
    },
  };
}
