import { describe, expect, it } from "vitest";
import { clientAddressFrom } from "./client-address.js";
import { createLoginThrottle } from "./login-throttle.js";
import { createSlidingWindow } from "./sliding-window.js";

describe("sliding window", () => {
  it("blocks at the limit and frees up as old events leave the window", () => {
    const w = createSlidingWindow({ windowMs: 1000, limit: 3 });
    w.record("k", 0);
    w.record("k", 100);
    expect(w.blockedFor("k", 200)).toBe(0);
    w.record("k", 200);
    expect(w.blockedFor("k", 200)).toBe(800); // until the event at 0 leaves
    expect(w.blockedFor("k", 999)).toBe(1);
    expect(w.blockedFor("k", 1000)).toBe(0);
    expect(w.blockedFor("other", 200)).toBe(0);
  });

  it("keeps at most `limit` timestamps per key and at most maxKeys keys", () => {
    const w = createSlidingWindow({ windowMs: 10_000, limit: 2, maxKeys: 2 });
    for (let t = 0; t < 100; t++) w.record("k", t);
    expect(w.blockedFor("k", 100)).toBe(10_000 - 2); // the two newest (98, 99) count
    w.record("a", 100);
    w.record("b", 100); // evicts "k", the least recently touched
    expect(w.blockedFor("k", 101)).toBe(0);
  });
});

describe("login throttle", () => {
  it("throttles per email and per address, clears the email on success, recovers after the window", () => {
    let now = 0;
    const t = createLoginThrottle(
      { windowMs: 60_000, maxFailuresPerEmail: 2, maxFailuresPerAddress: 3 },
      () => now,
    );
    t.recordFailure("a@x", "10.0.0.1");
    t.recordFailure("a@x", "10.0.0.1");
    expect(t.retryAfterSec("a@x", "10.0.0.9")).toBe(60);
    expect(t.retryAfterSec("b@x", "10.0.0.9")).toBe(0);
    t.recordFailure("c@x", "10.0.0.1");
    expect(t.retryAfterSec("d@x", "10.0.0.1")).toBe(60); // the address sprayed three emails
    expect(t.retryAfterSec("d@x", undefined)).toBe(0);
    now = 30_000;
    expect(t.retryAfterSec("a@x", undefined)).toBe(30);
    t.recordSuccess("a@x");
    expect(t.retryAfterSec("a@x", undefined)).toBe(0);
    now = 60_001;
    expect(t.retryAfterSec("d@x", "10.0.0.1")).toBe(0);
  });
});

describe("client address", () => {
  it("takes the entry the outermost trusted proxy appended, never client-written ones", () => {
    // No trusted proxy: the socket peer, whatever the client wrote in X-Forwarded-For.
    expect(clientAddressFrom("203.0.113.7", 0)).toBeUndefined();
    expect(clientAddressFrom("203.0.113.7", 0, "127.0.0.1")).toBe("127.0.0.1");
    expect(clientAddressFrom(undefined, 1)).toBeUndefined();
    expect(clientAddressFrom("203.0.113.7", 1)).toBe("203.0.113.7");
    // The client forged "1.2.3.4"; our one proxy appended the real peer.
    expect(clientAddressFrom("1.2.3.4, 203.0.113.7", 1)).toBe("203.0.113.7");
    expect(clientAddressFrom("1.2.3.4, 203.0.113.7, 10.0.0.2", 2)).toBe("203.0.113.7");
    expect(clientAddressFrom("203.0.113.7", 2)).toBeUndefined();
    expect(clientAddressFrom("2001:DB8::1", 1)).toBe("2001:db8::1");
    expect(clientAddressFrom("not an address", 1)).toBeUndefined();
  });
});
