import type { HealthService } from "../../server/health.js";
import type { RevocationWatcher } from "./revocation-watcher.js";

/** The health dependency the revocation feed reports under. */
export const REVOCATION_FEED_DEPENDENCY = "revocation-feed";

/**
 * Makes the owning service's `grpc.health.v1` status NOT_SERVING while the watcher is `failed`
 * (it refuses user tokens then, so load balancers should send users elsewhere), SERVING again
 * once the feed is back. A stale feed still serves, so it stays SERVING. Returns an unsubscribe.
 */
export function reportRevocationHealth(
  watcher: Pick<RevocationWatcher, "state" | "onStateChange">,
  health: Pick<HealthService, "setDependency">,
): () => void {
  const apply = () => health.setDependency(REVOCATION_FEED_DEPENDENCY, watcher.state().status !== "failed");
  apply();
  return watcher.onStateChange(apply);
}
