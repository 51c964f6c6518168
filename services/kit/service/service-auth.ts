import { createRemovedKeys, type RemovedKeys } from "../auth/removed-keys.js";
import type { ServiceCredentials } from "../auth/service-identity.js";
import type { Config } from "../config/config.js";
import type { Logger } from "../log/logger.js";
import type { CallerRules } from "../propagation/caller-policy.js";
import type { AuthInterceptorOptions } from "../propagation/server-interceptors.js";
import { revocationChecks } from "../revocation/revocation-checks.js";
import type { RevocationWatcher } from "../revocation/revocation-watcher.js";
import type { Dependency } from "../server/dependency.js";
import { serviceTelemetry } from "../telemetry/service-telemetry.js";
import { configuredClientCredentials } from "./configured-credentials.js";
import {
  createConfiguredKeySet,
  createConfiguredServiceVerifier,
  createConfiguredVerifier,
} from "./configured-verifier.js";
import { awaitFirstSnapshot, watchRevocations } from "./revocation-feed.js";
import { revocationFeedDependency } from "./revocation-health.js";

/**
 * Everything a Connect service behind the edge needs to authenticate (docs/architecture.md, "The
 * delegation chain"), wired once: its own client credentials, its subscription to the revocation
 * feed (whose first snapshot is awaited before the service takes traffic), and one set of trusted
 * keys — the JWKS less the feed's removed keys — for its two verifiers (user tokens, and service
 * tokens addressed to it).
 */
export interface ServiceAuth {
  /** This service's own credentials, for its outgoing calls and the feed. */
  readonly credentials: ServiceCredentials;
  /** The signing keys the issuer removed: what else holds tokens here checks them too (the gateway's exchanged tokens). */
  readonly removedKeys: RemovedKeys;
  readonly revocations: RevocationWatcher;
  /** `startServiceServer`'s `auth` for a service admitting `rules`' callers. */
  serverAuth(rules: CallerRules): Omit<AuthInterceptorOptions, "logger">;
  /** The feed as a server dependency: health NOT_SERVING, `/readyz` 503, while it has failed. */
  readonly feed: Dependency;
  close(): Promise<void>;
}

export async function startServiceAuth(
  config: Config,
  service: "chat" | "agent" | "mcp-gateway",
  logger: Logger,
): Promise<ServiceAuth> {
  // A signing key removed from the issuer: its tokens refused here, and no longer sent from here.
  const removedKeys = createRemovedKeys();
  const credentials = configuredClientCredentials(config, service, { removedKeys });
  // Logout, refresh-token reuse or an administrator ends a session: refused here within a second.
  const revocations = watchRevocations(config, credentials, logger, removedKeys, serviceTelemetry(service));
  const keys = createConfiguredKeySet(config, removedKeys);
  const verifier = createConfiguredVerifier(config, keys);
  const serviceVerifier = createConfiguredServiceVerifier(config, keys, service);
  await awaitFirstSnapshot(revocations, config, logger);
  return {
    credentials,
    removedKeys,
    revocations,
    serverAuth: (rules) => ({
      verifier,
      devAnonymous: config.AUTH_DEV_ANONYMOUS,
      callers: { verifier: serviceVerifier, rules },
      ...revocationChecks(revocations),
    }),
    feed: revocationFeedDependency(revocations),
    close: () => revocations.close(),
  };
}
