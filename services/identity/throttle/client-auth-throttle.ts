import type { SlidingWindow } from "./sliding-window.js";

export interface ClientAuthThrottleOptions {
  /** Failed client authentications per client address in the window. */
  readonly failures: SlidingWindow;
  /** How long a failure past the limit is held before it is answered. */
  readonly holdMs?: number;
  /** At most this many held answers per address, and in all; beyond, failures are answered at once. */
  readonly maxHeldPerAddress?: number;
  readonly maxHeld?: number;
}

export const CLIENT_FAILURE_HOLD_MS = 1_000;

/** How to answer a failed client authentication: 401, or 429 with Retry-After past the limit. */
export type ClientFailureAnswer =
  | { readonly throttled: false }
  | { readonly throttled: true; readonly retryAfterSec: number };

/**
 * Throttles failed client authentications at the token endpoint without ever refusing the right
 * secret (docs/identity.md, "Throttling of client authentication"). The secret is always compared; a correct one is
 * served whatever its address has done, because the real gateway shares its address (loopback, a
 * sidecar proxy) with anything else on its host. Past the per-address limit, a *failure* is held
 * `holdMs` and answered 429 with Retry-After: a sequential guesser gets one guess per hold, a
 * well-behaved client backs off. The holds are capped so a flood cannot make us keep sockets and
 * timers without bound.
 *
 * What this cannot do is bound a guesser that sends in parallel: a right guess is answered at once
 * by design, so its rate is the endpoint's throughput. The guessing bound is the secret's entropy
 * (generated secrets, development defaults refused in production); the numbers are in
 * docs/identity.md.
 */
export interface ClientAuthThrottle {
  /** Records a failure from `address`; resolves when it may be answered (after the hold), saying how. */
  failed(address: string | undefined): Promise<ClientFailureAnswer>;
}

// Failures with no usable address share one bucket rather than escape counting.
const NO_ADDRESS = "?";

export function createClientAuthThrottle(
  options: ClientAuthThrottleOptions,
  clock: () => number = Date.now,
): ClientAuthThrottle {
  const holdMs = options.holdMs ?? CLIENT_FAILURE_HOLD_MS;
  const maxPerAddress = options.maxHeldPerAddress ?? 16;
  const maxHeld = options.maxHeld ?? 1_000;
  const held = new Map<string, number>();
  let heldTotal = 0;
  return {
    async failed(address) {
      const key = address ?? NO_ADDRESS;
      const now = clock();
      // Judged before this failure counts: the limit-th failure is still answered plainly.
      const blockedMs = options.failures.blockedFor(key, now);
      options.failures.record(key, now);
      if (blockedMs <= 0) return { throttled: false };
      const answer = { throttled: true, retryAfterSec: Math.max(1, Math.ceil(blockedMs / 1000)) } as const;
      const mine = held.get(key) ?? 0;
      if (holdMs <= 0 || mine >= maxPerAddress || heldTotal >= maxHeld) return answer;
      held.set(key, mine + 1);
      heldTotal++;
      try {
        await new Promise((resolve) => setTimeout(resolve, holdMs));
      } finally {
        heldTotal--;
        const left = (held.get(key) ?? 1) - 1;
        if (left <= 0) held.delete(key);
        else held.set(key, left);
      }
      return answer;
    },
  };
}
