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

/** An RFC 6749 §5.2 error from the token endpoint, or a transport failure (`error: "unreachable"`). */
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

export async function requestToken(
  endpoint: string,
  client: ClientSecret | PublicClient,
  form: URLSearchParams,
  options: { timeoutMs: number; signal?: AbortSignal | undefined; headers?: Record<string, string> },
): Promise<TokenResponse> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  let res: Response;
  const authorization =
    client.clientSecret !== undefined ? { authorization: basicCredentials(client) } : undefined;
  if (!authorization) form.set("client_id", client.clientId);
  try {
    res = await fetch(endpoint, {
      method: "POST",
      headers: {
        ...options.headers,
        ...authorization,
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json",
      },
      body: form,
      signal,
    });
  } catch (err) {
    const reason = err instanceof Error && err.name === "TimeoutError" ? "timed out" : "unreachable";
    throw new TokenEndpointError("unreachable", 0, `identity provider ${reason}`);
  }
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok || typeof body.access_token !== "string") {
    throw new TokenEndpointError(
      typeof body.error === "string" ? body.error : "server_error",
      res.status,
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
