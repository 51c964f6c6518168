/**
 * The extension's side of OAuth 2.1 (docs/identity.md, "The extension's sign-in"): the identity
 * provider's endpoints from its RFC 8414 metadata, a PKCE pair (RFC 7636, S256), and token and
 * revocation requests as a public client (RFC 6749 §3.2, RFC 7009). No secret, no password.
 */

/** The authorization server's endpoints the extension uses. */
export interface AuthorizationServer {
  readonly issuer: string;
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
  readonly revocationEndpoint: string;
}

/** The OAuth client the extension is at the identity provider. */
export interface OAuthClient {
  readonly server: AuthorizationServer;
  readonly clientId: string;
  /** chrome.identity's redirect: https://<extension id>.chromiumapp.org/ */
  readonly redirectUri: string;
  /** The API the tokens are for: chat's RFC 9728 resource. */
  readonly resource: string;
}

/** RFC 6749 §5.1 */
export interface Tokens {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly expiresInSec: number;
}

/** An RFC 6749 §5.2 refusal (or a non-JSON failure) of the token or revocation endpoint. */
export class OAuthRefusal extends Error {
  constructor(
    readonly error: string,
    readonly description: string,
    readonly status: number,
  ) {
    super(description ? `${error}: ${description}` : error);
    this.name = "OAuthRefusal";
  }
}

export const EXTENSION_CLIENT_ID = "support-ext-extension";
const METADATA_PATH = "/.well-known/oauth-authorization-server";

export async function discoverAuthorizationServer(identityUrl: string): Promise<AuthorizationServer> {
  const res = await fetch(new URL(METADATA_PATH, identityUrl));
  const doc = (res.ok ? await res.json().catch(() => undefined) : undefined) as
    | Record<string, unknown>
    | undefined;
  const endpoint = (name: string) => {
    const value = doc?.[name];
    if (typeof value !== "string")
      throw new Error(`${identityUrl} publishes no ${name} in ${METADATA_PATH}.`);
    return value;
  };
  return {
    issuer: endpoint("issuer"),
    authorizationEndpoint: endpoint("authorization_endpoint"),
    tokenEndpoint: endpoint("token_endpoint"),
    revocationEndpoint: endpoint("revocation_endpoint"),
  };
}

export async function pkcePair(): Promise<{ verifier: string; challenge: string }> {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return { verifier, challenge: base64url(new Uint8Array(digest)) };
}

export function randomState(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(16)));
}

/** POSTs a token request; its answer's tokens, or an OAuthRefusal. */
export async function requestTokens(client: OAuthClient, form: Record<string, string>): Promise<Tokens> {
  const res = await fetch(client.server.tokenEndpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: client.clientId, ...form }),
  });
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok || typeof body.access_token !== "string" || typeof body.refresh_token !== "string") {
    throw new OAuthRefusal(
      String(body.error ?? `http_${res.status}`),
      String(body.error_description ?? ""),
      res.status,
    );
  }
  return {
    accessToken: body.access_token,
    refreshToken: body.refresh_token,
    expiresInSec: Number(body.expires_in ?? 0),
  };
}

/** RFC 7009: ends the grant the refresh token belongs to (the login session, at every service). */
export async function revokeRefreshToken(client: OAuthClient, refreshToken: string): Promise<void> {
  await fetch(client.server.revocationEndpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      client_id: client.clientId,
      token: refreshToken,
      token_type_hint: "refresh_token",
    }),
  });
}

function base64url(bytes: Uint8Array): string {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
