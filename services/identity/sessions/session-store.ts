import type { Database } from "#kit/db/index.js";

export interface RevokedSession {
  readonly sessionId: string;
  readonly revokedAt: Date;
  readonly reason: string;
}

/** A login session as stored (for an administrator revoking it). */
export interface StoredSession {
  readonly sessionId: string;
  readonly userId: string;
  readonly expiresAt: Date;
  readonly revokedAt: Date | undefined;
}

/**
 * The NOTIFY channel of revocations: its payload is the session id. Channels are per database, not
 * per schema, so a listener may hear other schemas' sessions: it looks each one up in its own.
 */
export const SESSION_REVOKED_CHANNEL = "session_revoked";

/**
 * Login sessions in the identity database: one per grant of the authorization server (its tokens
 * live with the grant, provider/), kept as the record of its revocation — the unit every hop
 * revokes by (`sid`), so the feed ends any of them the same way.
 */
export interface SessionStore {
  /** Records the session of a grant just made (AuthService.Login or an authorization). */
  openForGrant(grantId: string, userId: string, expiresAt: Date): Promise<void>;
  /**
   * Marks the session revoked and notifies `SESSION_REVOKED_CHANNEL` in the same statement (so the
   * other replicas hear of it exactly when it commits); returns when it was revoked, or undefined
   * if it already was (or doesn't exist).
   */
  revoke(sessionId: string, reason: string): Promise<Date | undefined>;
  /** Sessions revoked at or after `since`. */
  revokedSince(since: Date): Promise<RevokedSession[]>;
  /** The session's revocation, if it is revoked. */
  revocationOf(sessionId: string): Promise<RevokedSession | undefined>;
  find(sessionId: string): Promise<StoredSession | undefined>;
  /** Deletes sessions that ended before `before` (their tokens are long dead). */
  deleteEndedBefore(before: Date): Promise<number>;
}

interface RevokedRow extends Record<string, unknown> {
  id: string;
  revoked_at: Date;
  revoke_reason: string | null;
}

const toRevoked = (r: RevokedRow): RevokedSession => ({
  sessionId: r.id,
  revokedAt: r.revoked_at,
  reason: r.revoke_reason ?? "unknown",
});

export function createSessionStore(db: Database): SessionStore {
  return {
    async openForGrant(grantId, userId, expiresAt) {
      await db.query(
        "INSERT INTO sessions (id, user_id, expires_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
        [grantId, userId, expiresAt.toISOString()],
      );
    },

    async revoke(sessionId, reason) {
      // One statement, so one implicit transaction: the notification goes out when the UPDATE
      // commits, and only if a row actually changed.
      const { rows } = await db.query<{ revoked_at: Date }>(
        `WITH revoked AS (
           UPDATE sessions SET revoked_at = now(), revoke_reason = $2
            WHERE id = $1 AND revoked_at IS NULL RETURNING id, revoked_at)
         SELECT revoked_at, pg_notify('${SESSION_REVOKED_CHANNEL}', id) AS notified FROM revoked`,
        [sessionId, reason],
      );
      return rows[0]?.revoked_at;
    },

    async revokedSince(since) {
      const { rows } = await db.query<RevokedRow>(
        "SELECT id, revoked_at, revoke_reason FROM sessions WHERE revoked_at >= $1",
        [since.toISOString()],
      );
      return rows.map(toRevoked);
    },

    async revocationOf(sessionId) {
      const { rows } = await db.query<RevokedRow>(
        "SELECT id, revoked_at, revoke_reason FROM sessions WHERE id = $1 AND revoked_at IS NOT NULL",
        [sessionId],
      );
      return rows[0] ? toRevoked(rows[0]) : undefined;
    },

    async find(sessionId) {
      const { rows } = await db.query<{
        id: string;
        user_id: string;
        expires_at: Date;
        revoked_at: Date | null;
      }>("SELECT id, user_id, expires_at, revoked_at FROM sessions WHERE id = $1", [sessionId]);
      const row = rows[0];
      return row
        ? {
            sessionId: row.id,
            userId: row.user_id,
            expiresAt: row.expires_at,
            revokedAt: row.revoked_at ?? undefined,
          }
        : undefined;
    },

    async deleteEndedBefore(before) {
      const res = await db.query("DELETE FROM sessions WHERE expires_at < $1", [before.toISOString()]);
      return res.rowCount;
    },
  };
}
