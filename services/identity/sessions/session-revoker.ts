import type { RevocationList, RevocationReason } from "./revocation-list.js";
import type { SessionStore } from "./session-store.js";

/**
 * Revokes a login session in the database and in the edge's in-memory revocation list, whose
 * listeners push it on the revocation feed. Other identity replicas learn it from the NOTIFY the store
 * sends with the UPDATE (`revocation-sync.ts`).
 */
export type RevokeSession = (sessionId: string, reason: RevocationReason) => Promise<void>;

export function createSessionRevoker(store: SessionStore, list: RevocationList): RevokeSession {
  return async (sessionId, reason) => {
    // Memory first: if the database write fails the session is still refused here and on the feed
    // (fail closed), and the caller sees the error and can retry. It is also the fastest path to
    // the subscribers: they hear of it before the UPDATE has even been sent.
    list.add(sessionId, new Date(), reason);
    const revokedAt = await store.revoke(sessionId, reason);
    if (revokedAt) list.add(sessionId, revokedAt, reason);
  };
}
