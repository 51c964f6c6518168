import { AuditService } from "#gen/supportext/audit/v1/audit_pb.js";
import { DEV_ANONYMOUS_PRINCIPAL, SERVICE_IDS } from "#kit/auth/index.js";
import type { Config } from "#kit/config/index.js";
import type { Database } from "#kit/db/index.js";
import type { Logger } from "#kit/log/index.js";
import {
  type OpeningServer,
  openServiceServer,
  type ServiceServer,
  type ServiceServerOptions,
} from "#kit/server/index.js";
import { startTelemetry } from "#kit/telemetry/index.js";
import { createAuditService } from "./audit/audit-service.js";
import { readAuditHeadOrUndefined } from "./data/audit-head.js";
import { sendNotFound } from "./http/mcp-routes.js";
import { openServerDatabase } from "./startup/database.js";
import { createMcpParts, type McpParts, type McpPartsOverrides } from "./startup/mcp-parts.js";
import { type McpServing, prepareMcpServing } from "./startup/mcp-serving.js";

export { AUDIT_PATH } from "./startup/mcp-http.js";

export interface McpServerOverrides extends McpPartsOverrides {
  /** An already open database (tests keep a handle to inspect rows); not closed by `close()`. */
  readonly database?: Database;
  /** PostgreSQL schema to use when the server opens the database itself (tests isolate runs). */
  readonly databaseSchema?: string;
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

// Requests are a filter; responses at most 1000 rows of ≤ 4 KiB arguments each.
const AUDIT_RPC_READ_MAX_BYTES = 64 * 1024;
const AUDIT_RPC_WRITE_MAX_BYTES = 16 * 1024 * 1024;

/**
 * Starts the MCP server (docs/mcp-server.md) on `config.HOST:config.MCP_PORT`, on the kit's server
 * like every service (docs/architecture.md, "One port, three protocols"): the MCP routes are its
 * plain-HTTP routes, AuditService its Connect service. The port opens first and answers 503
 * `starting` until the server is ready; with port 0 (tests) the resource URI takes the port
 * actually bound, so tokens can be minted for it.
 */
export async function startMcpServer(
  config: Config,
  logger: Logger,
  overrides: McpServerOverrides = {},
): Promise<RunningMcpServer> {
  const telemetry = startTelemetry(SERVICE_IDS.mcpServer, config);
  const database = await openServerDatabase(config, logger, overrides);
  let parts: McpParts | undefined;
  let opening: OpeningServer | undefined;
  try {
    parts = createMcpParts(config, logger, database, telemetry, overrides);
    opening = await openServiceServer(serverOptions(config, logger, parts));
    const serving = await prepareMcpServing(config, logger, parts, opening.port, overrides.verifier);
    const server = await opening.serve(serving.additions);
    return await running(config, logger, parts, serving, server, overrides);
  } catch (err) {
    // Port taken, say: give back what we opened, or a retry in this process finds it still held.
    await opening?.close().catch(() => undefined);
    await parts?.checkpointer.stop();
    if (parts && !overrides.revocations) await parts.revocations.close().catch(() => undefined);
    if (!overrides.database) await database.close();
    throw err;
  }
}

/** The kit server's options: AuditService and what every Connect service gets, on MCP_PORT. */
function serverOptions(config: Config, logger: Logger, parts: McpParts): ServiceServerOptions {
  return {
    name: SERVICE_IDS.mcpServer,
    host: config.HOST,
    port: config.MCP_PORT,
    logger,
    telemetry: parts.telemetry,
    routes: (router) => {
      router.service(
        AuditService,
        createAuditService({ db: parts.database, witness: parts.witness, logger }),
      );
    },
    // The audit RPC takes an administrator's own login token (audience API_AUDIENCE), not an MCP token.
    auth: { verifier: parts.apiVerifier, ...parts.revocation },
    corsOrigins: config.CORS_ORIGINS,
    readMaxBytes: AUDIT_RPC_READ_MAX_BYTES,
    writeMaxBytes: AUDIT_RPC_WRITE_MAX_BYTES,
    notFound: (req, res) => sendNotFound(res, new URL(req.url ?? "/", "http://localhost").pathname),
    shutdownGraceMs: config.SHUTDOWN_GRACE * 1000,
  };
}

async function running(
  config: Config,
  logger: Logger,
  parts: McpParts,
  serving: McpServing,
  server: ServiceServer,
  overrides: McpServerOverrides,
): Promise<RunningMcpServer> {
  const host = config.HOST === "0.0.0.0" || config.HOST === "::" ? "127.0.0.1" : config.HOST;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${server.port}`;
  logListening(config, logger, parts, serving, url);
  await logHead(parts.database, logger, "start");
  let closing: Promise<void> | undefined;
  return {
    url,
    resource: serving.resourceUri,
    port: server.port,
    activeSessions: () => parts.sessions.size,
    close() {
      closing ??= closeMcpServer(logger, parts, server, overrides);
      return closing;
    },
  };
}

function logListening(config: Config, logger: Logger, parts: McpParts, serving: McpServing, url: string) {
  if (config.AUTH_DEV_ANONYMOUS) {
    logger.warn(
      { principal: DEV_ANONYMOUS_PRINCIPAL.userId, scopes: DEV_ANONYMOUS_PRINCIPAL.scopes },
      "AUTH_DEV_ANONYMOUS=1: requests without a token run as the read-only development principal dev-anonymous; never use this in production",
    );
  }
  logger.info(
    {
      url,
      resource: serving.resourceUri,
      audience: serving.audience,
      issuer: config.AUTH_ISSUER,
      database: parts.database.kind,
      model: `${parts.model.kind}/${parts.model.model}`,
      allowed_hosts: serving.allow.hosts,
      allowed_origins: serving.allow.origins,
    },
    "MCP server listening",
  );
}

/**
 * The head in the log too (`--verify --known-head <hash>`); the witness's checkpoints are the
 * record nobody with this database can rewrite. A missing head row is a finding, not a crash.
 */
async function logHead(database: Database, logger: Logger, when: string): Promise<void> {
  const head = await readAuditHeadOrUndefined(database);
  logger.info(
    { audit_head: head ? { seq: head.seq, hash: head.hash } : null },
    `audit chain head at ${when}`,
  );
}

/**
 * Draining (`/readyz` 503 `shutting-down`, sessions closed, in-flight requests finished: the kit's
 * close), then the closing checkpoint and the database.
 */
async function closeMcpServer(
  logger: Logger,
  parts: McpParts,
  server: ServiceServer,
  overrides: McpServerOverrides,
): Promise<void> {
  await server.close();
  try {
    if (!overrides.revocations) await parts.revocations.close();
    // Nothing appends any more: the closing checkpoint says no row after it is this server's.
    // Best effort: in a whole-stack stop the witness (identity) may be gone already, and the
    // next start checks the chain against the witness anyway (docs/mcp-server.md).
    await parts.checkpointer
      .close()
      .catch((err: unknown) => logger.warn({ err }, "closing audit checkpoint not witnessed"));
    await logHead(parts.database, logger, "stop").catch((err: unknown) =>
      logger.warn({ err }, "audit chain head unreadable at stop"),
    );
  } finally {
    // Whatever failed before, the database is closed: on PGlite that releases its lock.
    if (!overrides.database) await parts.database.close();
  }
  logger.info("MCP server stopped");
}
