import type { Database, Listening } from "#kit/db/index.js";
import type { Logger } from "#kit/log/index.js";
import type { RevocationList } from "./revocation-list.js";
import { addNotifiedRevocation } from "./revocation-sync/notification.js";
import { reloadMissedRevocations } from "./revocation-sync/reload.js";
import { loadRevokedSince, type SyncState } from "./revocation-sync/state.js";
import { SESSION_REVOKED_CHANNEL, type SessionStore } from "./session-store.js";

export interface RevocationSyncOptions {
  readonly db: Pick<Database, "kind" | "listen">;
  readonly store: SessionStore;
  readonly list: RevocationList;
  readonly logger: Logger;
  /** How far back a revocation still matters (the list's retention). */
  readonly retentionMs: number;
  /** How often aged-out entries are dropped from the list. */
  readonly pruneIntervalMs?: number;
}

export interface RevocationSync {
  stop(): Promise<void>;
}

/**
 * Fills the revocation list at start and keeps it current with the other identity replicas' revocations,
 * pushed by the database: every revoke sends `pg_notify('session_revoked', <session id>)` with its
 * UPDATE (`session-store.ts`), and each replica LISTENs on a dedicated connection. No polling.
 *
 * - A notification of a session already in the list (this replica's own, added memory-first) costs
 *   nothing; any other is looked up in this replica's schema (channels are per database: a
 *   foreign schema's session is not found and ignored) and added, which pushes it on the feed.
 * - PostgreSQL does not queue notifications for a lost connection: when the LISTEN connection comes
 *   back, revocations since the newest one seen (minus a margin) are reloaded, so none is missed.
 * - On PGlite this process is the only writer (the data-dir lock), so every revocation already went
 *   through its revoker; the in-process LISTEN only hears its own and skips them. One code path.
 */
export async function startRevocationSync(options: RevocationSyncOptions): Promise<RevocationSync> {
  const { db, store, list, logger, retentionMs } = options;
  const state: SyncState = {
    store,
    list,
    logger,
    retentionMs,
    stopped: false,
    newestSeen: 0,
    reloading: false,
    retry: undefined,
  };
  // LISTEN before the initial load: a revocation committed in between is then both heard and
  // loaded (the list adds it once) rather than neither.
  let listening: Listening | undefined;
  if (db.listen) {
    listening = await db.listen(
      SESSION_REVOKED_CHANNEL,
      (sessionId) => addNotifiedRevocation(state, sessionId),
      {
        onReconnected: () => reloadMissedRevocations(state),
      },
    );
  } else {
    logger.warn("this database cannot LISTEN: only this process's revocations reach the list");
  }
  try {
    await loadRevokedSince(state, new Date(Date.now() - retentionMs));
  } catch (err) {
    await listening?.close();
    throw err;
  }
  logger.info({ revoked_sessions: list.size, listen: listening !== undefined }, "revoked sessions loaded");

  const pruner = setInterval(() => list.prune(), options.pruneIntervalMs ?? 60_000);
  pruner.unref();
  return {
    async stop() {
      state.stopped = true;
      clearInterval(pruner);
      clearTimeout(state.retry);
      await listening?.close();
    },
  };
}
