import type { Config } from "#kit/config/index.js";
import type { Database } from "#kit/db/index.js";
import type { Logger } from "#kit/log/index.js";
import { createLoginThrottle, type LoginThrottle } from "../throttle/login-throttle.js";
import { createMissingAddressWarning } from "../throttle/missing-address-warning.js";
import { createThrottleSharing, type ThrottleSharing } from "../throttle/shared-windows.js";

/**
 * The throttles' shared windows — every throttle counts the events of every identity replica
 * (docs/identity.md, "Throttling") — and the one login throttle for both doors: AuthService.Login
 * and the OAuth login page.
 */
export function createThrottles(
  db: Database,
  config: Config,
  logger: Logger,
): { readonly throttles: ThrottleSharing; readonly loginThrottle: LoginThrottle } {
  const throttles = createThrottleSharing({ db, logger });
  const loginThrottle = createLoginThrottle({
    windows: throttles.window,
    windowMs: config.LOGIN_THROTTLE_WINDOW * 1000,
    maxFailuresPerEmail: config.LOGIN_MAX_FAILURES_PER_EMAIL,
    maxFailuresPerAddress: config.LOGIN_MAX_FAILURES_PER_ADDRESS,
    onMissingAddress: createMissingAddressWarning(logger, config.TRUSTED_PROXY_HOPS),
  });
  return { throttles, loginThrottle };
}
