import { createListenerSet } from "#kit/revocation/index.js";
import type { RemovedSigningKey } from "./signing-key-store.js";

/**
 * The signing keys removed in the last `horizonMs`, in memory: the revocation feed's snapshot sends
 * them to every new subscriber, and each key entering the list is announced once to `onAdded`
 * listeners (the feed's live subscribers), whichever way it came — this replica's reload, another
 * replica's NOTIFY, or the table read at start.
 *
 * Why a horizon and not the tokens' lifetime, as for sessions: whoever holds a removed key can sign
 * tokens with any `exp`, so the list is about the verifiers that might still trust the key — those
 * that fetched the JWKS before the removal — not about tokens. A verifier remembers a removed key
 * for its whole life once told; the horizon only bounds how long one that was away may take to
 * come back and still be told.
 */
export interface RemovedKeyList {
  has(kid: string): boolean;
  /** Remembers a removal; true when the key was not in the list yet (and was announced). */
  add(key: RemovedSigningKey): boolean;
  /** Every removal within the horizon at `now`, oldest first: the feed's snapshot. */
  entries(now?: number): RemovedSigningKey[];
  onAdded(listener: (key: RemovedSigningKey) => void): () => void;
}

export function createRemovedKeyList(horizonMs: number): RemovedKeyList {
  const keys = new Map<string, RemovedSigningKey>();
  const listeners = createListenerSet<RemovedSigningKey>();
  return {
    has: (kid) => keys.has(kid),
    add(key) {
      if (keys.has(key.kid)) return false;
      keys.set(key.kid, key);
      // A subscriber's failure must not hide the removal from the others (the feed reports its own).
      listeners.notify(key, () => undefined);
      return true;
    },
    entries(now = Date.now()) {
      for (const [kid, key] of keys) if (key.removedAt.getTime() + horizonMs <= now) keys.delete(kid);
      return [...keys.values()].sort((a, b) => a.removedAt.getTime() - b.removedAt.getTime());
    },
    onAdded: (listener) => listeners.add(listener),
  };
}
