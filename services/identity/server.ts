import { SERVICE_IDS } from "#kit/auth/index.js";
import type { Config } from "#kit/config/index.js";
import type { Database } from "#kit/db/index.js";
import { STRICT } from "#kit/input/index.js";
import type { Logger } from "#kit/log/index.js";
import { startServiceServer } from "#kit/server/index.js";
import { databaseDependency } from "#kit/service/index.js";
import { startTelemetry } from "#kit/telemetry/index.js";
import type { AgentDirectory } from "./agents/agent-directory.js";
import { IDENTITY_CALLER_RULES } from "./caller-rules.js";
import { openIdentityDatabase } from "./data/open-identity-database.js";
import { type Identity, startIdentity } from "./identity.js";
import { signingKeysDependency } from "./keys/signing-keys-dependency.js";
import { createOwnServiceVerifier } from "./own-service-verifier.js";
import type { AuthorizationServerTestOptions } from "./provider/authorization-server.js";

export interface IdentityServerOptions {
  /** PostgreSQL schema instead of "identity" (tests use one per run). */
  readonly databaseSchema?: string;
  /** Overrides how often signing keys are re-read from the database. */
  readonly keyReloadIntervalMs?: number;
  /** Replaces the stored agent registrations (tests). */
  readonly agentDirectory?: AgentDirectory;
  /** Test seams of the authorization server (identity.ts). */
  readonly oauth?: AuthorizationServerTestOptions;
}

export interface RunningIdentity {
  /** Base URL, e.g. http://127.0.0.1:8084 */
  readonly url: string;
  readonly port: number;
  readonly identity: Identity;
  /** The identity database (tests add users through it; the process owns and closes it). */
  readonly database: Database;
  close(): Promise<void>;
}

/**
 * Starts the identity service on `config.IDENTITY_PORT` (0 = any free port): AuthService,
 * RevocationService, SessionAdminService, UserAdminService over Connect, and the OAuth endpoints
 * and JWKS over plain HTTP (docs/identity.md). It verifies its own tokens from its key ring and
 * calls no other service.
 */
export async function startIdentityServer(
  config: Config,
  logger: Logger,
  options: IdentityServerOptions = {},
): Promise<RunningIdentity> {
  const telemetry = startTelemetry(SERVICE_IDS.identity, config);
  let db: Database | undefined;
  let identity: Identity | undefined;
  try {
    // On PGlite this also takes DATA_DIR/identity.lock (one process per embedded database), until close.
    db = await openIdentityDatabase(config, { logger, schema: options.databaseSchema });
    identity = await startIdentity({
      db,
      config,
      logger,
      ...(options.keyReloadIntervalMs ? { keyReloadIntervalMs: options.keyReloadIntervalMs } : {}),
      ...(options.agentDirectory ? { agentDirectory: options.agentDirectory } : {}),
      ...(options.oauth ? { oauth: options.oauth } : {}),
    });
    const routesOf = identity;
    const server = await startServiceServer({
      name: "identity",
      host: config.HOST,
      port: config.IDENTITY_PORT,
      logger,
      telemetry,
      routes: (router) => routesOf.registerRoutes(router),
      // UserAdminService.CreateUsers takes up to 200 users at once (≤ 150 KiB at every field's bound).
      readMaxBytes: 256 * 1024,
      auth: {
        ...identity.auth,
        devAnonymous: config.AUTH_DEV_ANONYMOUS,
        callers: {
          rules: IDENTITY_CALLER_RULES,
          verifier: createOwnServiceVerifier({
            keyRing: identity.keyRing,
            issuer: config.AUTH_ISSUER,
            audience: SERVICE_IDS.identity,
            clockToleranceSec: config.CLOCK_TOLERANCE,
          }),
        },
      },
      corsOrigins: config.CORS_ORIGINS,
      httpRoutes: identity.httpRoutes,
      // No control character at all in identity's fields (docs/identity.md, "Malformed input").
      textRule: STRICT,
      shutdownGraceMs: config.SHUTDOWN_GRACE * 1000,
      // It is the feed's source, not a subscriber: its own database and keys are what it needs.
      dependencies: [databaseDependency(db), signingKeysDependency(identity.keyRing)],
    });
    // Its own token endpoint, reached on loopback when it listens on every address.
    identity.listeningAt(server.url.replace("//0.0.0.0:", "//127.0.0.1:").replace("//[::]:", "//[::1]:"));
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
