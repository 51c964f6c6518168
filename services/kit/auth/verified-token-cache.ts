/**
 * Bounded LRU of tokens that already passed verification, keyed by the compact token itself
 * (its signature makes the key unforgeable). Entries die with the token's `exp`, so a cached
 * answer is never more permissive than a fresh verification within the clock tolerance.
 * Revocation is not this cache's job: the edge checks revoked sessions on every call, and the
 * verifier removed keys on every hit.
 */
export class VerifiedTokenCache<T extends { readonly expiresAt: number }> {
  private readonly entries = new Map<string, T>();
  constructor(private readonly capacity: number) {}

  /** The principal if `token` is cached and still unexpired at `nowSec`. */
  get(token: string, nowSec: number): T | undefined {
    const hit = this.entries.get(token);
    if (!hit) return undefined;
    if (hit.expiresAt <= nowSec) {
      this.entries.delete(token);
      return undefined;
    }
    // Refresh recency: Map iteration order is insertion order.
    this.entries.delete(token);
    this.entries.set(token, hit);
    return hit;
  }

  delete(token: string): void {
    this.entries.delete(token);
  }

  set(token: string, principal: T): void {
    if (this.capacity <= 0) return;
    this.entries.delete(token);
    this.entries.set(token, principal);
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }
}
