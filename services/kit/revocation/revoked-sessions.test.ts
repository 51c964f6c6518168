import { describe, expect, it } from "vitest";
import { createRevokedSessions } from "./revoked-sessions.js";

/**
 * A verifier's revoked sessions (docs/architecture.md, "Revocation"): each refused until its end,
 * an end only ever extended, a session counted new only when it was not being refused already, and
 * expired entries answering "not revoked" before any prune drops them.
 */
describe("revoked sessions", () => {
  it("refuses a session until its end, exclusive, and not after", () => {
    const revoked = createRevokedSessions();
    expect(revoked.add("s1", 1_000, 0)).toBe(true);
    expect(revoked.has("s1", 0)).toBe(true);
    expect(revoked.has("s1", 999)).toBe(true);
    expect(revoked.has("s1", 1_000)).toBe(false);
    expect(revoked.has("other", 0)).toBe(false);
  });

  it("is new only when not refused yet: a repeat is not, an expired one comes back as new", () => {
    const revoked = createRevokedSessions();
    expect(revoked.add("s1", 1_000, 0)).toBe(true);
    expect(revoked.add("s1", 2_000, 500)).toBe(false);
    // Expired (not pruned yet): learning of it again is news.
    expect(revoked.add("s1", 5_000, 2_000)).toBe(true);
    expect(revoked.has("s1", 4_999)).toBe(true);
  });

  it("never shortens an end: a later add with an earlier end keeps the later one", () => {
    const revoked = createRevokedSessions();
    revoked.add("s1", 10_000, 0);
    expect(revoked.add("s1", 2_000, 0)).toBe(false);
    expect(revoked.has("s1", 5_000)).toBe(true);
  });

  it("does not count an entry that has already ended as new, nor refuse with it", () => {
    const revoked = createRevokedSessions();
    expect(revoked.add("late", 1_000, 1_000)).toBe(false);
    expect(revoked.has("late", 1_000)).toBe(false);
  });

  it("prunes ended entries only, so memory stays as small as the live revocations", () => {
    const revoked = createRevokedSessions();
    revoked.add("a", 1_000, 0);
    revoked.add("b", 2_000, 0);
    revoked.add("c", 3_000, 0);
    expect(revoked.size).toBe(3);
    revoked.prune(2_000);
    expect(revoked.size).toBe(1);
    expect(revoked.has("c", 2_000)).toBe(true);
    revoked.prune(3_000);
    expect(revoked.size).toBe(0);
  });
});
