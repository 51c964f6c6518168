import type { Database } from "#kit/db/index.js";
import type { RevokeSession } from "../sessions/session-revoker.js";

/**
 * A session revoker that also ends the authorization server's grant of the same id (docs/identity.md,
 * "Revocation"): logout, an administrator's RevokeSession or a reuse detected elsewhere then leave
 * no refresh token or code of that grant to mint a fresh token with. Sessions of AuthService.Login
 * have no grant; the delete finds nothing for them.
 */
export function endingGrantsToo(revoke: RevokeSession, db: Database): RevokeSession {
  return async (sessionId, reason) => {
    await revoke(sessionId, reason);
    await db.query("DELETE FROM oidc_models WHERE grant_id = $1 OR (model = 'Grant' AND id = $1)", [
      sessionId,
    ]);
  };
}
