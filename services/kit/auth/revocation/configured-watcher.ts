import { RevocationService } from "../../../../gen/supportext/auth/v1/revocation_pb.js";
import { createServiceClient } from "../../client/service-client.js";
import type { Config } from "../../config/config.js";
import type { Logger } from "../../log/logger.js";
import { type ServiceTelemetry, serviceTelemetry } from "../../telemetry/service-telemetry.js";
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
 * heartbeat and staleness bound. One per process. Its lag is measured in `telemetry`'s registry.
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
  telemetry: ServiceTelemetry = serviceTelemetry(credentials.clientId),
): RevocationWatcher {
  const client = createServiceClient(RevocationService, config.IDENTITY_URL, {
    credentials: { source: credentials, audience: SERVICE_IDS.identity },
  });
  const watcher = createRevocationWatcher({ client, logger, ...revocationWatcherSettings(config) });
  observeRevocationLag(watcher, telemetry);
  return watcher;
}

/**
 * Revocation lag at this hop (docs/architecture.md, "Telemetry"): from the revocation's time at the
 * identity service (`revoked_at_ms`, its clock) to this service hearing it, for revocations heard
 * live — a snapshot's are old news by construction. Clocks of different hosts may disagree: a
 * negative lag counts as 0.
 */
export function observeRevocationLag(
  watcher: Pick<RevocationWatcher, "onRevoked">,
  telemetry: Pick<ServiceTelemetry, "revocationLag">,
): void {
  watcher.onRevoked((event) => {
    if (event.fromSnapshot) return;
    telemetry.revocationLag.observe(Math.max(0, Date.now() - event.revokedAtMs) / 1000);
  });
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
