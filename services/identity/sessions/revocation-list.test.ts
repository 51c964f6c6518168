import { describe, expect, it } from "vitest";
import { createRevocationList, type RevokedEntry } from "./revocation-list.js";

/**
 * The identity provider's in-memory list of revoked sessions (docs/architecture.md, "Revocation"):
 * each session is announced once however it arrives, kept exactly as long as one of its access
 * tokens could still verify, and listed oldest revocation first for the feed's snapshot.
 */
const RETENTION_MS = 60_000;
const at = (ms: number) => new Date(ms);

describe("the revocation list", () => {
  it("announces a session once, the first time it enters, whichever way it comes again", () => {
    const list = createRevocationList(RETENTION_MS);
    const heard: RevokedEntry[] = [];
    list.onAdded((e) => heard.push(e));
    expect(list.add("s1", at(1_000), "logout")).toBe(true);
    expect(list.add("s1", at(2_000), "admin")).toBe(false);
    expect(list.add("s1", at(500), "user_gone")).toBe(false);
    expect(heard).toEqual([{ sessionId: "s1", revokedAt: at(1_000), reason: "logout" }]);
    expect(list.has("s1")).toBe(true);
    expect(list.has("s2")).toBe(false);
    expect(list.size).toBe(1);
    // The first announcement stands: the later add moved the retention, not the reason or time.
    expect(list.entries(1_000)).toEqual([{ sessionId: "s1", revokedAt: at(1_000), reason: "logout" }]);
  });

  it("keeps an entry exactly while a token of it can verify, extended by a later add, never shortened", () => {
    const list = createRevocationList(RETENTION_MS);
    list.add("s1", at(0), "logout");
    list.add("s1", at(10_000), "logout"); // retention now ends at 70 000
    list.add("s1", at(5_000), "logout"); // an earlier time must not shorten it back to 65 000
    list.prune(69_999);
    expect(list.has("s1")).toBe(true);
    expect(list.entries(69_999).map((e) => e.sessionId)).toEqual(["s1"]);
    // At the end of retention it is gone from the snapshot and from memory.
    expect(list.entries(70_000)).toEqual([]);
    list.prune(70_000);
    expect(list.has("s1")).toBe(false);
    expect(list.size).toBe(0);
  });

  it("prunes only the entries whose retention has ended", () => {
    const list = createRevocationList(RETENTION_MS);
    list.add("old", at(0), "logout");
    list.add("new", at(30_000), "admin");
    list.prune(RETENTION_MS);
    expect(list.has("old")).toBe(false);
    expect(list.has("new")).toBe(true);
    expect(list.size).toBe(1);
  });

  it("lists the snapshot oldest revocation first, whatever order the sessions arrived in", () => {
    const list = createRevocationList(RETENTION_MS);
    list.add("c", at(3_000), "admin");
    list.add("a", at(1_000), "logout");
    list.add("b", at(2_000), "refresh_token_reuse");
    expect(list.entries(3_000).map((e) => e.sessionId)).toEqual(["a", "b", "c"]);
    // An expired entry not pruned yet is still left out of the snapshot.
    expect(list.entries(RETENTION_MS + 1_500).map((e) => e.sessionId)).toEqual(["b", "c"]);
  });

  it("announces to every listener even when one throws, and stops announcing to one that unsubscribed", () => {
    const list = createRevocationList(RETENTION_MS);
    const first: string[] = [];
    const second: string[] = [];
    list.onAdded(() => {
      throw new Error("a broken subscriber");
    });
    const unsubscribe = list.onAdded((e) => first.push(e.sessionId));
    list.onAdded((e) => second.push(e.sessionId));
    expect(list.add("s1", at(0), "logout")).toBe(true);
    expect(list.has("s1")).toBe(true);
    unsubscribe();
    list.add("s2", at(0), "logout");
    expect(first).toEqual(["s1"]);
    expect(second).toEqual(["s1", "s2"]);
  });
});
