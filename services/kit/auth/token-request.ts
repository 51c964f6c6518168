import { postForm, type TokenHttpAnswer, TokenHttpFailure } from "./token-http.js";

/**
 * A request to an OAuth 2.0 token endpoint (RFC 6749 §3.2): the one HTTP client for the gateway's
 * token exchange, every service's client-credentials tokens (confidential clients,
 * client_secret_basic) and the identity service's first-party refresh (a public client, RFC 6749
 * §2.3: `client_id` in the form).
 */

export interface ClientSecret {
  readonly clientId: string;
  readonly clientSecret: string;
}

/** A public client (RFC 6749 §2.1): it authenticates with nothing, and names itself. */
export interface PublicClient {
  readonly clientId: string;
  readonly clientSecret?: undefined;
}

/**
 * An RFC 6749 §5.2 error from the token endpoint, or a transport failure (status 0, `error`
 * `unreachable`, `timed_out` or `cancelled`: `requestToken`).
 */
export class TokenEndpointError extends Error {
  override readonly name: string = "TokenEndpointError";
  constructor(
    readonly error: string,
    readonly status: number,
    readonly description: string,
  ) {
    super(`${error}${description ? `: ${description}` : ""}`);
  }
}

/** A successful token response (RFC 6749 §5.1). */
export interface TokenResponse {
  readonly accessToken: string;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
  readonly scope: string | undefined;
  /** RFC 6749 §5.1: present when the grant issues one (a refresh rotates it). */
  readonly refreshToken: string | undefined;
}

/** RFC 6749 §2.3.1: client id and secret are form-urlencoded before Basic encoding. */
export function basicCredentials(client: ClientSecret): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, "+");
  return `Basic ${Buffer.from(`${enc(client.clientId)}:${enc(client.clientSecret)}`).toString("base64")}`;
}

export interface TokenRequestOptions {
  /**
   * How long the request may wait for its answer in all: the caller's deadline (a busy identity
   * provider is waited for within it; docs/mcp-gateway.md, "Deadlines").
   */
  readonly timeoutMs: number;
  /** How long connecting may take (default 5 s, at most `timeoutMs`): past it, nothing answers there. */
  readonly connectTimeoutMs?: number;
  readonly signal?: AbortSignal | undefined;
  readonly headers?: Record<string, string>;
}

/**
 * POSTs `form` to a token endpoint. A transport failure is a `TokenEndpointError` whose `error`
 * says which kind: `unreachable` (nothing accepted the connection, or it was lost: an outage),
 * `timed_out` (connected, no answer within `timeoutMs`) or `cancelled` (`signal`).
 */
export async function requestToken(
  endpoint: string,
  client: ClientSecret | PublicClient,
  form: URLSearchParams,
  options: TokenRequestOptions,
): Promise<TokenResponse> {
  const authorization =
    client.clientSecret !== undefined ? { authorization: basicCredentials(client) } : undefined;
  if (!authorization) form.set("client_id", client.clientId);
  let answer: TokenHttpAnswer;
  try {
    answer = await postForm(endpoint, {
      headers: {
        ...options.headers,
        ...authorization,
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json",
      },
      body: form.toString(),
      connectTimeoutMs: Math.min(options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, options.timeoutMs),
      timeoutMs: options.timeoutMs,
      signal: options.signal,
    });
  } catch (err) {
    throw transportError(err);
  }
  return tokenResponseOf(answer);
}

const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

function transportError(err: unknown): TokenEndpointError {
  if (!(err instanceof TokenHttpFailure)) {
    return new TokenEndpointError("unreachable", 0, "identity provider unreachable");
  }
  switch (err.kind) {
    case "timeout":
      return new TokenEndpointError("timed_out", 0, `identity provider: ${err.message}`);
    case "cancelled":
      return new TokenEndpointError("cancelled", 0, "the request was cancelled");
    default:
      return new TokenEndpointError("unreachable", 0, `identity provider: ${err.message}`);
  }
}

function tokenResponseOf(answer: TokenHttpAnswer): TokenResponse {
  let body: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(answer.body) as unknown;
    if (parsed && typeof parsed === "object") body = parsed as Record<string, unknown>;
  } catch {
    // not JSON: reported below as the status's server_error
  }
  const ok = answer.status >= 200 && answer.status < 300;
  if (!ok || typeof body.access_token !== "string") {
    throw new TokenEndpointError(
      typeof body.error === "string" ? body.error : "server_error",
      answer.status,
      typeof body.error_description === "string" ? body.error_description : "",
    );
  }
  const expiresIn = typeof body.expires_in === "number" ? body.expires_in : 60;
  return {
    accessToken: body.access_token,
    expiresAt: Date.now() + expiresIn * 1000,
    scope: typeof body.scope === "string" ? body.scope : undefined,
    refreshToken: typeof body.refresh_token === "string" ? body.refresh_token : undefined,
  };
}
