import type { Logger } from "#kit/log/index.js";

/** At most one warning per this long: a misconfigured proxy chain would otherwise log every login. */
export const MISSING_ADDRESS_WARNING_INTERVAL_MS = 60_000;

/**
 * Warns, at most once a minute, that `what` arrive with no usable client address. Those share one
 * throttling bucket (throttle/login-throttle.ts, the registration and client-authentication
 * limits), so twenty wrong passwords from anyone would hold up everyone's logins: with
 * TRUSTED_PROXY_HOPS larger than the proxies that really append to X-Forwarded-For, that is every
 * request (docs/identity.md, "Throttling").
 */
export function createMissingAddressWarning(
  logger: Logger,
  trustedProxyHops: number,
  what = "login attempts",
  clock: () => number = () => performance.now(),
): () => void {
  let lastWarnedAt: number | undefined;
  let since = 0;
  return () => {
    since++;
    const now = clock();
    if (lastWarnedAt !== undefined && now - lastWarnedAt < MISSING_ADDRESS_WARNING_INTERVAL_MS) return;
    logger.warn(
      { trusted_proxy_hops: trustedProxyHops, requests: since },
      trustedProxyHops > 0
        ? `${what} without a usable client address share one throttling bucket: X-Forwarded-For has fewer entries than TRUSTED_PROXY_HOPS (set it to the number of proxies in front)`
        : `${what} without a usable client address share one throttling bucket: the connection's peer address is unknown`,
    );
    lastWarnedAt = now;
    since = 0;
  };
}
