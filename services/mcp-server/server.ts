import * as http from "node:http";
import type { AddressInfo } from "node:net";
import {
  awaitFirstSnapshot,
  configuredClientCredentials,
  createConfiguredKeySet,
  createConfiguredVerifier,
  DEV_ANONYMOUS_PRINCIPAL,
  protectedResourceMetadata,
  protectedResourceMetadataPaths,
  protectedResourceMetadataUrl,
  type RevocationWatcher,
  revocationChecks,
  revocationFeedDependency,
  SCOPES,
  SERVICE_IDS,
  type TokenVerifier,
  watchRevocations,
} from "../kit/auth/index.js";
import type { Config } from "../kit/config/index.js";
import type { Database } from "../kit/db/index.js";
import { databaseDependency } from "../kit/db/index.js";
import type { Logger } from "../kit/log/index.js";
import type { ModelProvider } from "../kit/model/index.js";
import { createModelProvider } from "../kit/model/index.js";
import { answerHealthRoute, createHealth, followDependencies } from "../kit/server/index.js";
import { startTelemetry } from "../kit/telemetry/index.js";
import { createAuditRecorder } from "./audit/audit-recorder.js";
import type { AuditWitnessAccess } from "./audit/audit-service.js";
import { checkpointKeyPath, loadOrCreateCheckpointKey } from "./audit/witness/checkpoint-key.js";
import { createCheckpointer } from "./audit/witness/checkpointer.js";
import { configuredWitness } from "./audit/witness/configured-witness.js";
import { createAuthenticator } from "./auth/authenticate.js";
import { eitherAudience } from "./auth/either-verifier.js";
import { readAuditHeadOrUndefined } from "./data/audit-head.js";
import { openMcpDatabase } from "./data/open-database.js";
import { seedSampleTickets, wantsSampleTickets } from "./data/seed-sample-tickets.js";
import { createSeenUserRecorder } from "./data/seen-users.js";
import { createAuditEndpoint } from "./http/audit-endpoint.js";
import { AUDIT_RPC_PREFIX, createAuditRpcHandler } from "./http/audit-rpc.js";
import { createHostOriginGuard, defaultAllowLists } from "./http/host-origin-guard.js";
import { createMcpEndpoint } from "./http/mcp-endpoint.js";
import { createRequestHandler } from "./http/request-handler.js";
import { createConfirmationCodec } from "./mcp/confirmation.js";
import { createProtocolServer } from "./mcp/protocol-server.js";
import { createToolCatalog } from "./mcp/tool-catalog.js";
import { createToolRunner } from "./mcp/tool-runner.js";
import { SessionRegistry } from "./session/session-registry.js";
import { collectVersions } from "./system/versions.js";
import { registerMcpServerMetrics, withAuditTelemetry, withToolSpans } from "./telemetry.js";
import { ALL_TOOLS } from "./tools/all-tools.js";
import { ticketTriageSkill } from "./triage/ticket-triage-skill.js";

export interface McpServerOverrides {
  /** An already open database (tests keep a handle to inspect rows); not closed by `close()`. */
  readonly database?: Database;
  /** PostgreSQL schema to use when the server opens the database itself (tests isolate runs). */
  readonly databaseSchema?: string;
  /** Verifies MCP tokens (audience: this server). */
  readonly verifier?: TokenVerifier;
  /** Verifies users' own access tokens (audience API_AUDIENCE): the audit trail's second door. */
  readonly apiVerifier?: TokenVerifier;
  /** The revocation watcher (default: subscribed to the feed at IDENTITY_URL with MCP_CLIENT_SECRET). */
  readonly revocations?: RevocationWatcher;
  readonly model?: ModelProvider;
  /** The audit witness (default: the identity service at IDENTITY_URL, with MCP_CLIENT_SECRET). */
  readonly witness?: AuditWitnessAccess;
}

export interface RunningMcpServer {
  /** Base URL, e.g. http://127.0.0.1:8083 */
  readonly url: string;
  /** This server's resource URI: the audience its tokens must carry. */
  readonly resource: string;
  readonly port: number;
  readonly activeSessions: () => number;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;
/** What `/readyz` names while the placeholder listener answers (the server is still starting). */
const STARTING = "starting";
export const AUDIT_PATH = "/admin/audit";

/**
 * Starts the MCP server (docs/mcp-server.md) on `config.HOST:config.MCP_PORT`. With port 0 (tests) the
 * resource URI takes the port actually bound, so tokens can be minted for it.
 */
export async function startMcpServer(
  config: Config,
  logger: Logger,
  overrides: McpServerOverrides = {},
): Promise<RunningMcpServer> {
  const telemetry = startTelemetry(SERVICE_IDS.mcpServer, config);
  // On PGlite, opening takes DATA_DIR/mcp-server.lock (one process per embedded database) until
  // the database is closed; `npm run audit` refuses while it is held.
  const database =
    overrides.database ??
    (await openMcpDatabase(config, {
      logger,
      ...(overrides.databaseSchema ? { schema: overrides.databaseSchema } : {}),
    }));
  if (wantsSampleTickets(config)) {
    // Development only: a fresh stack answers "show me open tickets" with something (docs/mcp-server.md,
    // "Sample tickets"). Sample data never stops the server from starting.
    await seedSampleTickets(database).then(
      (n) => n > 0 && logger.info({ tickets: n }, "sample tickets seeded (NODE_ENV=development)"),
      (err: unknown) => logger.warn({ err }, "sample tickets not seeded"),
    );
  }

  // The kit's health registry, as every service's port has (docs/architecture.md, "Health for
  // orchestrators"): no gRPC here (HTTP/1.1 only), so it backs `/healthz` and `/readyz` alone.
  const health = createHealth();
  health.setDependency(STARTING, false);
  let listener: http.RequestListener = (req, res) => {
    if (answerHealthRoute(health, req, res)) return;
    res.writeHead(503, { "retry-after": "1" }).end();
  };
  const httpServer = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => listener(req, res));
  try {
    await new Promise<void>((resolve, reject) => {
      httpServer.once("error", reject);
      httpServer.listen(config.MCP_PORT, config.HOST, () => {
        httpServer.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    // Port taken, say: give back what we opened, or a retry in this process finds it still held.
    if (!overrides.database) await database.close();
    throw err;
  }
  const port = (httpServer.address() as AddressInfo).port;
  const resourceUri = config.MCP_RESOURCE.replace(/:0(?=\/|$)/, `:${port}`);
  const resource = new URL(resourceUri);
  const resourceMetadataUrl = protectedResourceMetadataUrl(resource);

  // Audience = this server (RFC 8707); the API audience too only in passthrough compatibility mode.
  const audience = config.MCP_PASSTHROUGH_AUDIENCE ? [resourceUri, config.API_AUDIENCE] : resourceUri;
  // One key set for both verifiers: one JWKS cache and one refetch budget for the process.
  const keys = createConfiguredKeySet(config);
  const verifier = overrides.verifier ?? createConfiguredVerifier(config, audience, keys);
  // An administrator's own login token (audience API_AUDIENCE) opens the audit trail only, never /mcp.
  const apiVerifier = overrides.apiVerifier ?? createConfiguredVerifier(config, config.API_AUDIENCE, keys);
  // The embedded model, when no general one is configured, knows the one task this server gives it.
  const model = overrides.model ?? createModelProvider(config, [ticketTriageSkill]);
  const versions = collectVersions();
  const startedAt = new Date();

  const sessions = new SessionRegistry({
    idleMs: config.MCP_SESSION_IDLE * 1000,
    max: config.MCP_MAX_SESSIONS,
    logger,
  });
  // Signed checkpoints of the audit chain's head, kept by the identity service (docs/mcp-server.md,
  // "Witnessed checkpoints"); the key is a file, outside the database it vouches for.
  const witness = overrides.witness ?? configuredWitness(config);
  const checkpointKey = loadOrCreateCheckpointKey(checkpointKeyPath(config));
  if (checkpointKey.created) {
    logger.info({ file: checkpointKeyPath(config) }, "generated the audit checkpoint key");
  }
  const checkpointer = createCheckpointer({
    db: database,
    witness: witness.client,
    signer: checkpointKey,
    logger,
    everyRows: config.AUDIT_CHECKPOINT_ROWS,
    everyMs: config.AUDIT_CHECKPOINT_INTERVAL * 1000,
  });
  const catalog = createToolCatalog(ALL_TOOLS);
  // Spans of each audit write and tool run, tool calls counted per audit row (docs/architecture.md, "Telemetry").
  const knownTools = { has: (name: string) => catalog.get(name) !== undefined };
  registerMcpServerMetrics(telemetry, () => sessions.size);
  const audit = withAuditTelemetry(
    createAuditRecorder(database, logger, () => checkpointer.appended()),
    telemetry,
    knownTools,
  );
  const runTool = withToolSpans(
    createToolRunner({
      catalog,
      db: database,
      audit,
      model,
      logger,
      system: { startedAt, versions, activeSessions: () => sessions.size },
    }),
    knownTools,
  );
  // Logout, refresh-token reuse or an administrator ends a session: its MCP tokens (same `sid`)
  // and login tokens are refused here within a second; past the staleness bound, all are (fail closed).
  const revocations =
    overrides.revocations ??
    watchRevocations(config, configuredClientCredentials(config, SERVICE_IDS.mcpServer), logger, telemetry);
  const revocation = revocationChecks(revocations);
  const authenticate = createAuthenticator({
    verifier,
    logger,
    devAnonymous: config.AUTH_DEV_ANONYMOUS,
    ...revocation,
  });
  const allow = defaultAllowLists(
    resource,
    { host: config.HOST, port },
    {
      hosts: config.MCP_ALLOWED_HOSTS,
      origins: config.MCP_ALLOWED_ORIGINS,
    },
  );

  // Until then the placeholder listener answers 503 + Retry-After: 1, as while starting.
  await awaitFirstSnapshot(revocations, config, logger);
  // The table against the witness before serving: a broken chain is logged as an error and stops
  // the checkpoints; it is never re-sealed.
  await checkpointer.start();
  const stopFollowing = await followDependencies(
    health,
    [databaseDependency(database), revocationFeedDependency(revocations)],
    logger,
  );
  const confirmations = await createConfirmationCodec(database);
  const handleMcp = createMcpEndpoint({
    authenticate,
    recordUser: createSeenUserRecorder(database, logger),
    sessions,
    catalog,
    createServer: () =>
      createProtocolServer({ catalog, runTool, version: versions.service ?? "0.0.0", logger, confirmations }),
    audit,
    logger,
    resource,
    resourceMetadataUrl,
    maxBodyBytes: MAX_BODY_BYTES,
    telemetry,
  });
  listener = createRequestHandler({
    logger,
    guard: createHostOriginGuard(allow.hosts, allow.origins),
    mcpPaths: new Set(["/mcp", "/mcp/", resource.pathname]),
    handleMcp,
    metadataPaths: protectedResourceMetadataPaths(resource),
    metadata: protectedResourceMetadata({
      resource: resourceUri,
      issuer: config.AUTH_ISSUER,
      scopes: SCOPES,
    }),
    auditPath: AUDIT_PATH,
    handleAudit: createAuditEndpoint({
      authenticate: createAuthenticator({
        verifier: eitherAudience(verifier, apiVerifier),
        logger,
        devAnonymous: config.AUTH_DEV_ANONYMOUS,
        ...revocation,
      }),
      db: database,
      logger,
      resourceMetadataUrl,
    }),
    rpcPrefix: AUDIT_RPC_PREFIX,
    handleRpc: createAuditRpcHandler({
      db: database,
      witness,
      logger,
      auth: { verifier: apiVerifier, ...revocation },
    }),
    health,
    telemetry,
  });
  health.setDependency(STARTING, true);

  const host = config.HOST === "0.0.0.0" || config.HOST === "::" ? "127.0.0.1" : config.HOST;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  if (config.AUTH_DEV_ANONYMOUS) {
    logger.warn(
      { principal: DEV_ANONYMOUS_PRINCIPAL.userId, scopes: DEV_ANONYMOUS_PRINCIPAL.scopes },
      "AUTH_DEV_ANONYMOUS=1: requests without a token run as the read-only development principal dev-anonymous; never use this in production",
    );
  }
  logger.info(
    {
      url,
      resource: resourceUri,
      audience,
      issuer: config.AUTH_ISSUER,
      database: database.kind,
      model: `${model.kind}/${model.model}`,
      allowed_hosts: allow.hosts,
      allowed_origins: allow.origins,
    },
    "MCP server listening",
  );

  // The head in the log too (`--verify --known-head <hash>`); the witness's checkpoints are the
  // record nobody with this database can rewrite. A missing head row is a finding, not a crash.
  const logHead = async (when: string) => {
    const head = await readAuditHeadOrUndefined(database);
    logger.info(
      { audit_head: head ? { seq: head.seq, hash: head.hash } : null },
      `audit chain head at ${when}`,
    );
  };
  await logHead("start");

  let closing: Promise<void> | undefined;
  return {
    url,
    resource: resourceUri,
    port,
    activeSessions: () => sessions.size,
    close() {
      closing ??= (async () => {
        // Draining: `/readyz` answers 503 `shutting-down` while in-flight requests finish.
        health.shutdown();
        stopFollowing();
        const stopped = new Promise<void>((resolve) => httpServer.close(() => resolve()));
        await sessions.closeAll();
        await handleMcp.close();
        httpServer.closeIdleConnections();
        const grace = setTimeout(() => httpServer.closeAllConnections(), config.SHUTDOWN_GRACE * 1000);
        grace.unref();
        await stopped;
        clearTimeout(grace);
        try {
          if (!overrides.revocations) await revocations.close();
          // Nothing appends any more: the closing checkpoint says no row after it is this server's.
          // Best effort: in a whole-stack stop the witness (identity) may be gone already, and the
          // next start checks the chain against the witness anyway (docs/mcp-server.md).
          await checkpointer
            .close()
            .catch((err: unknown) => logger.warn({ err }, "closing audit checkpoint not witnessed"));
          await logHead("stop").catch((err: unknown) =>
            logger.warn({ err }, "audit chain head unreadable at stop"),
          );
        } finally {
          // Whatever failed before, the database is closed: on PGlite that releases its lock.
          if (!overrides.database) await database.close();
        }
        logger.info("MCP server stopped");
      })();
      return closing;
    },
  };
}
