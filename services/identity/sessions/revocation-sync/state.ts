import type { Logger } from "#kit/log/index.js";
import type { RevocationList } from "../revocation-list.js";
import type { SessionStore } from "../session-store.js";

/** What the sync of one replica's revocation list reads and updates. */
export interface SyncState {
  readonly store: SessionStore;
  readonly list: RevocationList;
  readonly logger: Logger;
  /** How far back a revocation still matters (the list's retention). */
  readonly retentionMs: number;
  stopped: boolean;
  /** Newest revocation time seen (database clock), the reload's starting point after a lost LISTEN. */
  newestSeen: number;
  reloading: boolean;
  retry: NodeJS.Timeout | undefined;
}

/** Adds a revocation to the list (true when it was new there) and moves `newestSeen` on. */
export function remember(state: SyncState, sessionId: string, revokedAt: Date, reason: string): boolean {
  state.newestSeen = Math.max(state.newestSeen, revokedAt.getTime());
  return state.list.add(sessionId, revokedAt, reason);
}

/** Adds every revocation stored since `since`; returns how many were new to the list. */
export async function loadRevokedSince(state: SyncState, since: Date): Promise<number> {
  let added = 0;
  for (const r of await state.store.revokedSince(since))
    if (remember(state, r.sessionId, r.revokedAt, r.reason)) added++;
  state.list.prune();
  return added;
}
