import type { Logger } from "#kit/log/index.js";
import type { FirstPartySessions } from "../provider/first-party-sessions.js";
import type { RevokeSession } from "../sessions/session-revoker.js";

export type Logout = (refreshToken: string) => Promise<void>;

/**
 * Ends the login session (the provider's grant) the refresh token belongs to — spent tokens of
 * the session count too. Unknown tokens succeed silently, like RFC 7009 revocation: logging out
 * twice is not an error, and the answer says nothing about which tokens exist.
 */
export function createLogout(deps: {
  sessions: Pick<FirstPartySessions, "grantOf">;
  revoke: RevokeSession;
  logger: Logger;
}): Logout {
  return async (refreshToken) => {
    if (refreshToken === "") return;
    const grant = await deps.sessions.grantOf(refreshToken);
    if (!grant) return;
    await deps.revoke(grant.grantId, "logout");
    deps.logger.info(
      { user_id: grant.userId, session_id: grant.grantId },
      "logged out: login session revoked",
    );
  };
}
