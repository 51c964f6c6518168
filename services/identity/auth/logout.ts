import type { Logger } from "../../kit/log/logger.js";
import type { RevokeSession } from "../sessions/session-revoker.js";
import type { SessionStore } from "../sessions/session-store.js";
import { looksLikeRefreshToken } from "../tokens/refresh-token.js";

export type Logout = (refreshToken: string) => Promise<void>;

/**
 * Revokes the login session the refresh token belongs to (spent tokens of the session count too).
 * Unknown tokens succeed silently, like RFC 7009 revocation: logging out twice is not an error,
 * and the answer says nothing about which tokens exist.
 */
export function createLogout(deps: {
  sessions: SessionStore;
  revoke: RevokeSession;
  logger: Logger;
}): Logout {
  return async (refreshToken) => {
    if (!looksLikeRefreshToken(refreshToken)) return;
    const session = await deps.sessions.sessionOf(refreshToken);
    if (!session) return;
    await deps.revoke(session.sessionId, "logout");
    deps.logger.info(
      { user_id: session.userId, session_id: session.sessionId },
      "logged out: login session revoked",
    );
  };
}
