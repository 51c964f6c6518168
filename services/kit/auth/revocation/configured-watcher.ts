import { RevocationService } from "../../../../gen/supportext/auth/v1/revocation_pb.js";
import { createServiceClient } from "../../client/service-client.js";
import type { Config } from "../../config/config.js";
import type { Logger } from "../../log/logger.js";
import type { BearerAuthOptions } from "../bearer-auth.js";
import { SERVICE_IDS, type ServiceCredentials } from "../service-identity.js";
import {
  createRevocationWatcher,
  type RevocationWatcher,
  revocationWatcherSettings,
} from "./revocation-watcher.js";

/**
 * A service's subscription to the identity provider's revocation feed, from configuration: the
 * Watch stream at IDENTITY_URL with this service's own credential (audience `identity`), the configured
 * heartbeat and staleness bound. One per process.
 */
export function watchRevocations(
  config: Pick<
    Config,
    | "IDENTITY_URL"
    | "REVOCATION_HEARTBEAT"
    | "REVOCATION_STALENESS_LIMIT"
    | "ACCESS_TOKEN_TTL"
    | "CLOCK_TOLERANCE"
  >,
  credentials: ServiceCredentials,
  logger: Logger,
): RevocationWatcher {
  const client = createServiceClient(RevocationService, config.IDENTITY_URL, {
    credentials: { source: credentials, audience: SERVICE_IDS.identity },
  });
  return createRevocationWatcher({ client, logger, ...revocationWatcherSettings(config) });
}

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

/**
 * Waits, before a service takes traffic, for the feed's first snapshot: until then the watcher
 * cannot know which sessions ended, so it refuses every user token — a restarted verifier would
 * answer its first calls `unavailable`. Bounded by the staleness limit; past it the service starts
 * anyway, failing closed and NOT_SERVING in health, and turns live when the feed answers.
 */
export async function awaitFirstSnapshot(
  watcher: RevocationWatcher,
  config: Pick<Config, "REVOCATION_STALENESS_LIMIT">,
  logger: Logger,
): Promise<void> {
  if (await watcher.ready(config.REVOCATION_STALENESS_LIMIT * 1000)) return;
  logger.error(
    { waited_s: config.REVOCATION_STALENESS_LIMIT },
    "no revocation feed yet: starting anyway, refusing user tokens until it answers",
  );
}
