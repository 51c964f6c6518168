// The module's public face: what the rest of the product uses of it (docs/architecture.md, "The kit").
/**
 * The subscriber side of the identity provider's revocation feed (docs/architecture.md,
 * "Revocation"): every verifier behind the edge keeps one of these. Subscribing from the product's
 * configuration, and reporting the feed as a health dependency, is the service wiring's (`kit/service/`).
 */

export { type FeedState, type FeedStatus, LIVE_HEARTBEATS } from "./feed-state.js";
export { createListenerSet, type ListenerSet } from "./listener-set.js";
export type { BackoffSettings } from "./reconnect-backoff.js";
export { revocationChecks } from "./revocation-checks.js";
export {
  createRevocationWatcher,
  type RevocationWatcher,
  type RevocationWatcherOptions,
  type RevokedSessionEvent,
} from "./revocation-watcher.js";
