import { describe, expect, it } from "vitest";
import { VerifiedTokenCache } from "./verified-token-cache.js";

/**
 * The verifier's cache of tokens that already passed verification (token-verifier.ts): bounded
 * LRU, and an entry is never answered at or after its token's `exp`, the time being the caller's
 * (the verifier passes "now minus the clock tolerance").
 */
interface Verified {
  readonly sub: string;
  readonly expiresAt: number;
}

const NOW = 1_800_000_000; // seconds
const principal = (sub: string, expiresAt = NOW + 900): Verified => ({ sub, expiresAt });

describe("VerifiedTokenCache", () => {
  it("answers a cached token with its principal until it expires, and nothing for other tokens", () => {
    const cache = new VerifiedTokenCache<Verified>(10);
    const alice = principal("alice");
    cache.set("token-a", alice);
    expect(cache.get("token-a", NOW)).toBe(alice);
    expect(cache.get("token-a", NOW + 899)).toBe(alice);
    expect(cache.get("token-b", NOW)).toBeUndefined();
    expect(cache.get("token-", NOW)).toBeUndefined();
  });

  it("expires an entry exactly at the given time reaching exp, and answers it never again", () => {
    const cache = new VerifiedTokenCache<Verified>(10);
    cache.set("token-a", principal("alice", NOW + 60));
    expect(cache.get("token-a", NOW + 59.999)?.sub).toBe("alice");
    expect(cache.get("token-a", NOW + 60)).toBeUndefined();
    // No stale hit afterwards, whatever time a later caller passes.
    expect(cache.get("token-a", NOW)).toBeUndefined();
  });

  it("never answers a token that was already expired when it was stored", () => {
    const cache = new VerifiedTokenCache<Verified>(10);
    cache.set("token-old", principal("old", NOW - 1));
    expect(cache.get("token-old", NOW)).toBeUndefined();
  });

  it("holds at most `capacity` tokens, dropping the least recently used", () => {
    const cache = new VerifiedTokenCache<Verified>(2);
    cache.set("token-a", principal("alice"));
    cache.set("token-b", principal("bob"));
    expect(cache.get("token-a", NOW)?.sub).toBe("alice"); // a read makes Alice's the most recent
    cache.set("token-c", principal("carol"));

    expect(cache.get("token-b", NOW)).toBeUndefined();
    expect(cache.get("token-a", NOW)?.sub).toBe("alice");
    expect(cache.get("token-c", NOW)?.sub).toBe("carol");

    cache.set("token-d", principal("dave")); // Alice's was read before Carol's: it goes
    expect(cache.get("token-a", NOW)).toBeUndefined();
    expect(cache.get("token-c", NOW)?.sub).toBe("carol");
    expect(cache.get("token-d", NOW)?.sub).toBe("dave");
  });

  it("storing a cached token again replaces it without pushing another out", () => {
    const cache = new VerifiedTokenCache<Verified>(2);
    cache.set("token-a", principal("alice"));
    cache.set("token-b", principal("bob"));
    cache.set("token-a", principal("alice-again"));
    expect(cache.get("token-a", NOW)?.sub).toBe("alice-again");
    expect(cache.get("token-b", NOW)?.sub).toBe("bob");
  });

  it("an expired entry frees its place: it does not push a live token out", () => {
    const cache = new VerifiedTokenCache<Verified>(2);
    cache.set("token-b", principal("bob"));
    cache.set("token-short", principal("short-lived", NOW + 1));
    expect(cache.get("token-short", NOW + 1)).toBeUndefined();
    cache.set("token-c", principal("carol"));
    expect(cache.get("token-b", NOW + 1)?.sub).toBe("bob");
    expect(cache.get("token-c", NOW + 1)?.sub).toBe("carol");
  });

  it("with capacity 0 caches nothing (the verifier's cacheSize: 0)", () => {
    const cache = new VerifiedTokenCache<Verified>(0);
    cache.set("token-a", principal("alice"));
    expect(cache.get("token-a", NOW)).toBeUndefined();
  });
});
