import { RevocationService } from "#gen/supportext/auth/v1/revocation_pb.js";
import type { RemovedKeys } from "../auth/removed-keys.js";
import { SERVICE_IDS, type ServiceCredentials } from "../auth/service-identity.js";
import { createServiceClient } from "../client/service-client.js";
import type { Config } from "../config/config.js";
import type { Logger } from "../log/logger.js";
import {
  createRevocationWatcher,
  type RevocationWatcher,
  type RevocationWatcherOptions,
} from "../revocation/revocation-watcher.js";
import { type ServiceTelemetry, serviceTelemetry } from "../telemetry/service-telemetry.js";

/** The watcher's durations from the product configuration (whole seconds there, ms here). */
export function revocationWatcherSettings(
  config: Pick<
    Config,
    "REVOCATION_HEARTBEAT" | "REVOCATION_STALENESS_LIMIT" | "ACCESS_TOKEN_TTL" | "CLOCK_TOLERANCE"
  >,
): Pick<RevocationWatcherOptions, "heartbeatMs" | "stalenessLimitMs" | "retentionMs"> {
  return {
    heartbeatMs: config.REVOCATION_HEARTBEAT * 1000,
    stalenessLimitMs: config.REVOCATION_STALENESS_LIMIT * 1000,
    // A revoked session's user tokens live ACCESS_TOKEN_TTL at most; the MCP tokens exchanged from
    // them carry the same `sid` and live MCP_TOKEN_TTL ≤ that. Plus the verifiers' clock tolerance.
    retentionMs: (config.ACCESS_TOKEN_TTL + config.CLOCK_TOLERANCE) * 1000,
  };
}

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
  removedKeys: RemovedKeys,
  telemetry: ServiceTelemetry = serviceTelemetry(credentials.clientId),
): RevocationWatcher {
  const client = createServiceClient(RevocationService, config.IDENTITY_URL, {
    credentials: { source: credentials, audience: SERVICE_IDS.identity },
  });
  const watcher = createRevocationWatcher({
    client,
    logger,
    removedKeys,
    ...revocationWatcherSettings(config),
  });
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
