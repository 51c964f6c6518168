/**
 * The revoked login sessions a verifier still has to refuse, each until no token of it can verify
 * any more (revocation time + the longest token lifetime + clock tolerance), like the edge's list.
 * A lookup is a Map read; expired entries answer "not revoked" at once and are dropped by `prune`.
 */
export interface RevokedSessions {
  has(sessionId: string, now?: number): boolean;
  /** Remembers `sessionId` until `until` (epoch ms); true when it was not remembered yet. */
  add(sessionId: string, until: number, now?: number): boolean;
  prune(now?: number): void;
  readonly size: number;
}

export function createRevokedSessions(): RevokedSessions {
  const until = new Map<string, number>();
  const has = (sessionId: string, now = Date.now()) => (until.get(sessionId) ?? 0) > now;
  return {
    has,
    add(sessionId, end, now = Date.now()) {
      const known = has(sessionId, now);
      if ((until.get(sessionId) ?? 0) < end) until.set(sessionId, end);
      return !known && end > now;
    },
    prune(now = Date.now()) {
      for (const [sessionId, end] of until) if (end <= now) until.delete(sessionId);
    },
    get size() {
      return until.size;
    },
  };
}
