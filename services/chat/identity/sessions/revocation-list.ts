/**
 * The revoked login sessions whose access tokens could still be presented, in memory, so the
 * edge's per-call revocation check is a Set lookup and never a database round trip.
 *
 * An entry is needed only while an access token of that session can still be valid: at most the
 * access-token lifetime (plus clock tolerance) after the revocation. Older entries are pruned, so
 * the set stays as small as the revocations of the last few minutes.
 */
export interface RevocationList {
  has(sessionId: string): boolean;
  add(sessionId: string, revokedAt: Date): void;
  /** Drops entries whose tokens have all expired. */
  prune(now?: number): void;
  readonly size: number;
}

export function createRevocationList(retentionMs: number): RevocationList {
  // sessionId → epoch ms after which no access token of the session can still verify.
  const entries = new Map<string, number>();
  return {
    has: (sessionId) => entries.has(sessionId),
    add(sessionId, revokedAt) {
      const until = revokedAt.getTime() + retentionMs;
      if ((entries.get(sessionId) ?? 0) < until) entries.set(sessionId, until);
    },
    prune(now = Date.now()) {
      for (const [sessionId, until] of entries) if (until <= now) entries.delete(sessionId);
    },
    get size() {
      return entries.size;
    },
  };
}
