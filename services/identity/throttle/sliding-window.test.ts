import { describe, expect, it } from "vitest";
import { createSlidingWindow } from "./sliding-window.js";

/**
 * The throttles' sliding window (docs/identity.md, "Throttling"): events leave it exactly one window
 * after they happened, late events (another replica's) take their place in time order, each key
 * keeps at most `limit` events and the window at most `maxKeys` keys, the least recently touched
 * evicted first. (throttle.test.ts covers the basic block-and-free cycle.)
 */
describe("the sliding window", () => {
  it("counts an event until exactly one window after it, and no longer", () => {
    const w = createSlidingWindow({ windowMs: 1_000, limit: 5 });
    w.record("k", 0);
    w.record("k", 400);
    expect(w.count("k", 999)).toBe(2);
    expect(w.count("k", 1_000)).toBe(1);
    expect(w.count("k", 1_400)).toBe(0);
    expect(w.count("never", 0)).toBe(0);
  });

  it("places a late event in time order, so the oldest one still decides when the key frees up", () => {
    const w = createSlidingWindow({ windowMs: 1_000, limit: 2 });
    w.record("k", 500);
    w.record("k", 100); // another replica's, heard after ours
    expect(w.blockedFor("k", 600)).toBe(500); // until the event at 100 leaves, not the one at 500
    expect(w.blockedFor("k", 1_100)).toBe(0);
    expect(w.count("k", 1_100)).toBe(1);
  });

  it("keeps only the newest `limit` events of a key, whatever order they came in", () => {
    const w = createSlidingWindow({ windowMs: 1_000, limit: 2 });
    w.record("k", 0);
    w.record("k", 100);
    w.record("k", 50); // late: the event at 0 is the one dropped
    expect(w.count("k", 100)).toBe(2);
    expect(w.blockedFor("k", 200)).toBe(850);
    for (let t = 200; t < 300; t++) w.record("k", t);
    expect(w.count("k", 300)).toBe(2);
  });

  it("holds at most maxKeys keys: a flood of distinct keys keeps only the newest", () => {
    const w = createSlidingWindow({ windowMs: 60_000, limit: 1, maxKeys: 3 });
    for (let i = 0; i < 100; i++) w.record(`email-${i}`, i);
    const remembered = Array.from({ length: 100 }, (_, i) => `email-${i}`).filter((k) => w.count(k, 100) > 0);
    expect(remembered).toEqual(["email-97", "email-98", "email-99"]);
  });

  it("evicts the least recently touched key, not the least recently created", () => {
    const w = createSlidingWindow({ windowMs: 60_000, limit: 3, maxKeys: 2 });
    w.record("a", 0);
    w.record("b", 1);
    w.record("a", 2); // touches a: b is now the least recent
    w.record("c", 3);
    expect(w.count("a", 3)).toBe(2);
    expect(w.count("b", 3)).toBe(0);
    expect(w.count("c", 3)).toBe(1);
  });

  it("clears one key and leaves the others counted", () => {
    const w = createSlidingWindow({ windowMs: 1_000, limit: 1 });
    w.record("a", 0);
    w.record("b", 0);
    w.clear("a");
    expect(w.blockedFor("a", 1)).toBe(0);
    expect(w.blockedFor("b", 1)).toBe(999);
  });

  it("tells when the oldest counted event leaves the window, below the limit too", () => {
    const w = createSlidingWindow({ windowMs: 1_000, limit: 3 });
    expect(w.oldestExpiresIn("a", 0)).toBe(0);
    w.record("a", 100);
    w.record("a", 400);
    expect(w.oldestExpiresIn("a", 500)).toBe(600);
    // The first has left: the second is now the oldest.
    expect(w.oldestExpiresIn("a", 1_100)).toBe(300);
    expect(w.oldestExpiresIn("a", 1_400)).toBe(0);
  });
});
