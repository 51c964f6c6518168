import type { Configuration } from "oidc-provider";
import type { Config } from "#kit/config/index.js";
import { SCOPES } from "#kit/contract/index.js";
import type { Database } from "#kit/db/index.js";
import type { KeyRing } from "../keys/key-ring.js";
import { providerFeatures } from "./configuration/features.js";
import { signInInteractions } from "./configuration/sign-in-policy.js";
import { tokenLifetimes } from "./configuration/token-lifetimes.js";
import { extensionClient } from "./extension-client.js";
import { loginClient } from "./first-party-clients.js";
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
    readonly allowClient: (ctx: unknown, client: unknown) => Promise<boolean>;
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
  const { config } = deps;
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
    jwks: { keys: deps.keyRing.privateJwks() },
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
    interactions: signInInteractions(),
    findAccount: async (_ctx: unknown, id: string) => ({ accountId: id, claims: () => ({ sub: id }) }),
    features: providerFeatures({
      resources: deps.resources,
      allowMetadataFetch: deps.metadataDocuments.allowFetch,
      allowMetadataClient: deps.metadataDocuments.allowClient,
    }),
    fetch: deps.metadataDocuments.fetch,
    // Public clients' refresh tokens rotate on every use; a spent one presented again revokes the grant.
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(g: string): boolean }) =>
      client.grantTypeAllowed("refresh_token"),
    rotateRefreshToken: true,
    // RFC 7009: revoking a refresh token ends its grant (the login session) everywhere.
    revokeGrantPolicy: () => true,
    ttl: tokenLifetimes(config),
    extraTokenClaims,
    formats: { customizers: { jwt: deps.claims.customize } },
    // Browser-based MCP clients (Inspector's page) call token, registration and revocation
    // cross-origin; no cookie or ambient credential counts there.
    clientBasedCORS: () => true,
    renderError,
  };
}

/** The provider's error page for a browser: the product's, with the error's description. */
async function renderError(
  ctx: { type: string; body: unknown },
  out: { error_description?: string; error?: string },
): Promise<void> {
  ctx.type = "html";
  ctx.body = renderErrorPage(out.error_description ?? out.error ?? "the request could not be served");
}
