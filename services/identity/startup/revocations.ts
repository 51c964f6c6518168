import type { Principal } from "#kit/auth/index.js";
import type { Config } from "#kit/config/index.js";
import type { Database } from "#kit/db/index.js";
import type { Logger } from "#kit/log/index.js";
import type { KeyRing } from "../keys/key-ring.js";
import type { RemovedKeyList } from "../keys/removed-key-list.js";
import { startRemovedKeySync } from "../keys/removed-key-sync.js";
import { endingGrantsToo } from "../provider/end-grant.js";
import { createRevocationFeed, type RevocationFeed } from "../revocation-feed/revocation-feed.js";
import { createRevocationList } from "../sessions/revocation-list.js";
import { type RevocationSync, startRevocationSync } from "../sessions/revocation-sync.js";
import { createSessionRevoker, type RevokeSession } from "../sessions/session-revoker.js";
import { createSessionStore, type SessionStore } from "../sessions/session-store.js";

/** Login sessions and their revocations, as every part of the identity provider uses them. */
export interface Revocations {
  readonly sessions: SessionStore;
  /** Other replicas' revocations and every key removal, kept in the lists by LISTEN/NOTIFY. */
  readonly sync: RevocationSync;
  /** Every session and removed key entering the lists, pushed to RevocationService.Watch's subscribers. */
  readonly feed: RevocationFeed;
  readonly isRevoked: (principal: Principal) => boolean;
  /** Ends a login session everywhere, and its provider grant with it. */
  readonly revoke: RevokeSession;
}

/**
 * Loads revoked sessions and removed signing keys into memory and keeps them current
 * (docs/identity.md, "Revocation at the edge"); login sessions ended over a day ago are deleted
 * first.
 */
export async function startRevocations(options: {
  readonly db: Database;
  readonly config: Config;
  readonly logger: Logger;
  readonly keyRing: KeyRing;
  /** The removed signing keys, filled here (removed-key-sync.ts) and sent on the feed. */
  readonly removedKeys: RemovedKeyList;
  readonly heartbeatMs: number;
}): Promise<Revocations> {
  const { db, config, logger, keyRing, removedKeys } = options;
  const sessions = createSessionStore(db);
  // A revoked session matters while one of its access tokens can still verify.
  const retentionMs = (config.ACCESS_TOKEN_TTL + config.CLOCK_TOLERANCE) * 1000;
  const revocations = createRevocationList(retentionMs);
  const deletedSessions = await sessions.deleteEndedBefore(new Date(Date.now() - 86_400_000));
  if (deletedSessions > 0) logger.info({ sessions: deletedSessions }, "deleted ended login sessions");
  // Other replicas' revocations arrive by LISTEN/NOTIFY; every session entering the list, however
  // it came, is pushed to the feed's subscribers (docs/identity.md, "Revocation at the edge").
  const sessionSync = await startRevocationSync({
    db,
    store: sessions,
    list: revocations,
    logger,
    retentionMs,
  });
  let keySync: Awaited<ReturnType<typeof startRemovedKeySync>>;
  try {
    keySync = await startRemovedKeySync({ db, keyRing, list: removedKeys, logger });
  } catch (err) {
    await sessionSync.stop();
    throw err;
  }
  const feed = createRevocationFeed({
    list: revocations,
    removedKeys,
    logger,
    heartbeatMs: options.heartbeatMs,
  });
  return {
    sessions,
    sync: { stop: async () => void (await Promise.all([sessionSync.stop(), keySync.stop()])) },
    feed,
    isRevoked: (principal) => revocations.has(principal.sessionId),
    revoke: endingGrantsToo(createSessionRevoker(sessions, revocations), db),
  };
}
