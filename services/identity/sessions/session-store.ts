import { randomUUID } from "node:crypto";
import type { Database } from "../../kit/db/index.js";
import { hashRefreshToken, newRefreshToken } from "../tokens/refresh-token.js";

/** A session with its freshly issued refresh token (the only time the plain token exists server-side). */
export interface IssuedSession {
  readonly sessionId: string;
  readonly userId: string;
  readonly refreshToken: string;
  /** When the session (and so every refresh token of it) ends. */
  readonly expiresAt: Date;
}

export type RotateOutcome =
  | ({ readonly kind: "rotated" } & IssuedSession)
  /** An already-spent token was presented: the caller must revoke the session. */
  | { readonly kind: "reused"; readonly sessionId: string; readonly userId: string }
  | { readonly kind: "invalid"; readonly reason: "unknown" | "expired" | "revoked" };

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

/** Login sessions and their refresh tokens in the identity database. */
export interface SessionStore {
  create(userId: string, lifetimeSec: number): Promise<IssuedSession>;
  /**
   * Records a session named by the authorization server's grant (its refresh tokens live with the
   * grant, provider/): the unit of revocation is the same, so the feed ends it like any other.
   */
  openForGrant(grantId: string, userId: string, expiresAt: Date): Promise<void>;
  /** Spends `refreshToken` and issues its successor, atomically; concurrent use of one token is reuse. */
  rotate(refreshToken: string): Promise<RotateOutcome>;
  /** The session a refresh token (spent or not) belongs to. */
  sessionOf(refreshToken: string): Promise<{ sessionId: string; userId: string } | undefined>;
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

interface TokenRow extends Record<string, unknown> {
  session_id: string;
  user_id: string;
  used_at: Date | null;
  token_expires_at: Date;
  revoked_at: Date | null;
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

const SELECT_TOKEN = `
  SELECT rt.session_id, s.user_id, rt.used_at, rt.expires_at AS token_expires_at, s.revoked_at
    FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id
   WHERE rt.token_hash = $1`;

export function createSessionStore(db: Database): SessionStore {
  const findToken = async (hash: string) => (await db.query<TokenRow>(SELECT_TOKEN, [hash])).rows[0];

  return {
    async create(userId, lifetimeSec) {
      const sessionId = randomUUID();
      const refreshToken = newRefreshToken();
      const expiresAt = new Date(Date.now() + lifetimeSec * 1000);
      await db.transaction(async (tx) => {
        await tx.query("INSERT INTO sessions (id, user_id, expires_at) VALUES ($1, $2, $3)", [
          sessionId,
          userId,
          expiresAt.toISOString(),
        ]);
        await tx.query(
          "INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)",
          [hashRefreshToken(refreshToken), sessionId, expiresAt.toISOString()],
        );
      });
      return { sessionId, userId, refreshToken, expiresAt };
    },

    async openForGrant(grantId, userId, expiresAt) {
      await db.query(
        "INSERT INTO sessions (id, user_id, expires_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
        [grantId, userId, expiresAt.toISOString()],
      );
    },

    async rotate(refreshToken) {
      const hash = hashRefreshToken(refreshToken);
      const row = await findToken(hash);
      if (!row) return { kind: "invalid", reason: "unknown" };
      if (row.revoked_at) return { kind: "invalid", reason: "revoked" };
      if (row.used_at) return { kind: "reused", sessionId: row.session_id, userId: row.user_id };
      if (row.token_expires_at.getTime() <= Date.now()) return { kind: "invalid", reason: "expired" };

      const next = newRefreshToken();
      // The conditional UPDATE is the single-use guarantee: of two concurrent refreshes with one
      // token, exactly one flips used_at; the other sees rowCount 0.
      const spent = await db.transaction(async (tx) => {
        const res = await tx.query(
          `UPDATE refresh_tokens rt SET used_at = now()
             FROM sessions s
            WHERE rt.token_hash = $1 AND rt.used_at IS NULL AND s.id = rt.session_id AND s.revoked_at IS NULL`,
          [hash],
        );
        if (res.rowCount === 0) return false;
        await tx.query(
          "INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)",
          [hashRefreshToken(next), row.session_id, row.token_expires_at.toISOString()],
        );
        return true;
      });
      if (!spent) {
        // Lost a race: either with another use of this token (reuse) or with a logout.
        const now = await findToken(hash);
        if (now?.revoked_at) return { kind: "invalid", reason: "revoked" };
        return { kind: "reused", sessionId: row.session_id, userId: row.user_id };
      }
      return {
        kind: "rotated",
        sessionId: row.session_id,
        userId: row.user_id,
        refreshToken: next,
        expiresAt: row.token_expires_at,
      };
    },

    async sessionOf(refreshToken) {
      const row = await findToken(hashRefreshToken(refreshToken));
      return row ? { sessionId: row.session_id, userId: row.user_id } : undefined;
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
