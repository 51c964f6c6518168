import { reloadMissedRevocations } from "./reload.js";
import { remember, type SyncState } from "./state.js";

/**
 * A revoked session announced on the channel: already in the list (this replica's own, added
 * memory-first) costs nothing; any other is looked up in this replica's schema (channels are per
 * database: a foreign schema's session is not found and ignored) and added.
 */
export function addNotifiedRevocation(state: SyncState, sessionId: string): void {
  if (state.stopped || state.list.has(sessionId)) return;
  state.store.revocationOf(sessionId).then(
    (r) => {
      if (r) remember(state, r.sessionId, r.revokedAt, r.reason);
    },
    (err: unknown) => {
      // The notification is spent: read it back from the table instead.
      state.logger.warn({ err, session_id: sessionId }, "revoked-session lookup failed; reloading");
      reloadMissedRevocations(state);
    },
  );
}
