import type { ConnectRouter } from "@connectrpc/connect";
import type { Principal, TokenVerifier } from "../kit/auth/index.js";
import type { Config } from "../kit/config/index.js";
import type { Database } from "../kit/db/index.js";
import type { Logger } from "../kit/log/index.js";
import { anyOrigin, type HttpRoute } from "../kit/server/index.js";
import type { AgentDirectory } from "./agents/agent-directory.js";
import { createAgentRegistrations, SEED_AGENT_REGISTRATIONS } from "./agents/agent-registrations.js";
import { reconcileSeededAgents } from "./agents/reconcile-seeded-agents.js";
import { registerAuditWitnessService } from "./audit-witness/witness-service.js";
import { PUBLIC_AUTH_PROCEDURES, registerAuthService } from "./auth/auth-service.js";
import { createLogin } from "./auth/login.js";
import { createLogout } from "./auth/logout.js";
import { createRefresh } from "./auth/refresh.js";
import { clientRegistryFrom } from "./clients/client-registry.js";
import { createEdgeVerifier } from "./edge-verifier.js";
import { createActorTokenCheck } from "./exchange/actor-token.js";
import { createTokenExchange } from "./exchange/token-exchange.js";
import { createJwksRoute, JWKS_PATH } from "./http/jwks-route.js";
import { KEY_RELOAD_INTERVAL_MS } from "./keys/key-commands.js";
import { createKeyRing, type KeyRing } from "./keys/key-ring.js";
import { ensureSigningKey } from "./keys/signing-key-store.js";
import { createDummyHash } from "./passwords/password-hash.js";
import {
  type AuthorizationServerTestOptions,
  startAuthorizationServer,
} from "./provider/authorization-server.js";
import { endingGrantsToo } from "./provider/end-grant.js";
import { resourceServers } from "./provider/resource-servers.js";
import { createRevocationFeed, type RevocationFeed } from "./revocation-feed/revocation-feed.js";
import { registerRevocationService } from "./revocation-feed/revocation-service.js";
import { createClientCredentialsPolicy } from "./service-tokens/client-credentials.js";
import { createRevocationList } from "./sessions/revocation-list.js";
import { startRevocationSync } from "./sessions/revocation-sync.js";
import { registerSessionAdminService } from "./sessions/session-admin-service.js";
import { createSessionRevoker, type RevokeSession } from "./sessions/session-revoker.js";
import { createSessionStore } from "./sessions/session-store.js";
import { createClientAuthThrottle } from "./throttle/client-auth-throttle.js";
import { createLoginThrottle } from "./throttle/login-throttle.js";
import { createThrottleSharing } from "./throttle/shared-windows.js";
import { seedDevPrincipal } from "./users/seed-dev-principal.js";
import { seedUsers, seedUsersFrom } from "./users/seed-users.js";
import { registerUserAdminService } from "./users/user-admin-service.js";
import { createUserStore } from "./users/user-store.js";

export interface IdentityOptions {
  readonly db: Database;
  readonly config: Config;
  readonly logger: Logger;
  /** Overrides KEY_RELOAD_INTERVAL_MS (tests shorten it). */
  readonly keyReloadIntervalMs?: number;
  /** Overrides REVOCATION_HEARTBEAT, in ms (tests go below the configuration's whole seconds). */
  readonly revocationHeartbeatMs?: number;
  /** Replaces the stored agent registrations (tests name agents the seed does not have). */
  readonly agentDirectory?: AgentDirectory;
  /** Test seams of the authorization server: the metadata document resolver, the registration cap. */
  readonly oauth?: AuthorizationServerTestOptions;
}

/** The identity provider, ready to be mounted on the identity service's server. */
export interface Identity {
  registerRoutes(router: ConnectRouter): void;
  /** Authentication settings for the server's auth interceptor. */
  readonly auth: {
    readonly verifier: TokenVerifier;
    readonly publicProcedures: ReadonlySet<string>;
    readonly isRevoked: (principal: Principal) => boolean;
  };
  readonly httpRoutes: Readonly<Record<string, HttpRoute>>;
  readonly keyRing: KeyRing;
  /** RevocationService.Watch's source; its streams end when the server drains. */
  readonly revocationFeed: RevocationFeed;
  /** Ends a login session everywhere within a second (SessionAdminService and tests use it). */
  readonly revokeSession: RevokeSession;
  /** The registered agents, as the token endpoint checks them. */
  readonly agents: AgentDirectory;
  /** Tells the provider where the identity service listens (AuthService.Refresh uses its token endpoint). */
  listeningAt(url: string): void;
  close(): void;
}

/**
 * Builds the identity provider on its database: seeds users, agents and the first signing key,
 * loads keys and revoked sessions into memory, and wires login/refresh/logout/who-am-I, the JWKS
 * and the token exchange endpoint.
 */
export async function startIdentity(options: IdentityOptions): Promise<Identity> {
  const { db, config, logger } = options;

  await seedUsers(db, seedUsersFrom(config), logger);
  // Every start, not only the first: a tool added since reaches the seeded agents (docs/adding-a-tool.md).
  await reconcileSeededAgents(db, SEED_AGENT_REGISTRATIONS, logger);
  if (config.AUTH_DEV_ANONYMOUS) await seedDevPrincipal(db);
  const firstKey = await ensureSigningKey(db);
  if (firstKey) logger.info({ kid: firstKey.kid }, "generated the first signing key");

  const keyRing = await createKeyRing({
    db,
    logger,
    reloadIntervalMs: options.keyReloadIntervalMs ?? KEY_RELOAD_INTERVAL_MS,
    unknownKidCooldownMs: 5_000,
  });
  const verifier = createEdgeVerifier({
    keyRing,
    issuer: config.AUTH_ISSUER,
    audience: config.API_AUDIENCE,
    clockToleranceSec: config.CLOCK_TOLERANCE,
  });

  const sessions = createSessionStore(db);
  // A revoked session matters while one of its access tokens can still verify.
  const retentionMs = (config.ACCESS_TOKEN_TTL + config.CLOCK_TOLERANCE) * 1000;
  const revocations = createRevocationList(retentionMs);
  const deletedSessions = await sessions.deleteEndedBefore(new Date(Date.now() - 86_400_000));
  if (deletedSessions > 0) logger.info({ sessions: deletedSessions }, "deleted ended login sessions");
  // Other replicas' revocations arrive by LISTEN/NOTIFY; every session entering the list, however
  // it came, is pushed to the feed's subscribers (docs/identity.md, "Revocation at the edge").
  const revocationSync = await startRevocationSync({
    db,
    store: sessions,
    list: revocations,
    logger,
    retentionMs,
  });
  const revocationFeed = createRevocationFeed({
    list: revocations,
    logger,
    heartbeatMs: options.revocationHeartbeatMs ?? config.REVOCATION_HEARTBEAT * 1000,
  });
  const isRevoked = (principal: Principal) => revocations.has(principal.sessionId);
  const revoke = endingGrantsToo(createSessionRevoker(sessions, revocations), db);

  const users = createUserStore(db);
  const agents = options.agentDirectory ?? createAgentRegistrations(db);
  // Every throttle counts the events of every identity replica (docs/identity.md, "Throttling").
  const throttles = createThrottleSharing({ db, logger });
  const windows = throttles.window;
  // One throttle and dummy hash for both doors: AuthService.Login and the OAuth login page.
  const loginThrottle = createLoginThrottle({
    windows,
    windowMs: config.LOGIN_THROTTLE_WINDOW * 1000,
    maxFailuresPerEmail: config.LOGIN_MAX_FAILURES_PER_EMAIL,
    maxFailuresPerAddress: config.LOGIN_MAX_FAILURES_PER_ADDRESS,
  });
  const dummyHash = await createDummyHash();
  // The OAuth 2.1 authorization server (docs/identity.md, "Authorization server"), on oidc-provider:
  // the one issuer of every token — first-party logins, MCP clients' authorization code flow, our
  // services' grants — at one token endpoint.
  let ownUrl: string | undefined;
  const authorizationServer = await startAuthorizationServer({
    db,
    config,
    logger,
    users,
    keyRing,
    sessions,
    revoke,
    loginThrottle,
    dummyHash,
    resources: resourceServers(config, keyRing),
    windows,
    ownUrl: () => ownUrl,
    serviceGrants: {
      clients: clientRegistryFrom(config),
      exchange: createTokenExchange({
        verifier,
        isRevoked,
        checkActor: createActorTokenCheck({
          keyRing,
          issuer: config.AUTH_ISSUER,
          clockToleranceSec: config.CLOCK_TOLERANCE,
          agents,
        }),
        mcpResource: config.MCP_RESOURCE,
        devAnonymous: config.AUTH_DEV_ANONYMOUS,
        requireActor: config.NODE_ENV === "production",
      }),
      clientCredentials: createClientCredentialsPolicy({ agents }),
      mcpResource: config.MCP_RESOURCE,
      serviceTokenTtlSec: config.SERVICE_TOKEN_TTL,
      mcpTokenTtlSec: config.MCP_TOKEN_TTL,
    },
    // The same window and per-address bound as failed logins: guessing a client secret is guessing
    // a password. Past it failures are held, never the right secret refused.
    clientFailures: createClientAuthThrottle({
      failures: windows("client_auth_address", {
        windowMs: config.LOGIN_THROTTLE_WINDOW * 1000,
        limit: config.LOGIN_MAX_FAILURES_PER_ADDRESS,
      }),
    }),
    ...options.oauth,
  });

  // Every window exists now: read the events the other replicas (or this one before a restart) counted.
  try {
    await throttles.start();
  } catch (err) {
    authorizationServer.close();
    revocationFeed.close();
    await revocationSync.stop().catch(() => undefined);
    keyRing.close();
    throw err;
  }
  const firstParty = authorizationServer.firstParty;
  const login = createLogin({
    users,
    sessions: firstParty,
    logger,
    dummyHash,
    throttle: loginThrottle,
  });
  const refresh = createRefresh({ sessions: firstParty, revoke, logger });
  const logout = createLogout({ sessions: firstParty, revoke, logger });

  return {
    registerRoutes(router) {
      registerAuthService(router, {
        login,
        refresh,
        logout,
        users,
        trustedProxyHops: config.TRUSTED_PROXY_HOPS,
      });
      registerRevocationService(router, revocationFeed);
      registerAuditWitnessService(router, { db, keyRing, issuer: config.AUTH_ISSUER, logger });
      registerSessionAdminService(router, { sessions, revoke, logger });
      registerUserAdminService(router, { db, logger });
    },
    auth: { verifier, publicProcedures: PUBLIC_AUTH_PROCEDURES, isRevoked },
    httpRoutes: {
      // Public to every origin: verifiers and browser-based OAuth clients (docs/identity.md).
      [JWKS_PATH]: anyOrigin(createJwksRoute(keyRing)),
      ...authorizationServer.httpRoutes,
    },
    keyRing,
    revocationFeed,
    revokeSession: revoke,
    agents,
    listeningAt(url) {
      ownUrl = url;
    },
    close() {
      authorizationServer.close();
      throttles.stop().catch(() => undefined);
      revocationFeed.close();
      revocationSync.stop().catch(() => undefined);
      keyRing.close();
    },
  };
}
