import type { AuthFailureReason } from "#kit/auth/index.js";
import {
  actingAgent,
  authenticateBearer,
  type BearerAuthOptions,
  describeChain,
  type Principal,
} from "#kit/auth/index.js";
import type { Logger } from "#kit/log/index.js";
import { currentCallScope } from "#kit/propagation/index.js";

export type Authentication =
  | { readonly ok: true; readonly principal: Principal; readonly token: string | undefined }
  | { readonly ok: false; readonly reason: AuthFailureReason; readonly description: string };

export type Authenticate = (authorization: string | undefined) => Promise<Authentication>;

/** The three log lines of the original system, verbatim (docs/mcp-server.md); tests and operators grep for them. */
export const LOG_MISSING = "MCP tool call missing Authorization header";
export const logAuthenticated = (userId: string) => `MCP tool authenticated for user ${userId}`;
export const logFailed = (reason: string) => `Authentication failed: ${reason}`;
export const LOG_DEV_ANONYMOUS =
  "MCP request without Authorization header runs as the development principal dev-anonymous (AUTH_DEV_ANONYMOUS=1)";

/**
 * Verifies the bearer token of one HTTP request (every request: sessions never authenticate,
 * docs/mcp-server.md, "Authentication") with the kit's one bearer core, and records the principal in the call scope so every
 * later log line names the user. The development fallback applies only when no Authorization
 * header is present at all: a present but bad credential is refused in every mode (docs/mcp-server.md, "Development fallback").
 *
 * The authenticated line carries the delegation chain as the verified token states it
 * (docs/architecture.md, "The delegation chain"): `actor_chain` "mcp-gateway ← agent(ticket-reader)"
 * and the acting `agent`; both absent for a user's own token.
 */
export function createAuthenticator(
  options: Omit<BearerAuthOptions, "devAnonymous"> & { logger: Logger; devAnonymous: boolean },
): Authenticate {
  const { logger } = options;
  return async (authorization) => {
    const scope = currentCallScope();
    const outcome = await authenticateBearer(authorization, {
      ...options,
      devAnonymous: options.devAnonymous && authorization === undefined,
    });
    if (!outcome.ok) {
      const { reason, message } = outcome.error;
      scope?.telemetry?.authRefusals.inc({ credential: "user", reason });
      if (reason === "missing_token") logger.warn(LOG_MISSING);
      else logger.warn({ reason, detail: message }, logFailed(reason));
      return { ok: false, reason, description: message };
    }
    const { principal, token } = outcome;
    // The principal only: this token's audience is this server, and it must go nowhere else (MCP
    // spec: no token passthrough). In the call scope the kit's client interceptor would forward it.
    if (scope) scope.principal = principal;
    if (principal.anonymous && token === undefined) {
      logger.warn({ dev_anonymous: true }, LOG_DEV_ANONYMOUS);
    } else {
      const chain = describeChain(principal);
      logger.info(
        {
          scopes: principal.scopes.join(" "),
          ...(chain ? { actor_chain: chain } : {}),
          ...(actingAgent(principal) ? { agent: actingAgent(principal) } : {}),
        },
        logAuthenticated(principal.userId),
      );
    }
    return { ok: true, principal, token };
  };
}
