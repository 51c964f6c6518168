import { type RemovedKeys, SERVICE_IDS } from "#kit/auth/index.js";
import type { Config } from "#kit/config/index.js";
import type { Logger } from "#kit/log/index.js";
import { startServiceServer } from "#kit/server/index.js";
import { type ServiceAuth, startServiceAuth } from "#kit/service/index.js";
import { startTelemetry } from "#kit/telemetry/index.js";
import { gatewayCallerRules } from "./caller-rules.js";
import { gatewayRoutes, sessionKeyPrefix } from "./gateway-service.js";
import type { McpSessionOptions } from "./session/mcp-session.js";
import { ServerEra, versionPolicy } from "./session/server-era.js";
import { SessionPool } from "./session/session-pool.js";
import { registerGatewayMetrics } from "./telemetry.js";
import {
  createExchangeTokenSource,
  createPassthroughTokenSource,
  type McpTokenSource,
} from "./token/mcp-token-source.js";
import { createTokenExchangeClient } from "./token/token-exchange-client.js";

export const GATEWAY_VERSION = "0.1.0";

export interface RunningGateway {
  readonly url: string;
  readonly pool: SessionPool;
  readonly tokenSource: McpTokenSource;
  close(): Promise<void>;
}

/** Starts the MCP gateway on `config.GATEWAY_PORT` (0 = any free port, as tests use). */
export async function startGateway(config: Config, logger: Logger): Promise<RunningGateway> {
  const telemetry = startTelemetry(SERVICE_IDS.gateway, config);
  const auth = await startServiceAuth(config, SERVICE_IDS.gateway, logger);
  const tokenSource = configuredTokenSource(config, auth.removedKeys);
  const pool = new SessionPool({
    maxSessions: config.GATEWAY_MAX_SESSIONS,
    idleMs: config.GATEWAY_SESSION_IDLE * 1000,
  });
  registerGatewayMetrics(telemetry, () => pool.size);
  dropRevokedSessions(auth, tokenSource, pool, logger);
  let server: Awaited<ReturnType<typeof startServiceServer>>;
  try {
    server = await startServiceServer({
      name: "mcp-gateway",
      host: config.HOST,
      port: config.GATEWAY_PORT,
      logger,
      telemetry,
      routes: gatewayRoutes({ pool, logger, sessionOptions: sessionOptions(config, tokenSource, logger) }),
      auth: auth.serverAuth(gatewayCallerRules(config.GATEWAY_ALLOW_DIRECT_USERS)),
      // A CallTool's arguments (≤ 256 KiB of JSON), answers to input requests (≤ 64 KiB) and
      // request state (≤ 16 KiB), each escaped once more in the message's own JSON.
      readMaxBytes: 1024 * 1024,
      corsOrigins: config.CORS_ORIGINS,
      shutdownGraceMs: config.SHUTDOWN_GRACE * 1000,
      // No database of its own: the feed is all it waits on.
      dependencies: [auth.feed],
    });
  } catch (err) {
    // A port already taken, say: give back the feed subscription and the pool's timer.
    await auth.close().catch(() => undefined);
    await pool.close();
    throw err;
  }
  logger.info({ mode: tokenSource.mode, mcp: config.MCP_URL }, "MCP gateway ready");
  return {
    url: server.url,
    pool,
    tokenSource,
    async close() {
      await server.close();
      await auth.close();
      await pool.close();
    },
  };
}

/**
 * Where MCP tokens come from (`MCP_TOKEN_MODE`). `MCP_CONNECT_TIMEOUT` bounds connecting to the
 * token endpoint only; its answer is waited for within the calling RPC's deadline
 * (docs/mcp-gateway.md, "Deadlines"). An exchanged token signed by a key the issuer removed is
 * exchanged again (`removedKeys`, the feed's).
 */
function configuredTokenSource(config: Config, removedKeys: RemovedKeys): McpTokenSource {
  if (config.MCP_TOKEN_MODE === "passthrough") return createPassthroughTokenSource();
  return createExchangeTokenSource({
    resource: config.MCP_RESOURCE,
    removedKeys,
    fallbackTimeoutMs: config.MCP_CALL_TIMEOUT * 1000,
    client: createTokenExchangeClient({
      tokenEndpoint: config.AUTH_TOKEN_URL,
      client: { clientId: config.GATEWAY_CLIENT_ID, clientSecret: config.GATEWAY_CLIENT_SECRET },
      connectTimeoutMs: config.MCP_CONNECT_TIMEOUT * 1000,
    }),
  });
}

function sessionOptions(config: Config, tokenSource: McpTokenSource, logger: Logger): McpSessionOptions {
  return {
    url: new URL(config.MCP_URL),
    tokenSource,
    logger,
    connectTimeoutMs: config.MCP_CONNECT_TIMEOUT * 1000,
    httpVersion: config.MCP_HTTP_VERSION,
    callTimeoutMs: config.MCP_CALL_TIMEOUT * 1000,
    clientVersion: GATEWAY_VERSION,
    policy: versionPolicy(config.MCP_PROTOCOL_VERSION),
    era: new ServerEra(),
  };
}

/** A revoked session's calls are refused by the kit; its exchanged tokens and MCP sessions go too. */
function dropRevokedSessions(
  auth: ServiceAuth,
  tokenSource: McpTokenSource,
  pool: SessionPool,
  logger: Logger,
): void {
  auth.revocations.onRevoked(({ sessionId }) => {
    const tokens = tokenSource.dropSession(sessionId);
    const sessions = pool.dropPrefix(sessionKeyPrefix(sessionId));
    if (tokens + sessions > 0)
      logger.info(
        { session_id: sessionId, tokens, sessions },
        "revoked login session: cached MCP tokens and sessions dropped",
      );
  });
}
