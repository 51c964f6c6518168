import type { Database } from "#kit/db/index.js";
import type { RevokeSession } from "../sessions/session-revoker.js";
import { GRANT_BOUND_SQL } from "./storage/sql-adapter.js";

/**
 * A session revoker that also ends the authorization server's grant of the same id (docs/identity.md,
 * "Revocation"): logout, an administrator's RevokeSession or a reuse detected elsewhere then leave
 * no refresh token or code of that grant to mint a fresh token with. Sessions of AuthService.Login
 * have no grant; the delete finds nothing for them.
 */
export function endingGrantsToo(revoke: RevokeSession, db: Database): RevokeSession {
  return async (sessionId, reason) => {
    await revoke(sessionId, reason);
    // The grant's credentials and the grant — not an authorization request under way that names
    // it (an Interaction carries the session's grant for its client): a second person signing in
    // to the same client in the same browser ends the first's grant, and must still finish.
    await db.query(
      `DELETE FROM oidc_models
        WHERE (grant_id = $1 AND model IN (${GRANT_BOUND_SQL})) OR (model = 'Grant' AND id = $1)`,
      [sessionId],
    );
  };
}
