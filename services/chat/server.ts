import { protectedResourceMetadata, SERVICE_IDS, sendProtectedResourceMetadata } from "#kit/auth/index.js";
import type { Config } from "#kit/config/index.js";
import { SCOPES } from "#kit/contract/index.js";
import type { Database } from "#kit/db/index.js";
import type { Logger } from "#kit/log/index.js";
import { anyOrigin, startServiceServer } from "#kit/server/index.js";
import { databaseDependency, type ServiceAuth, startServiceAuth } from "#kit/service/index.js";
import { startTelemetry } from "#kit/telemetry/index.js";
import { CHAT_CALLER_RULES } from "./caller-rules.js";
import { createAgentClient } from "./conversations/agent-client.js";
import { chatRoutes } from "./conversations/chat-service.js";
import { ThreadStore } from "./conversations/thread-store.js";
import { RepeatWaiters } from "./conversations/turn/repeat-waiters.js";
import { startTurnKeeper } from "./conversations/turn-keeper.js";
import { TurnStore } from "./conversations/turn-store.js";
import { userLimitsOf } from "./conversations/user-limits.js";
import { openChatDatabase } from "./data/open-chat-database.js";

/** Where chat's RFC 9728 metadata is served (its resource is the origin: the well-known path alone). */
export const PROTECTED_RESOURCE_PATH = "/.well-known/oauth-protected-resource";

export interface ChatOptions {
  /** PostgreSQL schema instead of "chat" (tests use one per run). */
  readonly databaseSchema?: string;
}

export interface RunningChat {
  /** Base URL, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  readonly port: number;
  /** The chat database (threads and messages; the process owns and closes it). */
  readonly database: Database;
  close(): Promise<void>;
}

/**
 * Starts the chat service on `config.CHAT_PORT` (0 = any free port): ChatService (threads,
 * messages, agent turns run as the caller on the agent service). It verifies users' tokens as every
 * service behind the identity provider does (JWKS, the revocation feed; docs/architecture.md) and
 * calls the agent service with its own client credential.
 */
export async function startChat(
  config: Config,
  logger: Logger,
  options: ChatOptions = {},
): Promise<RunningChat> {
  const telemetry = startTelemetry(SERVICE_IDS.chat, config);
  // On PGlite this also takes DATA_DIR/chat.lock (one process per embedded database), until close.
  const db = await openChatDatabase(config, { logger, schema: options.databaseSchema });
  const metadata = protectedResourceMetadata({
    resource: config.CHAT_URL,
    issuer: config.AUTH_ISSUER,
    scopes: SCOPES,
    name: "support-ext chat (threads and messages)",
  });
  let auth: ServiceAuth | undefined;
  let keeper: { stop(): Promise<void> } | undefined;
  try {
    // Before serving: turns a crashed process left open are marked interrupted (turn-keeper.ts).
    const turns = new TurnStore(db);
    keeper = await startTurnKeeper(turns, logger);
    auth = await startServiceAuth(config, SERVICE_IDS.chat, logger);
    const openAuth = auth;
    const server = await startServiceServer({
      name: "chat",
      host: config.HOST,
      port: config.CHAT_PORT,
      logger,
      telemetry,
      routes: chatRoutes({
        threads: new ThreadStore(db),
        turns,
        agents: createAgentClient(config.AGENT_URL, auth.credentials),
        logger,
        limits: userLimitsOf(config),
        repeatWaiters: new RepeatWaiters(config.CHAT_USER_OPEN_TURNS),
      }),
      auth: auth.serverAuth(CHAT_CALLER_RULES),
      corsOrigins: config.CORS_ORIGINS,
      // RFC 9728: a client given only chat's address finds the identity provider that issues its
      // tokens (the extension logs in there).
      httpRoutes: {
        [PROTECTED_RESOURCE_PATH]: anyOrigin((_req, res) => sendProtectedResourceMetadata(res, metadata)),
      },
      shutdownGraceMs: config.SHUTDOWN_GRACE * 1000,
      dependencies: [databaseDependency(db), auth.feed],
    });
    if (config.AUTH_DEV_ANONYMOUS) {
      logger.warn("AUTH_DEV_ANONYMOUS=1: calls without a token run as a read-only development principal");
    }
    const openKeeper = keeper;
    let closing: Promise<void> | undefined;
    return {
      url: server.url,
      port: server.port,
      database: db,
      close() {
        closing ??= (async () => {
          await server.close();
          await openKeeper.stop();
          await openAuth.close();
          await db.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    await keeper?.stop();
    await auth?.close().catch(() => undefined);
    await db.close().catch(() => undefined);
    throw err;
  }
}
