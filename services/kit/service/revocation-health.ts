import type { RevocationWatcher } from "../revocation/revocation-watcher.js";
import type { Dependency } from "../server/dependency.js";
import type { HealthService } from "../server/health.js";

/** The health dependency the revocation feed reports under. */
export const REVOCATION_FEED_DEPENDENCY = "revocation-feed";

type Watched = Pick<RevocationWatcher, "state" | "onStateChange">;

/**
 * Whether the watcher's service may serve: not while the watcher is `failed` (it refuses user tokens
 * then, so load balancers should send users elsewhere). A stale feed still serves.
 */
const feedServes = (watcher: Watched) => watcher.state().status !== "failed";

/**
 * Makes the owning service's `grpc.health.v1` status NOT_SERVING while the watcher is `failed`,
 * SERVING again once the feed is back. Returns an unsubscribe.
 */
export function reportRevocationHealth(
  watcher: Watched,
  health: Pick<HealthService, "setDependency">,
): () => void {
  const apply = () => health.setDependency(REVOCATION_FEED_DEPENDENCY, feedServes(watcher));
  apply();
  return watcher.onStateChange(apply);
}

/** The feed as a server dependency (`startServiceServer`'s `dependencies`, `/readyz`'s `revocation-feed`). */
export function revocationFeedDependency(watcher: Watched): Dependency {
  return {
    name: REVOCATION_FEED_DEPENDENCY,
    async follow(report) {
      report(feedServes(watcher));
      return watcher.onStateChange(() => report(feedServes(watcher)));
    },
  };
}
