import { Provider } from "oidc-provider";
import type { Config } from "#kit/config/index.js";
import type { Database } from "#kit/db/index.js";
import type { Logger } from "#kit/log/index.js";
import { anyOrigin, type HttpRoute, routeAnswersCors } from "#kit/server/index.js";
import { createCredentialCheck } from "../auth/credential-check.js";
import type { KeyRing } from "../keys/key-ring.js";
import type { RevokeSession } from "../sessions/session-revoker.js";
import type { SessionStore } from "../sessions/session-store.js";
import type { ClientAuthThrottle } from "../throttle/client-auth-throttle.js";
import type { LoginThrottle, WindowFactory } from "../throttle/login-throttle.js";
import { createMissingAddressWarning } from "../throttle/missing-address-warning.js";
import type { UserStore } from "../users/user-store.js";
import { revokeOnConcurrentReuse } from "./concurrent-reuse.js";
import { cookieKeys } from "./cookie-keys.js";
import { keepProviderCurrent } from "./current-provider.js";
import { createEndpointPolicy, REGISTRATION_LIMITS } from "./endpoint-policy.js";
import { showUntrustedErrorRedirects } from "./error-redirects.js";
import { createFirstPartySessions, type FirstPartySessions } from "./first-party-sessions.js";
import { registerServiceGrants, type ServiceGrantDeps } from "./grants/service-grants.js";
import { AS_METADATA_PATH, createOAuthRequestHandler, OPENID_METADATA_PATH } from "./http/oauth-requests.js";
import { createLoginInteraction } from "./interaction/login-interaction.js";
import { type MetadataDocumentOptions, metadataDocumentFetching } from "./metadata-documents.js";
import { OAUTH_ROUTES, providerConfiguration } from "./provider-configuration.js";
import { observeProviderEvents } from "./provider-events.js";
import type { ResourceServers } from "./resource-servers.js";
import { answerAfterRevocations } from "./revocations-before-answer.js";
import { serviceClients } from "./service-clients.js";
import { startPruningExpired } from "./storage/prune-expired.js";
import { createTokenClaims } from "./token-claims.js";

export { AS_METADATA_PATH } from "./http/oauth-requests.js";

export interface AuthorizationServerDeps {
  readonly db: Database;
  readonly config: Config;
  readonly logger: Logger;
  readonly users: UserStore;
  readonly keyRing: KeyRing;
  readonly sessions: SessionStore;
  /** Ends a login session everywhere: the provider's revoked grants go through it. */
  readonly revoke: RevokeSession;
  /** The login throttle AuthService.Login uses: one budget of guesses whichever door they use. */
  readonly loginThrottle: LoginThrottle;
  readonly dummyHash: Promise<string>;
  readonly serviceGrants: Omit<ServiceGrantDeps, "logger" | "resources">;
  readonly resources: ResourceServers;
  /** The identity service's own address once it listens: AuthService.Refresh posts to its token endpoint. */
  readonly ownUrl: () => string | undefined;
  readonly clientFailures: ClientAuthThrottle;
  /** Where the registration quota's window comes from (shared by the replicas). */
  readonly windows: WindowFactory;
  /** Test seams of the metadata document fetch. */
  readonly metadataDocuments?: Partial<Pick<MetadataDocumentOptions, "maxInFlight" | "loopbackCa">>;
  /** Replaces REGISTRATION_LIMITS.maxClients (tests use a small table). */
  readonly maxClients?: number;
}

export type AuthorizationServerTestOptions = Pick<
  AuthorizationServerDeps,
  "metadataDocuments" | "maxClients"
>;

export interface AuthorizationServer {
  readonly httpRoutes: Readonly<Record<string, HttpRoute>>;
  /** AuthService.Login's sessions, issued by this provider like every other grant. */
  readonly firstParty: FirstPartySessions;
  close(): void;
}

/**
 * The identity service's OAuth 2.1 authorization server, built on oidc-provider (docs/identity.md,
 * "Authorization server"): MCP clients' authorization code + PKCE, registration and metadata
 * documents, refresh rotation, revocation, and our services' grants (client credentials, the
 * token exchange) at one token endpoint. The provider is rebuilt when the key ring's keys change
 * (its keystore is fixed at construction; every other state is in the database, so a request
 * begun on one instance finishes on the next).
 */
export async function startAuthorizationServer(deps: AuthorizationServerDeps): Promise<AuthorizationServer> {
  const { config, logger } = deps;
  const build = await providerBuilder(deps);
  const current = keepProviderCurrent(build, deps.keyRing, logger);
  const serve = createOAuthRequestHandler({
    interaction: createLoginInteraction({
      provider: () => current.provider,
      issuer: config.AUTH_ISSUER,
      defaultResource: (clientId) => deps.resources.resourceFor(clientId),
      checkCredentials: createCredentialCheck({
        users: deps.users,
        throttle: deps.loginThrottle,
        dummyHash: deps.dummyHash,
        logger,
        via: "oauth_authorize",
      }),
      sessions: deps.sessions,
      grantLifetimeSec: config.REFRESH_TOKEN_TTL,
      trustedProxyHops: config.TRUSTED_PROXY_HOPS,
      logger,
    }),
    currentHandle: () => current.handle,
    logger,
  });

  const route = routeAnswersCors(serve);
  const stopPruning = startPruningExpired(deps.db, logger);
  return {
    close: stopPruning,
    firstParty: createFirstPartySessions({
      provider: () => current.provider,
      resources: deps.resources,
      sessions: deps.sessions,
      users: deps.users,
      ownUrl: deps.ownUrl,
    }),
    httpRoutes: {
      "/oauth2/*": route,
      // The library answers CORS on metadata, token and revocation, not on registration: browser-based
      // MCP clients (Inspector's page) register from their own origin (no cookie counts there).
      [OAUTH_ROUTES.registration]: anyOrigin(serve),
      [AS_METADATA_PATH]: route,
      [OPENID_METADATA_PATH]: route,
    },
  };
}

/**
 * What every build of the provider shares (cookie keys, token claims, metadata document fetching,
 * the endpoint policy and its windows), and a function that builds one with the product's
 * configuration, middleware, grants and event handlers.
 */
async function providerBuilder(deps: AuthorizationServerDeps): Promise<() => Provider> {
  const { config, logger } = deps;
  const keys = await cookieKeys(deps.db);
  const claims = createTokenClaims(deps.users);
  const documents = metadataDocumentFetching({
    allowLoopback: config.CLIENT_METADATA_ALLOW_LOOPBACK,
    logger,
    ...deps.metadataDocuments,
  });
  const limits = createEndpointPolicy({
    db: deps.db,
    registrationsPerAddress: deps.windows("registration_address", {
      windowMs: 3_600_000,
      limit: REGISTRATION_LIMITS.perAddressPerHour,
    }),
    maxClients: deps.maxClients ?? REGISTRATION_LIMITS.maxClients,
    clientFailures: deps.clientFailures,
    trustedProxyHops: config.TRUSTED_PROXY_HOPS,
    onMissingAddress: createMissingAddressWarning(
      logger,
      config.TRUSTED_PROXY_HOPS,
      "client registrations and failed client authentications",
    ),
    realm: config.AUTH_ISSUER,
    resources: deps.resources,
    logger,
  });
  return () => {
    const provider = new Provider(
      config.AUTH_ISSUER,
      providerConfiguration({
        db: deps.db,
        config,
        keyRing: deps.keyRing,
        cookieKeys: keys,
        claims,
        resources: deps.resources,
        serviceClients: serviceClients(deps.serviceGrants.clients),
        metadataDocuments: documents,
      }),
    );
    // Only behind proxies we were told about is X-Forwarded-* believed (https, host, address).
    provider.proxy = config.TRUSTED_PROXY_HOPS > 0;
    provider.use(limits);
    answerAfterRevocations(provider);
    showUntrustedErrorRedirects(provider);
    revokeOnConcurrentReuse(provider, deps.revoke, logger);
    registerServiceGrants(provider, { ...deps.serviceGrants, resources: deps.resources, logger });
    observeProviderEvents(provider, { revoke: deps.revoke, logger });
    return provider;
  };
}
