import type { BearerAuthOptions } from "../auth/bearer-auth.js";
import type { RevocationWatcher } from "./revocation-watcher.js";

/**
 * What the bearer-auth core needs from a watcher: refuse a revoked `sid` (user and MCP tokens
 * alike), and refuse every user token while the feed is down beyond its bound (fail closed).
 */
export function revocationChecks(
  watcher: RevocationWatcher,
): Pick<BearerAuthOptions, "isRevoked" | "assertRevocationKnown"> {
  return {
    isRevoked: (principal) => !principal.anonymous && watcher.isRevoked(principal.sessionId),
    assertRevocationKnown: () => watcher.assertServing(),
  };
}
