import { SCOPES } from "../../kit/auth/scopes.js";
import type { Config } from "../../kit/config/config.js";
import type { Database } from "../../kit/db/index.js";
import type { Logger } from "../../kit/log/logger.js";
import { anyOrigin, type HttpRoute, ownPages } from "../../kit/server/service-server.js";
import { JWKS_PATH } from "../http/jwks-route.js";
import { TOKEN_ENDPOINT_PATH } from "../http/token-endpoint.js";
import type { LoginThrottle } from "../throttle/login-throttle.js";
import { createSlidingWindow } from "../throttle/sliding-window.js";
import type { TokenMinter } from "../tokens/token-minter.js";
import type { UserStore } from "../users/user-store.js";
import { AUTHORIZE_PATH, createAuthorizeEndpoint } from "./authorize/authorize-endpoint.js";
import { createCredentialCheck } from "./authorize/verify-credentials.js";
import { createClientStore } from "./clients/client-store.js";
import { createMetadataDocumentClients, type MetadataDocumentOptions } from "./clients/metadata-document.js";
import { createRegistrationEndpoint, REGISTRATION_PATH } from "./clients/registration-endpoint.js";
import { createClientResolver } from "./clients/resolve-client.js";
import { type CodeStore, createCodeStore } from "./grants/code-store.js";
import { createMcpTokenIssuer } from "./grants/mcp-tokens.js";
import { createRefreshStore } from "./grants/refresh-store.js";
import { createMcpClientGrants, type McpClientGrants, type RevokeGrant } from "./grants/token-grants.js";
import { AS_METADATA_PATH, createMetadataRoute } from "./metadata.js";

/** Limits of open registration (docs/identity.md, "Client registration"). */
export const REGISTRATION_LIMITS = {
  perAddressPerHour: 20,
  maxClients: 10_000,
} as const;

export interface AuthorizationServerDeps {
  readonly db: Database;
  readonly config: Config;
  readonly logger: Logger;
  readonly users: UserStore;
  readonly minter: TokenMinter;
  /** The login throttle AuthService.Login uses: one budget of guesses whichever door they use. */
  readonly loginThrottle: LoginThrottle;
  readonly dummyHash: string;
  readonly revoke: RevokeGrant;
  /** Test seams of the metadata document fetch: the resolver, the deadline, the in-flight cap. */
  readonly metadataDocuments?: Partial<
    Pick<MetadataDocumentOptions, "resolveHost" | "timeoutMs" | "maxInFlight">
  >;
  /** Replaces REGISTRATION_LIMITS.maxClients (tests use a small table). */
  readonly maxClients?: number;
}

export type AuthorizationServerTestOptions = Pick<
  AuthorizationServerDeps,
  "metadataDocuments" | "maxClients"
>;

export interface AuthorizationServer {
  readonly httpRoutes: Readonly<Record<string, HttpRoute>>;
  /** authorization_code and refresh_token at the token endpoint (http/token-endpoint.ts). */
  readonly grants: McpClientGrants;
}

/**
 * The identity provider as an OAuth 2.1 authorization server for MCP clients (docs/identity.md,
 * "OAuth 2.1 authorization server for MCP clients"): RFC 8414 metadata, the authorization endpoint
 * with its login page, RFC 7591 registration, Client ID Metadata Documents, and the grants the
 * token endpoint delegates here. Tokens are for MCP_RESOURCE only.
 */
export async function startAuthorizationServer(deps: AuthorizationServerDeps): Promise<AuthorizationServer> {
  const { db, config, logger } = deps;
  const clients = createClientStore(db);
  const codes = createCodeStore(db);
  const deleted = await codes.deleteExpiredBefore(new Date(Date.now() - 86_400_000));
  if (deleted > 0) logger.info({ codes: deleted }, "deleted expired authorization codes");
  const resolveClient = createClientResolver(
    clients,
    createMetadataDocumentClients({
      allowLoopback: config.CLIENT_METADATA_ALLOW_LOOPBACK,
      logger,
      ...deps.metadataDocuments,
    }),
  );
  // A client that got a code or a token is in use: registration never evicts it.
  const clientUsed = (clientId: string) => clients.touch(clientId);
  const grants = createMcpClientGrants({
    resolveClient,
    codes,
    refreshes: createRefreshStore(db),
    users: deps.users,
    issue: createMcpTokenIssuer({ minter: deps.minter, lifetimeSec: config.MCP_TOKEN_TTL }),
    revoke: deps.revoke,
    clientUsed,
    sessionLifetimeSec: config.REFRESH_TOKEN_TTL,
    realm: config.AUTH_ISSUER,
    logger,
  });
  const endpoints = {
    issuer: config.AUTH_ISSUER,
    authorizationPath: AUTHORIZE_PATH,
    tokenPath: TOKEN_ENDPOINT_PATH,
    registrationPath: REGISTRATION_PATH,
    jwksPath: JWKS_PATH,
    scopes: SCOPES,
  };
  return {
    grants,
    httpRoutes: {
      [AS_METADATA_PATH]: anyOrigin(createMetadataRoute(endpoints)),
      // The login form posts back to its own page: no CORS, the endpoint checks Origin and CSRF.
      [AUTHORIZE_PATH]: ownPages(
        createAuthorizeEndpoint({
          issuer: config.AUTH_ISSUER,
          mcpResource: config.MCP_RESOURCE,
          resolveClient,
          checkCredentials: createCredentialCheck({
            users: deps.users,
            throttle: deps.loginThrottle,
            dummyHash: deps.dummyHash,
            logger,
          }),
          codes: recordingUse(codes, clientUsed),
          trustedProxyHops: config.TRUSTED_PROXY_HOPS,
          logger,
        }),
      ),
      // Browser-based MCP clients (MCP Inspector's page) register from their own origin.
      [REGISTRATION_PATH]: anyOrigin(
        createRegistrationEndpoint({
          store: clients,
          limits: {
            perAddress: createSlidingWindow({
              windowMs: 3_600_000,
              limit: REGISTRATION_LIMITS.perAddressPerHour,
            }),
            maxClients: deps.maxClients ?? REGISTRATION_LIMITS.maxClients,
          },
          trustedProxyHops: config.TRUSTED_PROXY_HOPS,
          logger,
        }),
      ),
    },
  };
}

/** The code store, recording the client's use whenever a code is issued to it. */
function recordingUse(codes: CodeStore, clientUsed: (clientId: string) => Promise<void>): CodeStore {
  return {
    ...codes,
    async create(grant, lifetimeSec) {
      await clientUsed(grant.clientId);
      return codes.create(grant, lifetimeSec);
    },
  };
}
