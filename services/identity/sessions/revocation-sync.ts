import type { Database, Listening } from "../../kit/db/index.js";
import type { Logger } from "../../kit/log/index.js";
import type { RevocationList } from "./revocation-list.js";
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
 * A revocation committed just before a reload's query may carry an older `revoked_at` than one we
 * already saw (statement start vs commit order), and the process clock may differ from the
 * database's: a reload reaches this far behind the newest revocation seen.
 */
const RELOAD_MARGIN_MS = 30_000;
const RELOAD_RETRY_MS = 1_000;

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
  let stopped = false;
  // Newest revocation time seen (database clock), the reload's starting point after a lost LISTEN.
  let newestSeen = 0;
  const remember = (sessionId: string, revokedAt: Date, reason: string) => {
    newestSeen = Math.max(newestSeen, revokedAt.getTime());
    return list.add(sessionId, revokedAt, reason);
  };

  const load = async (since: Date): Promise<number> => {
    let added = 0;
    for (const r of await store.revokedSince(since))
      if (remember(r.sessionId, r.revokedAt, r.reason)) added++;
    list.prune();
    return added;
  };

  let reloading = false;
  let retry: NodeJS.Timeout | undefined;
  const reloadMissed = () => {
    if (stopped || reloading) return;
    reloading = true;
    const from = Math.max(newestSeen - RELOAD_MARGIN_MS, Date.now() - retentionMs);
    load(new Date(from)).then(
      (added) => {
        reloading = false;
        logger.info(
          { revoked_sessions_added: added },
          "revoked sessions reloaded after a LISTEN interruption",
        );
      },
      (err: unknown) => {
        reloading = false;
        logger.warn({ err }, "revoked-session reload failed; retrying");
        retry = setTimeout(reloadMissed, RELOAD_RETRY_MS);
        retry.unref();
      },
    );
  };

  const onNotification = (sessionId: string) => {
    if (stopped || list.has(sessionId)) return;
    store.revocationOf(sessionId).then(
      (r) => {
        if (r) remember(r.sessionId, r.revokedAt, r.reason);
      },
      (err: unknown) => {
        // The notification is spent: read it back from the table instead.
        logger.warn({ err, session_id: sessionId }, "revoked-session lookup failed; reloading");
        reloadMissed();
      },
    );
  };

  // LISTEN before the initial load: a revocation committed in between is then both heard and
  // loaded (the list adds it once) rather than neither.
  let listening: Listening | undefined;
  if (db.listen) {
    listening = await db.listen(SESSION_REVOKED_CHANNEL, onNotification, { onReconnected: reloadMissed });
  } else {
    logger.warn("this database cannot LISTEN: only this process's revocations reach the list");
  }
  try {
    await load(new Date(Date.now() - retentionMs));
  } catch (err) {
    await listening?.close();
    throw err;
  }
  logger.info({ revoked_sessions: list.size, listen: listening !== undefined }, "revoked sessions loaded");

  const pruner = setInterval(() => list.prune(), options.pruneIntervalMs ?? 60_000);
  pruner.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(pruner);
      clearTimeout(retry);
      await listening?.close();
    },
  };
}
