import { AuthError, type AuthFailureReason } from "../../kit/auth/auth-error.js";
import { DEV_ANONYMOUS_PRINCIPAL, type Principal } from "../../kit/auth/principal.js";
import type { TokenVerifier } from "../../kit/auth/token-verifier.js";
import type { Logger } from "../../kit/log/logger.js";
import { parseBearer } from "../../kit/propagation/bearer.js";
import { currentCallScope } from "../../kit/propagation/call-scope.js";

export type Authentication =
  | { readonly ok: true; readonly principal: Principal; readonly token: string | undefined }
  | { readonly ok: false; readonly reason: AuthFailureReason; readonly description: string };

export type Authenticate = (authorization: string | undefined) => Promise<Authentication>;

/** The three log lines of the original system, verbatim (brief §5); tests and operators grep for them. */
export const LOG_MISSING = "MCP tool call missing Authorization header";
export const logAuthenticated = (userId: string) => `MCP tool authenticated for user ${userId}`;
export const logFailed = (reason: string) => `Authentication failed: ${reason}`;
export const LOG_DEV_ANONYMOUS =
  "MCP request without Authorization header runs as the development principal dev-anonymous (AUTH_DEV_ANONYMOUS=1)";

/**
 * Verifies the bearer token of one HTTP request (every request: sessions never authenticate,
 * brief §5) and records the principal in the call scope so every later log line names the user.
 * The development fallback applies only when no Authorization header is present at all: a
 * present but bad credential is refused in every mode (brief §10).
 */
export function createAuthenticator(options: {
  verifier: TokenVerifier;
  logger: Logger;
  devAnonymous: boolean;
}): Authenticate {
  const { verifier, logger } = options;
  return async (authorization) => {
    const scope = currentCallScope();
    try {
      const token = parseBearer(authorization);
      if (token === undefined) {
        if (options.devAnonymous) {
          if (scope) scope.principal = DEV_ANONYMOUS_PRINCIPAL;
          logger.warn({ dev_anonymous: true }, LOG_DEV_ANONYMOUS);
          return { ok: true, principal: DEV_ANONYMOUS_PRINCIPAL, token: undefined };
        }
        logger.warn(LOG_MISSING);
        const err = new AuthError("missing_token");
        return { ok: false, reason: err.reason, description: err.message };
      }
      const principal = await verifier.verify(token);
      // The principal only: this token's audience is this server, and it must go nowhere else (MCP
      // spec: no token passthrough). In the call scope the kit's client interceptor would forward it.
      if (scope) scope.principal = principal;
      logger.info({ scopes: principal.scopes.join(" ") }, logAuthenticated(principal.userId));
      return { ok: true, principal, token };
    } catch (err) {
      if (!(err instanceof AuthError)) throw err;
      logger.warn({ reason: err.reason, detail: err.message }, logFailed(err.reason));
      return { ok: false, reason: err.reason, description: err.message };
    }
  };
}
