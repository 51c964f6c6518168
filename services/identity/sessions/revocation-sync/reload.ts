import { loadRevokedSince, type SyncState } from "./state.js";

/**
 * A revocation committed just before a reload's query may carry an older `revoked_at` than one we
 * already saw (statement start vs commit order), and the process clock may differ from the
 * database's: a reload reaches this far behind the newest revocation seen.
 */
const RELOAD_MARGIN_MS = 30_000;
const RELOAD_RETRY_MS = 1_000;

/**
 * PostgreSQL does not queue notifications for a lost connection: reloads the revocations since the
 * newest one seen (minus a margin), retrying until it works. One reload at a time.
 */
export function reloadMissedRevocations(state: SyncState): void {
  if (state.stopped || state.reloading) return;
  state.reloading = true;
  const from = Math.max(state.newestSeen - RELOAD_MARGIN_MS, Date.now() - state.retentionMs);
  loadRevokedSince(state, new Date(from)).then(
    (added) => {
      state.reloading = false;
      state.logger.info(
        { revoked_sessions_added: added },
        "revoked sessions reloaded after a LISTEN interruption",
      );
    },
    (err: unknown) => {
      state.reloading = false;
      state.logger.warn({ err }, "revoked-session reload failed; retrying");
      state.retry = setTimeout(() => reloadMissedRevocations(state), RELOAD_RETRY_MS);
      state.retry.unref();
    },
  );
}
