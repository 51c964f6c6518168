import { randomUUID } from "node:crypto";
import type { Logger } from "../../../kit/log/logger.js";
import { currentCallScope } from "../../../kit/propagation/call-scope.js";
import { childSpan, parseTraceparent } from "../../../kit/propagation/trace-context.js";
import type { HttpRequest, HttpResponse, HttpRoute } from "../../../kit/server/service-server.js";
import { type createTokenExchange, TOKEN_EXCHANGE_GRANT } from "../exchange/token-exchange.js";
import { clientAddressFrom } from "../throttle/client-address.js";
import type { SlidingWindow } from "../throttle/sliding-window.js";
import { authenticateClient, type RegisteredClient } from "./client-auth.js";
import { readForm } from "./form-body.js";
import { invalidRequest, OAuthError, sendJson, sendOAuthError } from "./oauth-response.js";

export const TOKEN_ENDPOINT_PATH = "/oauth2/token";

export interface TokenEndpointOptions {
  readonly exchange: ReturnType<typeof createTokenExchange>;
  readonly clients: readonly RegisteredClient[];
  /** Realm of the Basic challenge on invalid_client. */
  readonly realm: string;
  readonly logger: Logger;
  /**
   * Failed client authentications per client address: past the limit the address is refused with
   * 429 before its secret is even compared, until old failures leave the window (secret guessing).
   */
  readonly clientFailures: SlidingWindow;
  readonly trustedProxyHops: number;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * `POST /oauth2/token` (RFC 6749 §3.2), plain HTTP on the chat port. Only the RFC 8693 token
 * exchange grant is offered: the gateway is its only client. Every answer is JSON with
 * `Cache-Control: no-store`; errors are RFC 6749 §5.2 objects.
 */
export function createTokenEndpoint(options: TokenEndpointOptions): HttpRoute {
  const { logger } = options;
  return async (req: HttpRequest, res: HttpResponse) => {
    joinTrace(req);
    let clientId: string | undefined;
    try {
      if (req.method !== "POST") {
        throw new OAuthError(405, "invalid_request", "the token endpoint accepts POST only", {
          allow: "POST",
        });
      }
      const address = clientAddressFrom(header(req, "x-forwarded-for"), options.trustedProxyHops, req.socket.remoteAddress);
      const waitMs = address ? options.clientFailures.blockedFor(address, Date.now()) : 0;
      if (waitMs > 0) {
        const wait = Math.ceil(waitMs / 1000);
        throw new OAuthError(
          429,
          "temporarily_unavailable",
          `too many failed client authentications from this address; retry in ${wait} s`,
          { "retry-after": String(wait) },
        );
      }
      const form = await readForm(req);
      try {
        clientId = authenticateClient(req.headers.authorization, form, options.clients, options.realm);
      } catch (err) {
        if (address && err instanceof OAuthError && err.error === "invalid_client") {
          options.clientFailures.record(address, Date.now());
        }
        throw err;
      }
      const grantType = form.get("grant_type");
      if (!grantType) throw invalidRequest("missing parameter grant_type");
      if (grantType !== TOKEN_EXCHANGE_GRANT) {
        throw new OAuthError(400, "unsupported_grant_type", `only ${TOKEN_EXCHANGE_GRANT} is supported`);
      }
      const result = await options.exchange(form, clientId);
      const scope = currentCallScope();
      if (scope) scope.principal = result.subject;
      logger.info(
        {
          client_id: clientId,
          agent: result.agent,
          session_id: result.subject.sessionId,
          scope: result.body.scope,
          expires_in: result.body.expires_in,
          jti: result.jti,
        },
        "token exchanged for the MCP resource",
      );
      sendJson(res, 200, result.body);
    } catch (err) {
      if (!(err instanceof OAuthError)) {
        logger.error({ err, client_id: clientId }, "token endpoint failed");
        sendOAuthError(res, new OAuthError(500, "server_error", "internal error"));
        return;
      }
      logger.warn(
        { client_id: clientId, error: err.error, error_description: err.description, status: err.status },
        `token request refused: ${err.error}`,
      );
      sendOAuthError(res, err);
    }
  };
}

function header(req: HttpRequest, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === "string" ? value : undefined;
}

/** Plain HTTP routes skip the Connect interceptors, so the request joins the caller's trace here. */
function joinTrace(req: HttpRequest): void {
  const scope = currentCallScope();
  if (!scope) return;
  const incoming = req.headers["x-request-id"];
  const traceparent = req.headers.traceparent;
  scope.trace = childSpan(parseTraceparent(typeof traceparent === "string" ? traceparent : undefined));
  scope.requestId = typeof incoming === "string" && REQUEST_ID.test(incoming) ? incoming : randomUUID();
  scope.procedure = `POST ${TOKEN_ENDPOINT_PATH}`;
}
