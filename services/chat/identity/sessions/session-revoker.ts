import type { RevocationList } from "./revocation-list.js";
import type { SessionStore } from "./session-store.js";

/** Revokes a login session in the database and in the edge's in-memory revocation list. */
export type RevokeSession = (
  sessionId: string,
  reason: "logout" | "refresh_token_reuse" | "user_gone",
) => Promise<void>;

export function createSessionRevoker(store: SessionStore, list: RevocationList): RevokeSession {
  return async (sessionId, reason) => {
    // Memory first: if the database write fails the session is still refused here (fail closed),
    // and the caller sees the error and can retry.
    list.add(sessionId, new Date());
    const revokedAt = await store.revoke(sessionId, reason);
    if (revokedAt) list.add(sessionId, revokedAt);
  };
}
