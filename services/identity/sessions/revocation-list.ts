/** Why a login session ended (stored as `sessions.revoke_reason`, sent on the revocation feed). */
export type RevocationReason =
  | "logout"
  | "refresh_token_reuse"
  | "user_gone"
  | "admin"
  /** An authorization code redeemed twice (RFC 6749 §4.1.2): what it issued is revoked. */
  | "authorization_code_reuse"
  /** The client revoked its grant's refresh token (RFC 7009). */
  | "client_revoked";

/** One revoked session the list still remembers. */
export interface RevokedEntry {
  readonly sessionId: string;
  readonly revokedAt: Date;
  /** A `RevocationReason`, or whatever another replica stored. */
  readonly reason: string;
}

/**
 * The revoked login sessions whose access tokens could still be presented, in memory, so the
 * edge's per-call revocation check is a Set lookup and never a database round trip.
 *
 * An entry is needed only while an access token of that session can still be valid: at most the
 * access-token lifetime (plus clock tolerance) after the revocation. Older entries are pruned, so
 * the set stays as small as the revocations of the last few minutes.
 *
 * It is also the source of the revocation feed (docs/architecture.md, "Revocation"): every session
 * entering the list — revoked here, by another replica (NOTIFY), or found on a reload — is
 * announced once to `onAdded` listeners, whichever way it came.
 */
export interface RevocationList {
  has(sessionId: string): boolean;
  /** Remembers a revoked session; true when it was not in the list yet (and was announced). */
  add(sessionId: string, revokedAt: Date, reason: string): boolean;
  /** Drops entries whose tokens have all expired. */
  prune(now?: number): void;
  /** Every entry still relevant at `now`, oldest revocation first: the feed's snapshot. */
  entries(now?: number): RevokedEntry[];
  /** Calls `listener` (synchronously) for each session entering the list; returns an unsubscribe. */
  onAdded(listener: (entry: RevokedEntry) => void): () => void;
  readonly size: number;
}

interface Stored extends RevokedEntry {
  /** Epoch ms after which no access token of the session can still verify. */
  readonly until: number;
}

export function createRevocationList(retentionMs: number): RevocationList {
  const entries = new Map<string, Stored>();
  const listeners = new Set<(entry: RevokedEntry) => void>();
  return {
    has: (sessionId) => entries.has(sessionId),
    add(sessionId, revokedAt, reason) {
      const until = revokedAt.getTime() + retentionMs;
      const known = entries.get(sessionId);
      if (known) {
        // Memory first, database second (see session-revoker.ts): keep the later end of retention
        // but the first announcement; the session was refused from that moment on.
        if (known.until < until) entries.set(sessionId, { ...known, until });
        return false;
      }
      const entry: Stored = { sessionId, revokedAt, reason, until };
      entries.set(sessionId, entry);
      const announced: RevokedEntry = { sessionId, revokedAt, reason };
      for (const listener of listeners) {
        try {
          listener(announced);
        } catch {
          // A subscriber's failure must not undo the revocation here or hide it from the others.
        }
      }
      return true;
    },
    prune(now = Date.now()) {
      for (const [sessionId, e] of entries) if (e.until <= now) entries.delete(sessionId);
    },
    entries(now = Date.now()) {
      const live: RevokedEntry[] = [];
      for (const e of entries.values()) {
        if (e.until > now) live.push({ sessionId: e.sessionId, revokedAt: e.revokedAt, reason: e.reason });
      }
      return live.sort((a, b) => a.revokedAt.getTime() - b.revokedAt.getTime());
    },
    onAdded(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    get size() {
      return entries.size;
    },
  };
}
