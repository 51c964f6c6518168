import type { ConnectRouter } from "@connectrpc/connect";
import type { Principal, TokenVerifier } from "#kit/auth/index.js";
import type { Config } from "#kit/config/index.js";
import type { Database } from "#kit/db/index.js";
import type { Logger } from "#kit/log/index.js";
import { anyOrigin, type HttpRoute } from "#kit/server/index.js";
import type { AgentDirectory } from "./agents/agent-directory.js";
import { createAgentRegistrations } from "./agents/agent-registrations.js";
import { registerAuditWitnessService } from "./audit-witness/witness-service.js";
import { PUBLIC_AUTH_PROCEDURES, registerAuthService } from "./auth/auth-service.js";
import { createLogin } from "./auth/login.js";
import { createLogout } from "./auth/logout.js";
import { createRefresh } from "./auth/refresh.js";
import { createEdgeVerifier } from "./edge-verifier.js";
import { createJwksRoute, JWKS_PATH } from "./http/jwks-route.js";
import { KEY_RELOAD_INTERVAL_MS } from "./keys/key-commands.js";
import { createKeyRing, type KeyRing } from "./keys/key-ring.js";
import { keySealerFrom } from "./keys/key-sealing.js";
import { createRemovedKeyList } from "./keys/removed-key-list.js";
import { REMOVED_KEY_HORIZON_MS } from "./keys/removed-key-sync.js";
import { createDummyHash } from "./passwords/password-hash.js";
import type { AuthorizationServer, AuthorizationServerTestOptions } from "./provider/authorization-server.js";
import type { RevocationFeed } from "./revocation-feed/revocation-feed.js";
import { registerRevocationService } from "./revocation-feed/revocation-service.js";
import { registerSessionAdminService } from "./sessions/session-admin-service.js";
import type { RevokeSession } from "./sessions/session-revoker.js";
import { startOAuth } from "./startup/authorization.js";
import { type Revocations, startRevocations } from "./startup/revocations.js";
import { seedIdentity } from "./startup/seed-identity.js";
import { createThrottles } from "./startup/throttles.js";
import type { LoginThrottle } from "./throttle/login-throttle.js";
import type { ThrottleSharing } from "./throttle/shared-windows.js";
import { registerUserAdminService } from "./users/user-admin-service.js";
import { createUserStore, type UserStore } from "./users/user-store.js";

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
  /** Authentication settings for the server's authentication gate. */
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
  const sealer = keySealerFrom(config);
  await seedIdentity(db, config, logger, sealer);
  // Filled from the database and by NOTIFY (keys/removed-key-sync.ts); the ring refuses what it holds.
  const removedKeys = createRemovedKeyList(REMOVED_KEY_HORIZON_MS);
  const keyRing = await createKeyRing({
    db,
    sealer,
    isRemoved: (kid) => removedKeys.has(kid),
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
  const revocations = await startRevocations({
    db,
    config,
    logger,
    keyRing,
    removedKeys,
    heartbeatMs: options.revocationHeartbeatMs ?? config.REVOCATION_HEARTBEAT * 1000,
  });
  const started = {
    db,
    config,
    logger,
    keyRing,
    verifier,
    revocations,
    users: createUserStore(db),
    agents: options.agentDirectory ?? createAgentRegistrations(db),
  };
  const { throttles, loginThrottle } = createThrottles(db, config, logger);
  // One dummy hash for both doors, as one login throttle: AuthService.Login and the OAuth login page.
  // Made while the rest starts (one scrypt, ~150 ms, on every start's path before); a login for an
  // unknown email in the first moments waits for it, so its cost still matches a wrong password's.
  const dummyHash = createDummyHash();
  dummyHash.catch(() => undefined); // a login that needs it reports the failure
  let ownUrl: string | undefined;
  const authorizationServer = await startOAuth({
    ...started,
    loginThrottle,
    dummyHash,
    windows: throttles.window,
    ownUrl: () => ownUrl,
    testOptions: options.oauth,
  });
  const parts: IdentityParts = { ...started, throttles, authorizationServer };
  await startThrottles(parts);
  return {
    ...identityOf(parts, loginThrottle, dummyHash),
    listeningAt(url) {
      ownUrl = url;
    },
  };
}

/** What the identity provider is made of once started. */
interface IdentityParts {
  readonly db: Database;
  readonly config: Config;
  readonly logger: Logger;
  readonly keyRing: KeyRing;
  readonly verifier: TokenVerifier;
  readonly revocations: Revocations;
  readonly users: UserStore;
  readonly agents: AgentDirectory;
  readonly throttles: ThrottleSharing;
  readonly authorizationServer: AuthorizationServer;
}

/**
 * Every window exists now: reads the events the other replicas (or this one before a restart)
 * counted. A failure stops what was started.
 */
async function startThrottles(parts: IdentityParts): Promise<void> {
  try {
    await parts.throttles.start();
  } catch (err) {
    parts.authorizationServer.close();
    parts.revocations.feed.close();
    await parts.revocations.sync.stop().catch(() => undefined);
    parts.keyRing.close();
    throw err;
  }
}

/** The started parts as the identity service mounts them: its RPCs, HTTP routes and auth settings. */
function identityOf(
  parts: IdentityParts,
  loginThrottle: LoginThrottle,
  dummyHash: Promise<string>,
): Omit<Identity, "listeningAt"> {
  const { db, config, logger, keyRing, revocations, users, authorizationServer } = parts;
  const { sessions, revoke, feed } = revocations;
  const firstParty = authorizationServer.firstParty;
  const login = createLogin({ users, sessions: firstParty, logger, dummyHash, throttle: loginThrottle });
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
      registerRevocationService(router, feed);
      registerAuditWitnessService(router, { db, keyRing, issuer: config.AUTH_ISSUER, logger });
      registerSessionAdminService(router, { sessions, revoke, logger });
      registerUserAdminService(router, { db, logger });
    },
    auth: {
      verifier: parts.verifier,
      publicProcedures: PUBLIC_AUTH_PROCEDURES,
      isRevoked: revocations.isRevoked,
    },
    httpRoutes: {
      // Public to every origin: verifiers and browser-based OAuth clients (docs/identity.md).
      [JWKS_PATH]: anyOrigin(createJwksRoute(keyRing)),
      ...authorizationServer.httpRoutes,
    },
    keyRing,
    revocationFeed: feed,
    revokeSession: revoke,
    agents: parts.agents,
    close() {
      authorizationServer.close();
      parts.throttles.stop().catch(() => undefined);
      feed.close();
      revocations.sync.stop().catch(() => undefined);
      keyRing.close();
    },
  };
}
