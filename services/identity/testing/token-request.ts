import { CLIENT_CREDENTIALS_GRANT, TOKEN_EXCHANGE_GRANT } from "../clients/client-registry.js";
import { ACCESS_TOKEN_TYPE } from "../exchange/token-exchange.js";

/** What the token endpoint answered. */
export interface TokenResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

export interface ExchangeParams {
  readonly subjectToken: string;
  readonly resource: string;
  readonly scope?: string;
  /** The agent service's token for the client, sent as the RFC 8693 actor_token. */
  readonly actorToken?: string;
  /** Extra or overriding form parameters. */
  readonly extra?: Record<string, string>;
}

/** Client authentication of a token request. */
export type ClientAuth =
  | { readonly basic: readonly [id: string, secret: string] }
  | { readonly post: readonly [id: string, secret: string] }
  | { readonly none: true };

/** A real HTTP POST of a form to `/oauth2/token`, as a gateway would send it. */
export async function postTokenRequest(
  baseUrl: string,
  form: Record<string, string>,
  auth: ClientAuth,
  init: { method?: string; contentType?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<TokenResponse> {
  const headers: Record<string, string> = {
    "content-type": init.contentType ?? "application/x-www-form-urlencoded",
    ...init.headers,
  };
  const params = new URLSearchParams(form);
  if ("basic" in auth) {
    const [id, secret] = auth.basic;
    headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64")}`;
  } else if ("post" in auth) {
    params.set("client_id", auth.post[0]);
    params.set("client_secret", auth.post[1]);
  }
  const method = init.method ?? "POST";
  const res = await fetch(`${baseUrl}/oauth2/token`, {
    method,
    headers,
    ...(method === "GET" ? {} : { body: init.body ?? params.toString() }),
  });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { raw: text };
  }
  return { status: res.status, headers: res.headers, body };
}

/** The form of an RFC 8693 exchange for the MCP hop. */
export function exchangeForm(p: ExchangeParams): Record<string, string> {
  return {
    grant_type: TOKEN_EXCHANGE_GRANT,
    subject_token: p.subjectToken,
    subject_token_type: ACCESS_TOKEN_TYPE,
    resource: p.resource,
    ...(p.scope !== undefined ? { scope: p.scope } : {}),
    ...(p.actorToken !== undefined ? { actor_token: p.actorToken, actor_token_type: ACCESS_TOKEN_TYPE } : {}),
    ...p.extra,
  };
}

/** The form of a client-credentials request for a service token. */
export function clientCredentialsForm(p: {
  readonly audience?: string;
  readonly agentId?: string;
  readonly extra?: Record<string, string>;
}): Record<string, string> {
  return {
    grant_type: CLIENT_CREDENTIALS_GRANT,
    ...(p.audience !== undefined ? { audience: p.audience } : {}),
    ...(p.agentId !== undefined ? { agent_id: p.agentId } : {}),
    ...p.extra,
  };
}
