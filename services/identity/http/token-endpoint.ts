import { describeChain } from "../../kit/auth/principal.js";
import type { Logger } from "../../kit/log/logger.js";
import { currentCallScope } from "../../kit/propagation/call-scope.js";
import { joinCall, nodeHeader } from "../../kit/propagation/join-call.js";
import type { HttpRequest, HttpResponse, HttpRouteHandler } from "../../kit/server/service-server.js";
import {
  CLIENT_CREDENTIALS_GRANT,
  type GrantType,
  type RegisteredClient,
  TOKEN_EXCHANGE_GRANT,
} from "../clients/client-registry.js";
import type { createTokenExchange } from "../exchange/token-exchange.js";
import { MCP_CLIENT_GRANTS, type McpClientGrants } from "../oauth/grants/token-grants.js";
import type { createClientCredentialsGrant } from "../service-tokens/client-credentials.js";
import { clientAddressFrom } from "../throttle/client-address.js";
import type { ClientAuthThrottle } from "../throttle/client-auth-throttle.js";
import { authenticateClient, parseBasic } from "./client-auth.js";
import { type Form, readForm } from "./form-body.js";
import { invalidRequest, OAuthError, sendJson, sendOAuthError } from "./oauth-response.js";

export const TOKEN_ENDPOINT_PATH = "/oauth2/token";

export interface TokenEndpointOptions {
  readonly exchange: ReturnType<typeof createTokenExchange>;
  readonly clientCredentials: ReturnType<typeof createClientCredentialsGrant>;
  readonly clients: readonly RegisteredClient[];
  /** Realm of the Basic challenge on invalid_client. */
  readonly realm: string;
  readonly logger: Logger;
  /**
   * Failed client authentications per client address: past the limit a failure is held and
   * answered 429; the secret is still compared, so the right one is always served.
   */
  readonly clientFailures: ClientAuthThrottle;
  readonly trustedProxyHops: number;
  /**
   * authorization_code and refresh_token for MCP clients (oauth/): public or registered clients,
   * identified by the authorization server, not by the service clients' secrets above.
   */
  readonly mcpClientGrants?: McpClientGrants;
}

const GRANTS: readonly string[] = [CLIENT_CREDENTIALS_GRANT, TOKEN_EXCHANGE_GRANT];

/**
 * `POST /oauth2/token` (RFC 6749 §3.2), plain HTTP on the identity port, for our services only
 * (clients/client-registry.ts): client credentials (service tokens) and the RFC 8693 exchange for
 * the MCP hop, each grant only to the clients registered for it. Every answer is JSON with
 * `Cache-Control: no-store`; errors are RFC 6749 §5.2 objects.
 */
export function createTokenEndpoint(options: TokenEndpointOptions): HttpRouteHandler {
  const { logger } = options;
  return async (req: HttpRequest, res: HttpResponse) => {
    // Plain HTTP routes skip the Connect interceptors: join the caller's trace with the same core.
    joinCall(nodeHeader(req.headers), `POST ${TOKEN_ENDPOINT_PATH}`);
    let clientId: string | undefined;
    try {
      if (req.method !== "POST") {
        throw new OAuthError(405, "invalid_request", "the token endpoint accepts POST only", {
          allow: "POST",
        });
      }
      const address = clientAddressFrom(
        header(req, "x-forwarded-for"),
        options.trustedProxyHops,
        req.socket.remoteAddress,
      );
      const form = await readForm(req);
      const requestedGrant = form.get("grant_type");
      // Our services' clients keep their own grants only, whatever grant_type they send.
      const serviceClient = options.clients.some((c) => c.clientId === presentedClientId(req, form));
      if (options.mcpClientGrants && !serviceClient && MCP_CLIENT_GRANTS.some((g) => g === requestedGrant)) {
        const result = await options.mcpClientGrants.handle(
          req.headers.authorization,
          form,
          requestedGrant as string,
        );
        clientId = result.clientId;
        logger.info(result.log, "token issued to an MCP client");
        // Browser-based MCP clients call this cross-origin; no cookie or ambient credential counts here.
        sendJson(res, 200, result.body, { "access-control-allow-origin": "*" });
        return;
      }
      const client = await authenticate(req, form, address, options);
      clientId = client.clientId;
      const grantType = form.get("grant_type");
      if (!grantType) throw invalidRequest("missing parameter grant_type");
      if (!GRANTS.includes(grantType)) {
        const supported = [...GRANTS, ...(options.mcpClientGrants ? MCP_CLIENT_GRANTS : [])];
        throw new OAuthError(400, "unsupported_grant_type", `supported: ${supported.join(", ")}`);
      }
      if (!client.grants.has(grantType as GrantType)) {
        throw new OAuthError(
          400,
          "unauthorized_client",
          `client "${client.clientId}" may not use ${grantType}`,
        );
      }
      if (grantType === CLIENT_CREDENTIALS_GRANT) {
        const result = await options.clientCredentials(form, client);
        logger.info(
          {
            client_id: clientId,
            audience: result.audience,
            agent: result.agent,
            expires_in: result.body.expires_in,
            jti: result.jti,
          },
          "service token issued",
        );
        sendJson(res, 200, result.body);
        return;
      }
      const result = await options.exchange(form, clientId);
      const scope = currentCallScope();
      if (scope) scope.principal = result.subject;
      logger.info(
        {
          client_id: clientId,
          agent: result.agent,
          actor_chain: describeChain(result),
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
      sendOAuthError(res, withCors(err));
    }
  };
}

/**
 * Client authentication with throttling that can't be turned against the client (issue 9): the
 * secret is always compared and a right one always served; only failures count, and past the
 * limit they are held and answered 429 (throttle/client-auth-throttle.ts).
 */
async function authenticate(
  req: HttpRequest,
  form: Form,
  address: string | undefined,
  options: TokenEndpointOptions,
): Promise<RegisteredClient> {
  try {
    return authenticateClient(req.headers.authorization, form, options.clients, options.realm);
  } catch (err) {
    if (!(err instanceof OAuthError) || err.error !== "invalid_client") throw err;
    const answer = await options.clientFailures.failed(address);
    if (!answer.throttled) throw err;
    throw new OAuthError(
      429,
      "temporarily_unavailable",
      `too many failed client authentications from this address; retry in ${answer.retryAfterSec} s`,
      { "retry-after": String(answer.retryAfterSec) },
    );
  }
}

function header(req: HttpRequest, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === "string" ? value : undefined;
}

// Refusals are readable by browser-based MCP clients too (they carry no credential).
function withCors(err: OAuthError): OAuthError {
  return new OAuthError(err.status, err.error, err.description, {
    ...err.headers,
    "access-control-allow-origin": "*",
  });
}

/** The client id a request names (Basic user name or `client_id`), unauthenticated: for routing only. */
function presentedClientId(req: HttpRequest, form: Form): string | undefined {
  const authorization = req.headers.authorization;
  if (authorization && /^\s*Basic\s/i.test(authorization)) return parseBasic(authorization)?.id;
  return form.get("client_id");
}
