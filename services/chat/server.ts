import type { Config } from "../kit/config/config.js";
import type { Database } from "../kit/db/index.js";
import type { Logger } from "../kit/log/logger.js";
import { SERVICE_IDS } from "../kit/auth/service-identity.js";
import { startServiceServer } from "../kit/server/service-server.js";
import { CHAT_CALLER_RULES } from "./caller-rules.js";
import { createAgentClient } from "./conversations/agent-client.js";
import { chatRoutes } from "./conversations/chat-service.js";
import { ThreadStore } from "./conversations/thread-store.js";
import { openChatDatabase } from "./data/open-chat-database.js";
import type { AgentDirectory } from "../identity/agents/agent-directory.js";
import { type Identity, startIdentity } from "../identity/identity.js";
import { createOwnServiceVerifier } from "../identity/own-service-verifier.js";

export interface ChatOptions {
  /** PostgreSQL schema instead of "chat" (tests use one per run). */
  readonly databaseSchema?: string;
  /** Overrides how often signing keys are re-read from the database. */
  readonly keyReloadIntervalMs?: number;
  /** Replaces the agent service's registry in the token endpoint (tests without an agent service). */
  readonly agentDirectory?: AgentDirectory;
}

export interface RunningChat {
  /** Base URL, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  readonly port: number;
  readonly identity: Identity;
  /** The chat database (tests add users through it; the process owns and closes it). */
  readonly database: Database;
  close(): Promise<void>;
}

/**
 * Starts the chat (edge) process in-process on `config.CHAT_PORT` (0 = any free port): the
 * identity provider (AuthService, JWKS, token endpoint) and ChatService (threads, messages, agent
 * turns run as the caller on the agent service).
 */
export async function startChat(
  config: Config,
  logger: Logger,
  options: ChatOptions = {},
): Promise<RunningChat> {
  let db: Database | undefined;
  let identity: Identity | undefined;
  try {
    // On PGlite this also takes DATA_DIR/chat.lock (one process per embedded database), until close.
    db = await openChatDatabase(config, { logger, schema: options.databaseSchema });
    identity = await startIdentity({
      db,
      config,
      logger,
      ...(options.keyReloadIntervalMs ? { keyReloadIntervalMs: options.keyReloadIntervalMs } : {}),
      ...(options.agentDirectory ? { agentDirectory: options.agentDirectory } : {}),
    });
    const routesOf = identity;
    const conversations = chatRoutes({ threads: new ThreadStore(db), agents: createAgentClient(config.AGENT_URL, identity.serviceCredentials), logger });
    const server = await startServiceServer({
      name: "chat",
      host: config.HOST,
      port: config.CHAT_PORT,
      logger,
      routes: (router) => {
        routesOf.registerRoutes(router);
        conversations(router);
      },
      auth: {
        ...identity.auth,
        devAnonymous: config.AUTH_DEV_ANONYMOUS,
        callers: {
          rules: CHAT_CALLER_RULES,
          verifier: createOwnServiceVerifier({
            keyRing: identity.keyRing,
            issuer: config.AUTH_ISSUER,
            audience: SERVICE_IDS.chat,
            clockToleranceSec: config.CLOCK_TOLERANCE,
          }),
        },
      },
      corsOrigins: config.CORS_ORIGINS,
      httpRoutes: identity.httpRoutes,
      shutdownGraceMs: config.SHUTDOWN_GRACE * 1000,
    });
    if (config.AUTH_DEV_ANONYMOUS) {
      logger.warn("AUTH_DEV_ANONYMOUS=1: calls without a token run as a read-only development principal");
    }
    const openDb = db;
    const openIdentity = identity;
    let closing: Promise<void> | undefined;
    return {
      url: server.url,
      port: server.port,
      identity,
      database: openDb,
      close() {
        closing ??= (async () => {
          await server.close();
          openIdentity.close();
          await openDb.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    identity?.close();
    await db?.close().catch(() => undefined);
    throw err;
  }
}
