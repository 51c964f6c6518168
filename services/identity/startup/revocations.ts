import type { Principal } from "#kit/auth/index.js";
import type { Config } from "#kit/config/index.js";
import type { Database } from "#kit/db/index.js";
import type { Logger } from "#kit/log/index.js";
import { endingGrantsToo } from "../provider/end-grant.js";
import { createRevocationFeed, type RevocationFeed } from "../revocation-feed/revocation-feed.js";
import { createRevocationList } from "../sessions/revocation-list.js";
import { type RevocationSync, startRevocationSync } from "../sessions/revocation-sync.js";
import { createSessionRevoker, type RevokeSession } from "../sessions/session-revoker.js";
import { createSessionStore, type SessionStore } from "../sessions/session-store.js";

/** Login sessions and their revocations, as every part of the identity provider uses them. */
export interface Revocations {
  readonly sessions: SessionStore;
  /** Other replicas' revocations, kept in the list by LISTEN/NOTIFY. */
  readonly sync: RevocationSync;
  /** Every session entering the list, pushed to RevocationService.Watch's subscribers. */
  readonly feed: RevocationFeed;
  readonly isRevoked: (principal: Principal) => boolean;
  /** Ends a login session everywhere, and its provider grant with it. */
  readonly revoke: RevokeSession;
}

/**
 * Loads revoked sessions into memory and keeps them current (docs/identity.md, "Revocation at the
 * edge"); login sessions ended over a day ago are deleted first.
 */
export async function startRevocations(options: {
  readonly db: Database;
  readonly config: Config;
  readonly logger: Logger;
  readonly heartbeatMs: number;
}): Promise<Revocations> {
  const { db, config, logger } = options;
  const sessions = createSessionStore(db);
  // A revoked session matters while one of its access tokens can still verify.
  const retentionMs = (config.ACCESS_TOKEN_TTL + config.CLOCK_TOLERANCE) * 1000;
  const revocations = createRevocationList(retentionMs);
  const deletedSessions = await sessions.deleteEndedBefore(new Date(Date.now() - 86_400_000));
  if (deletedSessions > 0) logger.info({ sessions: deletedSessions }, "deleted ended login sessions");
  // Other replicas' revocations arrive by LISTEN/NOTIFY; every session entering the list, however
  // it came, is pushed to the feed's subscribers (docs/identity.md, "Revocation at the edge").
  const sync = await startRevocationSync({ db, store: sessions, list: revocations, logger, retentionMs });
  const feed = createRevocationFeed({ list: revocations, logger, heartbeatMs: options.heartbeatMs });
  return {
    sessions,
    sync,
    feed,
    isRevoked: (principal) => revocations.has(principal.sessionId),
    revoke: endingGrantsToo(createSessionRevoker(sessions, revocations), db),
  };
}
