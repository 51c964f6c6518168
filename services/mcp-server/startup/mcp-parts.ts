import { createRemovedKeys, type RemovedKeys, SERVICE_IDS, type TokenVerifier } from "#kit/auth/index.js";
import type { Config } from "#kit/config/index.js";
import type { Database } from "#kit/db/index.js";
import type { Logger } from "#kit/log/index.js";
import type { ModelProvider } from "#kit/model/index.js";
import { type RevocationWatcher, revocationChecks } from "#kit/revocation/index.js";
import {
  configuredClientCredentials,
  createConfiguredKeySet,
  createConfiguredVerifier,
  createModelProvider,
  watchRevocations,
} from "#kit/service/index.js";
import type { ServiceTelemetry } from "#kit/telemetry/index.js";
import type { AuditWitnessAccess } from "../audit/audit-service.js";
import type { Checkpointer } from "../audit/witness/checkpointer.js";
import { configuredWitness } from "../audit/witness/configured-witness.js";
import { SessionRegistry } from "../session/session-registry.js";
import { ticketTriageSkill } from "../triage/ticket-triage-skill.js";
import { createAuditCheckpoints } from "./audit-checkpoints.js";
import { createToolRunning, type ToolRunning } from "./tool-running.js";

/** What tests put in place of the configured parts (services/mcp-server/server.ts). */
export interface McpPartsOverrides {
  readonly verifier?: TokenVerifier;
  readonly apiVerifier?: TokenVerifier;
  readonly revocations?: RevocationWatcher;
  /** The removed keys `revocations` fills (a test's own watcher). */
  readonly removedKeys?: RemovedKeys;
  readonly model?: ModelProvider;
  readonly witness?: AuditWitnessAccess;
}

/** Everything the server is made of that does not depend on the port it binds. */
export interface McpParts extends ToolRunning {
  readonly database: Database;
  readonly telemetry: ServiceTelemetry;
  /** One key set for every verifier: one JWKS cache and one refetch budget for the process. */
  readonly keys: ReturnType<typeof createConfiguredKeySet>;
  /** Users' own login tokens (audience API_AUDIENCE): the audit trail's second door, never /mcp. */
  readonly apiVerifier: TokenVerifier;
  readonly revocations: RevocationWatcher;
  readonly revocation: ReturnType<typeof revocationChecks>;
  readonly model: ModelProvider;
  readonly sessions: SessionRegistry;
  readonly witness: AuditWitnessAccess;
  readonly checkpointer: Checkpointer;
}

export function createMcpParts(
  config: Config,
  logger: Logger,
  database: Database,
  telemetry: ServiceTelemetry,
  overrides: McpPartsOverrides,
): McpParts {
  // The embedded model, when no general one is configured, knows the one task this server gives it.
  const model = overrides.model ?? createModelProvider(config, [ticketTriageSkill]);
  const sessions = new SessionRegistry({
    idleMs: config.MCP_SESSION_IDLE * 1000,
    max: config.MCP_MAX_SESSIONS,
    logger,
  });
  // A signing key removed from the issuer: its tokens are refused here (`keys`), and this server's
  // own credentials (the feed's, the witness's) fetch new ones instead of sending them, and a
  // countersignature of the witness by it is refused.
  const removedKeys = overrides.removedKeys ?? createRemovedKeys();
  const keys = createConfiguredKeySet(config, removedKeys);
  const witness = overrides.witness ?? configuredWitness(config, { removedKeys, keys });
  const checkpointer = createAuditCheckpoints(config, logger, database, witness.client);
  // Logout, refresh-token reuse or an administrator ends a session: its MCP tokens (same `sid`)
  // and login tokens are refused here within a second; past the staleness bound, all are (fail closed).
  const revocations =
    overrides.revocations ??
    watchRevocations(
      config,
      configuredClientCredentials(config, SERVICE_IDS.mcpServer, { removedKeys }),
      logger,
      removedKeys,
      telemetry,
    );
  // A revoked login's MCP sessions are closed at once: their event streams end with it.
  revocations.onRevoked((event) => sessions.closeLoginSession(event.sessionId));
  return {
    ...createToolRunning({ database, logger, model, telemetry, sessions, checkpointer }),
    database,
    telemetry,
    keys,
    apiVerifier: overrides.apiVerifier ?? createConfiguredVerifier(config, keys),
    revocations,
    revocation: revocationChecks(revocations),
    model,
    sessions,
    witness,
    checkpointer,
  };
}
