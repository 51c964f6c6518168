import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "../../kit/log/logger.js";
import type { RevokeSession } from "../sessions/session-revoker.js";
import type { SessionStore } from "../sessions/session-store.js";
import { looksLikeRefreshToken } from "../tokens/refresh-token.js";
import type { UserStore } from "../users/user-store.js";
import type { IssuedTokens, IssueTokens } from "./issue-tokens.js";

export interface RefreshDeps {
  readonly users: UserStore;
  readonly sessions: SessionStore;
  readonly revoke: RevokeSession;
  readonly issue: IssueTokens;
  readonly logger: Logger;
}

export type Refresh = (refreshToken: string) => Promise<IssuedTokens>;

/**
 * Rotates a refresh token (single use). Presenting a token that was already rotated means two
 * parties hold the session's tokens — the legitimate client and a thief, in an unknown order — so
 * the whole session is revoked (OAuth 2.0 Security BCP, refresh token rotation).
 * The new access token carries the user's current roles.
 */
export function createRefresh(deps: RefreshDeps): Refresh {
  const { logger } = deps;
  return async (refreshToken) => {
    if (refreshToken === "") throw new ConnectError("refresh_token is required", Code.InvalidArgument);
    if (!looksLikeRefreshToken(refreshToken))
      throw new ConnectError("invalid refresh token", Code.Unauthenticated);

    const outcome = await deps.sessions.rotate(refreshToken);
    switch (outcome.kind) {
      case "invalid":
        logger.warn({ reason: outcome.reason }, "refresh refused");
        throw new ConnectError(
          outcome.reason === "unknown"
            ? "invalid refresh token"
            : `the login session has ${outcome.reason === "expired" ? "expired" : "been revoked"}; log in again`,
          Code.Unauthenticated,
        );
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
        const user = await deps.users.findById(outcome.userId);
        if (!user) {
          await deps.revoke(outcome.sessionId, "user_gone");
          throw new ConnectError("the session's user no longer exists", Code.Unauthenticated);
        }
        const issued = await deps.issue(user, outcome);
        logger.info({ user_id: user.id, session_id: outcome.sessionId }, "refresh token rotated");
        return issued;
      }
    }
  };
}
