import { SERVICE_IDS } from "#kit/auth/index.js";
import type { Config } from "#kit/config/index.js";
import type { Database } from "#kit/db/index.js";
import type { Logger } from "#kit/log/index.js";
import type { ModelProvider } from "#kit/model/index.js";
import { startServiceServer } from "#kit/server/index.js";
import {
  createModelProvider,
  databaseDependency,
  type ServiceAuth,
  startServiceAuth,
} from "#kit/service/index.js";
import { startTelemetry } from "#kit/telemetry/index.js";
import { agentRoutes } from "./agent-service.js";
import { AGENT_CALLER_RULES } from "./caller-rules.js";
import { openAgentDatabase } from "./data/open-agent-database.js";
import { plannerSkill } from "./planner/planner-skill.js";
import { createAgentRegistry } from "./registry/agent-registry.js";
import { cachedAgentRegistry } from "./registry/cached-agent-registry.js";
import { reconcileSeededAgents } from "./registry/reconcile-seeded-agents.js";
import { createToolGateway } from "./run/tool-gateway.js";

export interface AgentOptions {
  /** PostgreSQL schema instead of "agent" (tests use one per run). */
  readonly databaseSchema?: string;
  /** Replaces the configured model (tests drive the loop with a scripted provider). */
  readonly model?: ModelProvider;
}

export interface RunningAgent {
  readonly url: string;
  readonly port: number;
  /** The registry's database (tests add agents through it; the process owns and closes it). */
  readonly database: Database;
  readonly model: ModelProvider;
  close(): Promise<void>;
}

/** Starts the agent service on `config.AGENT_PORT` (0 = any free port, as tests use). */
export async function startAgent(
  config: Config,
  logger: Logger,
  options: AgentOptions = {},
): Promise<RunningAgent> {
  const telemetry = startTelemetry(SERVICE_IDS.agent, config);
  const model = options.model ?? createModelProvider(config, [plannerSkill]);
  const db = await openAgentDatabase(config, { logger, schema: options.databaseSchema });
  let auth: ServiceAuth | undefined;
  try {
    await reconcileSeededAgents(db, logger);
    auth = await startServiceAuth(config, SERVICE_IDS.agent, logger);
    const openAuth = auth;
    const server = await startServiceServer({
      name: "agent",
      host: config.HOST,
      port: config.AGENT_PORT,
      logger,
      telemetry,
      routes: agentRoutes({
        registry: cachedAgentRegistry(createAgentRegistry(db)),
        model,
        // The bound of a gateway call when the Run carries no deadline (chat's always does: then a
        // call waits within what is left of the turn; docs/agent.md, "Deadlines").
        gateway: createToolGateway(
          config.GATEWAY_URL,
          (config.MCP_CONNECT_TIMEOUT + config.MCP_CALL_TIMEOUT) * 1000,
          auth.credentials,
        ),
        logger,
      }),
      auth: auth.serverAuth(AGENT_CALLER_RULES),
      // A Run carries the thread's history: up to 50 messages of up to 16,000 characters each.
      readMaxBytes: 4 * 1024 * 1024,
      corsOrigins: config.CORS_ORIGINS,
      shutdownGraceMs: config.SHUTDOWN_GRACE * 1000,
      dependencies: [databaseDependency(db), auth.feed],
    });
    logger.info(
      { model: model.kind, model_name: model.model, gateway: config.GATEWAY_URL },
      "agent service ready",
    );
    let closing: Promise<void> | undefined;
    return {
      url: server.url,
      port: server.port,
      database: db,
      model,
      close() {
        closing ??= (async () => {
          await server.close();
          await openAuth.close();
          await db.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    // A port already taken, say: give back the feed subscription and the database.
    await auth?.close().catch(() => undefined);
    await db.close().catch(() => undefined);
    throw err;
  }
}
