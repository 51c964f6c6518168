/**
 * RFC 8693 token exchange against the identity provider's token endpoint: the gateway,
 * authenticated with its client credentials (client_secret_basic), trades the caller's access
 * token for a short-lived token whose audience is the MCP server (RFC 8707 `resource`).
 */

export const TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
export const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";

export interface ExchangeRequest {
  readonly subjectToken: string;
  readonly resource: string;
  readonly scopes: readonly string[];
  /** Agent on whose behalf the gateway acts; lands in the issued token's `act.agent`. */
  readonly agentId?: string;
  readonly signal?: AbortSignal;
}

export interface ExchangedToken {
  readonly accessToken: string;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
  readonly scopes: readonly string[];
}

/** An RFC 6749 §5.2 error from the token endpoint, or a transport failure (`error: "unreachable"`). */
export class TokenExchangeError extends Error {
  override readonly name = "TokenExchangeError";
  constructor(
    readonly error: string,
    readonly status: number,
    description: string,
  ) {
    super(`token exchange failed: ${error}${description ? `: ${description}` : ""}`);
  }
}

export interface TokenExchangeClientOptions {
  readonly tokenEndpoint: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly timeoutMs?: number;
}

export interface TokenExchangeClient {
  exchange(request: ExchangeRequest): Promise<ExchangedToken>;
}

export function createTokenExchangeClient(options: TokenExchangeClientOptions): TokenExchangeClient {
  // RFC 6749 §2.3.1: client id and secret are form-urlencoded before Basic encoding.
  const basic = Buffer.from(
    `${encodeURIComponent(options.clientId)}:${encodeURIComponent(options.clientSecret)}`,
  ).toString("base64");
  const timeoutMs = options.timeoutMs ?? 5_000;

  return {
    async exchange(request) {
      const form = new URLSearchParams({
        grant_type: TOKEN_EXCHANGE_GRANT,
        subject_token: request.subjectToken,
        subject_token_type: ACCESS_TOKEN_TYPE,
        requested_token_type: ACCESS_TOKEN_TYPE,
        resource: request.resource,
        scope: request.scopes.join(" "),
      });
      if (request.agentId) form.set("agent_id", request.agentId);
      const signal = request.signal
        ? AbortSignal.any([request.signal, AbortSignal.timeout(timeoutMs)])
        : AbortSignal.timeout(timeoutMs);
      let res: Response;
      try {
        res = await fetch(options.tokenEndpoint, {
          method: "POST",
          headers: {
            authorization: `Basic ${basic}`,
            "content-type": "application/x-www-form-urlencoded",
            accept: "application/json",
          },
          body: form,
          signal,
        });
      } catch (err) {
        const reason = err instanceof Error && err.name === "TimeoutError" ? "timed out" : "unreachable";
        throw new TokenExchangeError("unreachable", 0, `identity provider ${reason}`);
      }
      const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
      if (!res.ok || typeof body.access_token !== "string") {
        throw new TokenExchangeError(
          typeof body.error === "string" ? body.error : "server_error",
          res.status,
          typeof body.error_description === "string" ? body.error_description : "",
        );
      }
      const expiresIn = typeof body.expires_in === "number" ? body.expires_in : 60;
      return {
        accessToken: body.access_token,
        expiresAt: Date.now() + expiresIn * 1000,
        scopes: typeof body.scope === "string" ? body.scope.split(" ").filter(Boolean) : [...request.scopes],
      };
    },
  };
}
