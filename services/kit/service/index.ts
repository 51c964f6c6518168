// The module's public face: what the rest of the product uses of it (docs/architecture.md, "The kit").

export {
  type CallingService,
  configuredClientCredentials,
  configuredClientSecret,
} from "./configured-credentials.js";
export {
  createConfiguredKeySet,
  createConfiguredServiceVerifier,
  createConfiguredVerifier,
  type TrustedKeys,
} from "./configured-verifier.js";
export { createModelProvider } from "./create-model-provider.js";
export { databaseDependency } from "./database-dependency.js";
export { openServiceDatabase } from "./open-service-database.js";
export {
  awaitFirstSnapshot,
  observeRevocationLag,
  revocationWatcherSettings,
  watchRevocations,
} from "./revocation-feed.js";
export {
  REVOCATION_FEED_DEPENDENCY,
  reportRevocationHealth,
  revocationFeedDependency,
} from "./revocation-health.js";
export { type ServiceAuth, startServiceAuth } from "./service-auth.js";
