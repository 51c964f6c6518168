/**
 * The subscriber side of the identity provider's revocation feed (docs/architecture.md,
 * "Revocation"): every verifier behind the edge keeps one of these.
 */

export {
  awaitFirstSnapshot,
  revocationChecks,
  watchRevocations,
} from "./configured-watcher.js";
export { type FeedState, type FeedStatus, LIVE_HEARTBEATS } from "./feed-state.js";
export type { BackoffSettings } from "./reconnect-backoff.js";
export {
  REVOCATION_FEED_DEPENDENCY,
  reportRevocationHealth,
  revocationFeedDependency,
} from "./revocation-health.js";
export {
  createRevocationWatcher,
  type RevocationWatcher,
  type RevocationWatcherOptions,
  type RevokedSessionEvent,
  revocationWatcherSettings,
} from "./revocation-watcher.js";
