import { context, SpanKind, trace } from "@opentelemetry/api";
import { type ClientSecret, requestToken, TokenEndpointError } from "#kit/auth/index.js";
import { callAttributes, currentTelemetry, endSpan, outgoingCallHeaders } from "#kit/propagation/index.js";

/**
 * RFC 8693 token exchange against the identity provider's token endpoint: the gateway,
 * authenticated with its client credentials (client_secret_basic), trades the caller's access
 * token (`subject_token`) and the agent service's credential it was called with (`actor_token`)
 * for a short-lived token whose audience is the MCP server (RFC 8707 `resource`) and whose `act`
 * claim carries the whole chain (docs/architecture.md, "The exchange with an actor").
 */

export const TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
export const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";

export interface ExchangeRequest {
  /** The caller's access token; undefined for the development principal (AUTH_DEV_ANONYMOUS). */
  readonly subjectToken: string | undefined;
  /** The agent service's token addressed to the gateway, naming the agent; absent for direct development calls. */
  readonly actorToken?: string;
  readonly resource: string;
  readonly scopes: readonly string[];
  /** How long to wait for the answer: what is left of the calling RPC's deadline (default 30 s). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface ExchangedToken {
  readonly accessToken: string;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
  readonly scopes: readonly string[];
}

/**
 * An RFC 6749 §5.2 error from the token endpoint, or a transport failure: `unreachable` (nothing
 * accepts the connection: an outage), `timed_out` (connected, no answer within the call's deadline).
 */
export class TokenExchangeError extends TokenEndpointError {
  override readonly name: string = "TokenExchangeError";
  constructor(error: string, status: number, description: string) {
    super(error, status, description);
    this.message = `token exchange failed: ${this.message}`;
  }
}

export interface TokenExchangeClientOptions {
  readonly tokenEndpoint: string;
  readonly client: ClientSecret;
  /**
   * How long connecting to the token endpoint may take (`MCP_CONNECT_TIMEOUT`). Only connecting:
   * waiting for the answer is bounded by each request's `timeoutMs` (docs/mcp-gateway.md, "Deadlines").
   */
  readonly connectTimeoutMs?: number;
}

/** `MCP_CALL_TIMEOUT`'s default: for an exchange asked for outside any call. */
const DEFAULT_ANSWER_MS = 30_000;

export interface TokenExchangeClient {
  exchange(request: ExchangeRequest): Promise<ExchangedToken>;
}

export function createTokenExchangeClient(options: TokenExchangeClientOptions): TokenExchangeClient {
  return {
    async exchange(request) {
      const form = new URLSearchParams({
        grant_type: TOKEN_EXCHANGE_GRANT,
        ...(request.subjectToken !== undefined
          ? { subject_token: request.subjectToken, subject_token_type: ACCESS_TOKEN_TYPE }
          : {}),
        requested_token_type: ACCESS_TOKEN_TYPE,
        resource: request.resource,
        scope: request.scopes.join(" "),
      });
      if (request.actorToken) {
        form.set("actor_token", request.actorToken);
        form.set("actor_token_type", ACCESS_TOKEN_TYPE);
      }
      // A client span of its own (docs/architecture.md, "Telemetry"): who for, never a token.
      const span = currentTelemetry()?.tracer.startSpan("oauth2 token_exchange", {
        kind: SpanKind.CLIENT,
        attributes: {
          "oauth2.grant_type": TOKEN_EXCHANGE_GRANT,
          "support_ext.resource": request.resource,
          ...callAttributes(),
        },
      });
      const ctx = span ? trace.setSpan(context.active(), span) : context.active();
      try {
        // The exchange belongs to the call that needed it: the identity provider's log line for it
        // carries that call's trace and request id (docs/architecture.md, identity propagation).
        const t = await context.with(ctx, () =>
          requestToken(options.tokenEndpoint, options.client, form, {
            timeoutMs: request.timeoutMs ?? DEFAULT_ANSWER_MS,
            ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
            signal: request.signal,
            headers: outgoingCallHeaders(),
          }),
        );
        if (span) endSpan(span);
        return {
          accessToken: t.accessToken,
          expiresAt: t.expiresAt,
          scopes: t.scope !== undefined ? t.scope.split(" ").filter(Boolean) : [...request.scopes],
        };
      } catch (err) {
        if (span) endSpan(span, err instanceof TokenEndpointError ? err.error : "unreachable");
        if (err instanceof TokenEndpointError)
          throw new TokenExchangeError(err.error, err.status, err.description);
        throw err;
      }
    },
  };
}
