import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "#kit/log/index.js";
import type { FirstPartySessions, IssuedTokens } from "../provider/first-party-sessions.js";
import type { RevokeSession } from "../sessions/session-revoker.js";

export interface RefreshDeps {
  readonly sessions: Pick<FirstPartySessions, "refresh">;
  readonly revoke: RevokeSession;
  readonly logger: Logger;
}

export type Refresh = (refreshToken: string) => Promise<IssuedTokens>;

// A revoked session's tokens are deleted with its grant: an unknown token may be one of them.
const REFUSALS = {
  unknown: "invalid refresh token, or its login session has been revoked or has ended; log in again",
  expired: "the login session has expired; log in again",
  ended: "the login session has ended (logged out, revoked or expired); log in again",
  user_gone: "the session's user no longer exists",
} as const;

/**
 * Rotates a refresh token (single use) through the provider's refresh grant. A token that was
 * already rotated means two parties hold the session's tokens — the legitimate client and a thief,
 * in an unknown order — so the whole session is revoked (RFC 9700 §4.14.2), everywhere within a
 * second. The new access token carries the user's current roles.
 */
export function createRefresh(deps: RefreshDeps): Refresh {
  const { logger } = deps;
  return async (refreshToken) => {
    if (refreshToken === "") throw new ConnectError("refresh_token is required", Code.InvalidArgument);
    const outcome = await deps.sessions.refresh(refreshToken);
    switch (outcome.kind) {
      case "refused":
        logger.warn({ reason: outcome.reason }, "refresh refused");
        throw new ConnectError(REFUSALS[outcome.reason], Code.Unauthenticated);
      case "reused":
        await deps.revoke(outcome.sessionId, "refresh_token_reuse");
        logger.warn(
          { user_id: outcome.userId, session_id: outcome.sessionId },
          "refresh token reuse detected: login session revoked",
        );
        throw new ConnectError(
          "refresh token was already used; the login session has been revoked, log in again",
          Code.Unauthenticated,
        );
      case "rotated": {
        const { issued } = outcome;
        logger.info({ user_id: issued.user.id, session_id: issued.sessionId }, "refresh token rotated");
        return issued;
      }
    }
  };
}
