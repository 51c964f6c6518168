import { postTokenRequest, type TokenResponse } from "../../testing/token-request.js";
import { loginThroughPage, pkcePair } from "./login-browser.js";

/** RFC 7591 registration as an MCP client sends it. */
export async function register(
  baseUrl: string,
  metadata: Record<string, unknown>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${baseUrl}/oauth2/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(metadata),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export interface AuthorizeParams {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly challenge?: string;
  readonly scope?: string;
  readonly resource?: string;
  readonly state?: string;
  /** Extra or overriding parameters; undefined removes one. */
  readonly extra?: Record<string, string | undefined>;
}

export function authorizeUrl(baseUrl: string, p: AuthorizeParams): string {
  const params: Record<string, string | undefined> = {
    response_type: "code",
    client_id: p.clientId,
    redirect_uri: p.redirectUri,
    code_challenge: p.challenge,
    code_challenge_method: "S256",
    state: p.state ?? "st-1",
    scope: p.scope,
    resource: p.resource,
    ...p.extra,
  };
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, v);
  return `${baseUrl}/oauth2/authorize?${q}`;
}

/** The public client's token request: client_id in the body, no secret. */
export function tokenRequest(baseUrl: string, form: Record<string, string>): Promise<TokenResponse> {
  return postTokenRequest(baseUrl, form, { none: true });
}

/** Registration, login through the page and the code's redemption: a public client's whole flow. */
export async function fullCodeFlow(
  baseUrl: string,
  user: { email: string; password: string },
  options: { scope?: string; resource?: string; redirectUri?: string } = {},
) {
  const redirectUri = options.redirectUri ?? "http://127.0.0.1:4711/callback";
  const reg = await register(baseUrl, {
    redirect_uris: [redirectUri],
    token_endpoint_auth_method: "none",
    client_name: "Test client",
  });
  const clientId = reg.body.client_id as string;
  const { verifier, challenge } = pkcePair();
  const back = await loginThroughPage(
    authorizeUrl(baseUrl, {
      clientId,
      redirectUri,
      challenge,
      ...(options.scope ? { scope: options.scope } : {}),
      ...(options.resource ? { resource: options.resource } : {}),
    }),
    user,
  );
  const code = back.searchParams.get("code") ?? "";
  const token = await tokenRequest(baseUrl, {
    grant_type: "authorization_code",
    client_id: clientId,
    code,
    redirect_uri: redirectUri,
    code_verifier: verifier,
  });
  return { clientId, redirectUri, verifier, code, back, token };
}
