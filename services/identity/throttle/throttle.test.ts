import { describe, expect, it } from "vitest";
import { clientAddressFrom } from "./client-address.js";
import { createClientAuthThrottle } from "./client-auth-throttle.js";
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
  it("refuses per (email, address) pair and per address, never per email alone", () => {
    let now = 0;
    const t = createLoginThrottle(
      { windowMs: 60_000, maxFailuresPerEmail: 2, maxFailuresPerAddress: 3 },
      () => now,
    );
    t.recordFailure("a@x", "10.0.0.1");
    t.recordFailure("a@x", "10.0.0.1");
    expect(t.retryAfterSec("a@x", "10.0.0.1")).toBe(60); // the guesser's own pair
    expect(t.retryAfterSec("a@x", "10.0.0.9")).toBe(0); // the real user, elsewhere: not refused
    expect(t.retryAfterSec("b@x", "10.0.0.1")).toBe(0);
    t.recordFailure("c@x", "10.0.0.1");
    expect(t.retryAfterSec("d@x", "10.0.0.1")).toBe(60); // the address sprayed three failures
    expect(t.retryAfterSec("d@x", "10.0.0.2")).toBe(0);
    now = 30_000;
    expect(t.retryAfterSec("a@x", "10.0.0.1")).toBe(30);
    now = 60_001;
    expect(t.retryAfterSec("a@x", "10.0.0.1")).toBe(0);
    expect(t.retryAfterSec("d@x", "10.0.0.1")).toBe(0);
  });

  it("slows every attempt on an email past its threshold by the same bounded, doubling delay", () => {
    let now = 0;
    const t = createLoginThrottle(
      {
        windowMs: 60_000,
        maxFailuresPerEmail: 2,
        maxFailuresPerAddress: 100,
        emailDelayBaseMs: 250,
        emailDelayMaxMs: 2_000,
      },
      () => now,
    );
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      delays.push(t.delayMs("a@x"));
      t.recordFailure("a@x", `10.0.1.${i}`); // a botnet: a new address each time
    }
    expect(delays).toEqual([0, 0, 250, 500, 1_000, 2_000, 2_000, 2_000]);
    expect(t.delayMs("b@x")).toBe(0);
    // Every address, the real user's included, waits the same; none is refused.
    expect(t.retryAfterSec("a@x", "192.0.2.1")).toBe(0);
    now = 60_001;
    expect(t.delayMs("a@x")).toBe(0);
  });

  it("clears only the succeeding pair: the address and the email keep their failures", () => {
    const t = createLoginThrottle(
      { windowMs: 60_000, maxFailuresPerEmail: 2, maxFailuresPerAddress: 3 },
      () => 0,
    );
    t.recordFailure("a@x", "10.0.0.1");
    t.recordFailure("a@x", "10.0.0.1");
    t.recordSuccess("a@x", "10.0.0.1");
    expect(t.retryAfterSec("a@x", "10.0.0.1")).toBe(0);
    t.recordFailure("b@x", "10.0.0.1");
    expect(t.retryAfterSec("c@x", "10.0.0.1")).toBe(60);
    expect(t.delayMs("a@x")).toBeGreaterThan(0);
  });

  it("puts attempts without a usable address in one bucket rather than leaving them uncounted", () => {
    const t = createLoginThrottle(
      { windowMs: 60_000, maxFailuresPerEmail: 5, maxFailuresPerAddress: 2 },
      () => 0,
    );
    t.recordFailure("a@x", undefined);
    t.recordFailure("b@x", undefined);
    expect(t.retryAfterSec("c@x", undefined)).toBe(60);
    expect(t.retryAfterSec("c@x", "10.0.0.1")).toBe(0);
  });
});

describe("client authentication throttle", () => {
  it("answers failures plainly up to the limit, then holds them and answers 429 with Retry-After", async () => {
    let now = 0;
    const t = createClientAuthThrottle(
      { failures: createSlidingWindow({ windowMs: 10_000, limit: 2 }), holdMs: 50 },
      () => now,
    );
    expect(await t.failed("10.0.0.1")).toEqual({ throttled: false });
    expect(await t.failed("10.0.0.1")).toEqual({ throttled: false });
    const started = Date.now();
    expect(await t.failed("10.0.0.1")).toEqual({ throttled: true, retryAfterSec: 10 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(await t.failed("10.0.0.2")).toEqual({ throttled: false });
    now = 10_001;
    expect(await t.failed("10.0.0.1")).toEqual({ throttled: false });
  });

  it("caps the answers it holds per address, so a flood can't pile up timers and sockets", async () => {
    const t = createClientAuthThrottle({
      failures: createSlidingWindow({ windowMs: 60_000, limit: 1 }),
      holdMs: 200,
      maxHeldPerAddress: 3,
    });
    await t.failed("10.0.0.1");
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => t.failed("10.0.0.1").then((a) => ({ a, ms: Date.now() - started }))),
    );
    expect(answers.every(({ a }) => a.throttled)).toBe(true);
    expect(answers.filter(({ ms }) => ms >= 190)).toHaveLength(3);
    expect(answers.filter(({ ms }) => ms < 100)).toHaveLength(3);
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
    expect(clientAddressFrom("not an address", 1)).toBeUndefined();
    expect(clientAddressFrom("1.2.3.4.5", 1)).toBeUndefined();
  });

  it("counts an IPv6 address as its /64, and an IPv4 address written in IPv6 as that IPv4 address", () => {
    // Every address of one /64 is one bucket: holding a /64 gives no more tries than one address.
    expect(clientAddressFrom("2001:DB8::1", 1)).toBe("2001:db8:0:0::/64");
    expect(clientAddressFrom("2001:db8:0:0:ffff:1:2:3", 1)).toBe("2001:db8:0:0::/64");
    expect(clientAddressFrom("[2001:0db8:0000:0000:0000:0000:0000:0001]", 1)).toBe("2001:db8:0:0::/64");
    expect(clientAddressFrom(undefined, 0, "2001:db8:1:2:3:4:5:6")).toBe("2001:db8:1:2::/64");
    // The next /64 is another bucket.
    expect(clientAddressFrom("2001:db8:0:1::1", 1)).toBe("2001:db8:0:1::/64");
    expect(clientAddressFrom("::1", 1)).toBe("0:0:0:0::/64");
    expect(clientAddressFrom("fe80::1%eth0", 1)).toBe("fe80:0:0:0::/64");
    expect(clientAddressFrom("64:ff9b::198.51.100.7", 1)).toBe("64:ff9b:0:0::/64");
    // A dual-stack socket's IPv4 peer.
    expect(clientAddressFrom(undefined, 0, "::ffff:198.51.100.7")).toBe("198.51.100.7");
    expect(clientAddressFrom("::FFFF:198.51.100.7", 1)).toBe("198.51.100.7");
    // However it is written.
    expect(clientAddressFrom("::ffff:c633:6407", 1)).toBe("198.51.100.7");
    expect(clientAddressFrom("0:0:0:0:0:ffff:198.51.100.7", 1)).toBe("198.51.100.7");
    expect(clientAddressFrom("[::ffff:198.51.100.7]:8443", 1)).toBe("198.51.100.7");
    // A port some proxies append is not part of the address.
    expect(clientAddressFrom("203.0.113.7:5678", 1)).toBe("203.0.113.7");
    expect(clientAddressFrom("[2001:db8::1]:443", 1)).toBe("2001:db8:0:0::/64");
    expect(clientAddressFrom("203.0.113.7:99999999", 1)).toBeUndefined();
  });
});
