import { context, trace } from "@opentelemetry/api";
import { Provider } from "oidc-provider";
import { SCOPES } from "../../kit/auth/index.js";
import type { Config } from "../../kit/config/index.js";
import type { Database } from "../../kit/db/index.js";
import type { Logger } from "../../kit/log/index.js";
import {
  anyOrigin,
  type HttpRequest,
  type HttpResponse,
  type HttpRoute,
  routeAnswersCors,
} from "../../kit/server/index.js";
import { joinHttpRequest } from "../../kit/telemetry/index.js";
import type { KeyRing } from "../keys/key-ring.js";
import type { RevocationReason } from "../sessions/revocation-list.js";
import type { RevokeSession } from "../sessions/session-revoker.js";
import type { SessionStore } from "../sessions/session-store.js";
import type { ClientAuthThrottle } from "../throttle/client-auth-throttle.js";
import type { LoginThrottle, WindowFactory } from "../throttle/login-throttle.js";
import type { UserStore } from "../users/user-store.js";
import { revokeOnConcurrentReuse } from "./concurrent-reuse.js";
import { cookieKeys } from "./cookie-keys.js";
import { createEndpointPolicy, REGISTRATION_LIMITS } from "./endpoint-policy.js";
import { isFirstParty } from "./first-party-clients.js";
import { createFirstPartySessions, type FirstPartySessions } from "./first-party-sessions.js";
import { registerServiceGrants, type ServiceGrantDeps } from "./grants/service-grants.js";
import { checkRequest, RefusedInput } from "./http/checked-request.js";
import { createLoginInteraction, INTERACTION_PREFIX } from "./interaction/login-interaction.js";
import { renderErrorPage, sendPage } from "./interaction/login-page.js";
import { createCredentialCheck } from "./interaction/verify-credentials.js";
import { type MetadataDocumentOptions, metadataDocumentFetching } from "./metadata-documents.js";
import { OAUTH_ROUTES, providerConfiguration } from "./provider-configuration.js";
import type { ResourceServers } from "./resource-servers.js";
import { answerAfterRevocations, holdAnswerFor } from "./revocations-before-answer.js";
import { serviceClients } from "./service-clients.js";
import { startPruningExpired } from "./storage/prune-expired.js";
import { createTokenClaims } from "./token-claims.js";

/** RFC 8414's metadata path; oidc-provider serves the same document at OpenID's. */
export const AS_METADATA_PATH = "/.well-known/oauth-authorization-server";
const OPENID_METADATA_PATH = "/.well-known/openid-configuration";

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
  readonly dummyHash: string;
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
    realm: config.AUTH_ISSUER,
    logger,
  });

  const build = (): Provider => {
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
    revokeOnConcurrentReuse(provider, deps.revoke, logger);
    registerServiceGrants(provider, { ...deps.serviceGrants, resources: deps.resources, logger });
    provider.on("grant.revoked", (ctx: ProviderContext, grantId: string) => {
      const reason = revocationReason(ctx);
      const revoking = deps.revoke(grantId, reason).then(
        () =>
          logger.warn({ session_id: grantId, reason }, "oauth grant revoked: login session ended everywhere"),
        (err: unknown) =>
          logger.error({ err, session_id: grantId }, "oauth grant revoked but its session could not be"),
      );
      holdAnswerFor(ctx, revoking);
    });
    provider.on("grant.success", (ctx: ProviderContext) => {
      const grantType = ctx.oidc.params?.grant_type;
      const token = ctx.oidc.entities?.AccessToken;
      const clientId = ctx.oidc.client?.clientId;
      // Whom the token endpoint's span served: the grant, the client, the user and login session.
      trace.getActiveSpan()?.setAttributes({
        ...(grantType ? { "oauth2.grant_type": grantType } : {}),
        ...(clientId ? { "oauth2.client_id": clientId } : {}),
        ...(token?.accountId ? { "user.id": token.accountId } : {}),
        ...(token?.grantId ? { "session.id": token.grantId } : {}),
      });
      if (grantType !== "authorization_code" && grantType !== "refresh_token") return;
      logger.info(
        {
          client_id: clientId,
          user_id: token?.accountId,
          session_id: token?.grantId,
          scope: token?.scope,
          jti: token?.jti,
          grant: grantType,
        },
        isFirstParty(clientId) ? "token issued to a first-party client" : "token issued to an MCP client",
      );
    });
    provider.on("server_error", (_ctx: unknown, err: unknown) =>
      logger.error({ err }, "authorization server failed"),
    );
    return provider;
  };
  let provider = build();
  let handle = provider.callback();
  deps.keyRing.onKeysChanged(() => {
    try {
      provider = build();
      handle = provider.callback();
      logger.info("authorization server rebuilt with the new signing keys");
    } catch (err) {
      logger.error({ err }, "authorization server could not take the new signing keys; keeping the old ones");
    }
  });

  const interaction = createLoginInteraction({
    provider: () => provider,
    issuer: config.AUTH_ISSUER,
    defaultResource: (clientId) => deps.resources.resourceFor(clientId),
    checkCredentials: createCredentialCheck({
      users: deps.users,
      throttle: deps.loginThrottle,
      dummyHash: deps.dummyHash,
      logger,
    }),
    sessions: deps.sessions,
    grantLifetimeSec: config.REFRESH_TOKEN_TTL,
    trustedProxyHops: config.TRUSTED_PROXY_HOPS,
    logger,
  });

  const serve = (req: HttpRequest, res: HttpResponse): Promise<void> => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    // Plain HTTP routes skip the Connect interceptors: join the caller's trace with the same core,
    // in a server span per request (the token endpoint's among them; docs/architecture.md, "Telemetry").
    const { trace: call } = joinHttpRequest(req, res, oauthRoute(path), `${req.method} ${path}`);
    return context.with(call.context, () => serveOAuth(req, res, path));
  };

  const serveOAuth = async (req: HttpRequest, res: HttpResponse, path: string): Promise<void> => {
    let query: URLSearchParams;
    try {
      query = await checkRequest(req);
    } catch (err) {
      if (!(err instanceof RefusedInput)) throw err;
      refuseInput(req, res, path, err.message);
      logger.warn({ path, error_description: err.message }, "oauth request refused: invalid_request");
      return;
    }
    if (path.startsWith(INTERACTION_PREFIX)) return interaction(req, res);
    if (path === AS_METADATA_PATH) req.url = OPENID_METADATA_PATH;
    // A request without `scope` is for everything the user holds (the grant narrows it to that).
    if (path === OAUTH_ROUTES.authorization && req.method === "GET" && !query.has("scope")) {
      query.set("scope", SCOPES.join(" "));
      req.url = `${path}?${query}`;
    }
    handle(req, res);
  };

  const route = routeAnswersCors(serve);
  const stopPruning = startPruningExpired(deps.db, logger);
  return {
    close: stopPruning,
    firstParty: createFirstPartySessions({
      provider: () => provider,
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

/** The parts of the provider's request context its events are read for. */
interface ProviderContext {
  readonly oidc: {
    readonly route?: string;
    readonly params?: { readonly grant_type?: string };
    readonly client?: { readonly clientId: string };
    readonly entities?: {
      readonly AccessToken?: { accountId?: string; grantId?: string; scope?: string; jti?: string };
    };
  };
}

const KNOWN_ROUTES: ReadonlySet<string> = new Set([
  ...Object.values(OAUTH_ROUTES),
  AS_METADATA_PATH,
  OPENID_METADATA_PATH,
]);

/** The route a span and a metric name a request by: a fixed path, never one a caller made up. */
function oauthRoute(path: string): string {
  if (KNOWN_ROUTES.has(path)) return path;
  if (path.startsWith(INTERACTION_PREFIX)) return `${INTERACTION_PREFIX}*`;
  return "/oauth2/*";
}

/** Why the provider revoked a grant, from the request that made it do so. */
function revocationReason(ctx: ProviderContext): RevocationReason {
  if (ctx.oidc.route === "revocation") return "client_revoked";
  return ctx.oidc.params?.grant_type === "authorization_code"
    ? "authorization_code_reuse"
    : "refresh_token_reuse";
}

/** A page for a browser at the authorization or sign-in page, RFC 6749 §5.2 JSON for the rest. */
function refuseInput(req: HttpRequest, res: HttpResponse, path: string, description: string): void {
  if (req.method === "GET" && (path === OAUTH_ROUTES.authorization || path.startsWith(INTERACTION_PREFIX))) {
    sendPage(res, 400, renderErrorPage(`invalid request: ${description}`));
    return;
  }
  const body = JSON.stringify({ error: "invalid_request", error_description: description });
  res.writeHead(400, {
    "content-type": "application/json",
    "cache-control": "no-store",
    "access-control-allow-origin": "*",
    "content-length": String(Buffer.byteLength(body)),
  });
  res.end(body);
}
