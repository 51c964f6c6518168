import type { Logger } from "../../../kit/log/logger.js";
import type { RevocationList } from "./revocation-list.js";
import type { SessionStore } from "./session-store.js";

export interface RevocationSyncOptions {
  readonly store: SessionStore;
  readonly list: RevocationList;
  readonly logger: Logger;
  /** How far back a revocation still matters (the list's retention). */
  readonly retentionMs: number;
  /**
   * Poll interval for revocations made by other processes (chat replicas sharing one PostgreSQL);
   * undefined when this process is the only writer (embedded database), where revocations made
   * here are added to the list directly and polling would find nothing new.
   */
  readonly pollIntervalMs: number | undefined;
}

/** Fills the revocation list at start and keeps it current; returns a stop function. */
export async function startRevocationSync(options: RevocationSyncOptions): Promise<() => void> {
  const { store, list, logger } = options;
  let since = new Date(Date.now() - options.retentionMs);
  const load = async () => {
    // Overlap by a second: a revocation committed just before our previous query with an older
    // timestamp must not be missed; adding an entry twice is harmless.
    const from = new Date(since.getTime() - 1000);
    const started = new Date();
    for (const r of await store.revokedSince(from)) list.add(r.sessionId, r.revokedAt);
    since = started;
    list.prune();
  };
  await load();
  logger.info({ revoked_sessions: list.size }, "revoked sessions loaded");

  const timer = setInterval(() => {
    if (options.pollIntervalMs === undefined) {
      list.prune();
      return;
    }
    load().catch((err: unknown) => logger.warn({ err }, "revoked-session sync failed; will retry"));
  }, options.pollIntervalMs ?? 60_000);
  timer.unref();
  return () => clearInterval(timer);
}
