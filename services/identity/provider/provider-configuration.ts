import { type Configuration, errors, interactionPolicy } from "oidc-provider";
import { SCOPES } from "../../kit/auth/index.js";
import type { Config } from "../../kit/config/index.js";
import type { Database } from "../../kit/db/index.js";
import type { KeyRing } from "../keys/key-ring.js";
import { extensionClient } from "./extension-client.js";
import { loginClient } from "./first-party-clients.js";
import { INTERACTION_PREFIX } from "./interaction/login-interaction.js";
import { renderErrorPage } from "./interaction/login-page.js";
import type { ResourceServers } from "./resource-servers.js";
import { createSqlAdapterClass } from "./storage/sql-adapter.js";
import type { TokenClaims } from "./token-claims.js";
import { extraTokenClaims } from "./token-extras.js";

/** Where the authorization server's endpoints live on the identity port (docs/identity.md). */
export const OAUTH_ROUTES = {
  authorization: "/oauth2/authorize",
  token: "/oauth2/token",
  registration: "/oauth2/register",
  revocation: "/oauth2/revoke",
  jwks: "/.well-known/jwks.json",
  end_session: "/oauth2/logout",
  introspection: "/oauth2/introspect",
  userinfo: "/oauth2/userinfo",
  pushed_authorization_request: "/oauth2/par",
  device_authorization: "/oauth2/device/auth",
  code_verification: "/oauth2/device",
  backchannel_authentication: "/oauth2/backchannel",
  challenge: "/oauth2/challenge",
  credential: "/oauth2/credential",
} as const;

export interface ProviderConfigurationDeps {
  readonly db: Database;
  readonly config: Config;
  readonly keyRing: KeyRing;
  readonly cookieKeys: readonly string[];
  readonly claims: TokenClaims;
  readonly resources: ResourceServers;
  /** Our services as confidential clients (service-clients.ts). */
  readonly serviceClients: Configuration["clients"];
  /** Client ID Metadata Documents: which URLs may be fetched, and how (metadata-documents.ts). */
  readonly metadataDocuments: {
    readonly allowFetch: (ctx: unknown, clientId: string) => Promise<boolean>;
    readonly fetch: (url: URL | string, options: RequestInit) => Promise<Response>;
  };
}

/**
 * oidc-provider's configuration: what the library does for us — OAuth 2.1 authorization code with
 * PKCE S256, RFC 7591 registration, Client ID Metadata Documents, RFC 8414 metadata with RFC 9207
 * `iss`, RFC 8707 resource indicators with RFC 9068 JWT access tokens, refresh-token rotation
 * whose reuse revokes the grant, RFC 7009 revocation — set to the product's policy.
 */
export function providerConfiguration(deps: ProviderConfigurationDeps): Configuration {
  const { config, keyRing } = deps;
  const clientIdOf = (client: unknown) => (client as { clientId?: string } | undefined)?.clientId;
  return {
    adapter: createSqlAdapterClass(deps.db),
    clients: [...(deps.serviceClients ?? []), extensionClient(config), loginClient()],
    clientDefaults: {
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
      id_token_signed_response_alg: "ES256",
    },
    cookies: {
      keys: [...deps.cookieKeys],
      long: { signed: true, httpOnly: true, sameSite: "lax" },
      short: { signed: true, httpOnly: true, sameSite: "lax" },
    },
    jwks: { keys: keyRing.privateJwks() },
    enabledJWA: { idTokenSigningAlgValues: ["ES256"], requestObjectSigningAlgValues: ["ES256"] },
    // The ticket scopes are the MCP server's (its resource's `scope`, granted per resource, RFC
    // 8707); they are also the provider's, so a client may register them (RFC 7591 `scope`).
    scopes: ["openid", "offline_access", ...SCOPES],
    responseTypes: ["code"],
    // OAuth 2.1: every authorization request carries PKCE (S256: the only method the library takes).
    pkce: { required: () => true },
    // OAuth 2.1 §2.3.1: the redirect URI is always sent and compared exactly.
    allowOmittingSingleRegisteredRedirectUri: false,
    routes: OAUTH_ROUTES,
    interactions: {
      url: (_ctx: unknown, interaction: { uid: string }) => `${INTERACTION_PREFIX}${interaction.uid}`,
      policy: signInEveryTime(),
    },
    findAccount: async (_ctx: unknown, id: string) => ({ accountId: id, claims: () => ({ sub: id }) }),
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: false },
      clientCredentials: { enabled: false },
      registration: { enabled: true, initialAccessToken: false },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx, client) => deps.resources.resourceFor(clientIdOf(client)),
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource, client) => {
          // Each client gets its one resource: our own clients the API, MCP clients the MCP server.
          const target = deps.resources.resourceFor(clientIdOf(client));
          if (resource !== target)
            throw new errors.InvalidTarget(`this client's tokens are for ${target} only`);
          return deps.resources.info(target);
        },
      },
      clientIdMetadataDocument: {
        enabled: true,
        ack: "draft-02",
        allowFetch: deps.metadataDocuments.allowFetch,
      },
    },
    fetch: deps.metadataDocuments.fetch,
    // Public clients' refresh tokens rotate on every use; a spent one presented again revokes the grant.
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(g: string): boolean }) =>
      client.grantTypeAllowed("refresh_token"),
    rotateRefreshToken: true,
    // RFC 7009: revoking a refresh token ends its grant (the login session) everywhere.
    revokeGrantPolicy: () => true,
    ttl: {
      // Each resource's own lifetime: MCP_TOKEN_TTL for the MCP server, ACCESS_TOKEN_TTL for the API.
      AccessToken: (_ctx: unknown, token: { resourceServer?: { accessTokenTTL?: number } }) =>
        token.resourceServer?.accessTokenTTL ?? config.MCP_TOKEN_TTL,
      AuthorizationCode: 60,
      RefreshToken: config.REFRESH_TOKEN_TTL,
      Grant: config.REFRESH_TOKEN_TTL,
      Interaction: 900,
      Session: 900,
    },
    extraTokenClaims,
    formats: { customizers: { jwt: deps.claims.customize } },
    // Browser-based MCP clients (Inspector's page) call token, registration and revocation
    // cross-origin; no cookie or ambient credential counts there.
    clientBasedCORS: () => true,
    renderError: async (
      ctx: { type: string; body: unknown },
      out: { error_description?: string; error?: string },
    ) => {
      ctx.type = "html";
      ctx.body = renderErrorPage(out.error_description ?? out.error ?? "the request could not be served");
    },
  };
}

/**
 * The provider's prompts with one change: every authorization signs in (no single sign-on from an
 * earlier authorization in the same browser), and consent is given on the same page.
 */
function signInEveryTime() {
  const policy = interactionPolicy.base();
  const login = policy.get("login");
  login?.checks.add(
    new interactionPolicy.Check(
      "sign_in_every_time",
      "every authorization is signed in",
      (ctx: { oidc: { result?: { login?: unknown } } }) =>
        ctx.oidc.result?.login
          ? interactionPolicy.Check.NO_NEED_TO_PROMPT
          : interactionPolicy.Check.REQUEST_PROMPT,
    ),
  );
  return policy;
}
