import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createRemovedKeys } from "./removed-keys.js";
import { RenewingTokenCache } from "./renewing-token-cache.js";

/**
 * The cache behind service credentials (client-credentials.ts) and the gateway's exchanged MCP
 * tokens (mcp-token-source.ts): a token is used until shortly before it expires (a fifth of its
 * lifetime, at most 30 s), then renewed; concurrent callers share one fetch; a failed fetch is not
 * cached; bounded LRU. Time is vitest's fake `Date`.
 */
const T0 = Date.parse("2026-03-01T09:00:00Z");
const MINUTE = 60_000;

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A token endpoint stand-in: numbered tokens living `lifetimeMs` from the (fake) time of the fetch. */
function issuer(lifetimeMs: number) {
  let issued = 0;
  const fetch = vi.fn(async () => {
    issued++;
    return { token: `token-${issued}`, expiresAt: Date.now() + lifetimeMs };
  });
  return fetch;
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

describe("RenewingTokenCache", () => {
  it("fetches once and answers later calls from memory while the token is fresh", async () => {
    const cache = new RenewingTokenCache();
    const fetch = issuer(5 * MINUTE);
    expect(await cache.get("svc", fetch)).toBe("token-1");
    vi.setSystemTime(T0 + 4 * MINUTE);
    expect(await cache.get("svc", fetch)).toBe("token-1");
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(cache.fetches).toBe(1);
  });

  it("renews at most 30 s before expiry, so no caller gets a token about to expire", async () => {
    const cache = new RenewingTokenCache();
    const fetch = issuer(5 * MINUTE); // a fifth is 60 s: the 30 s ceiling applies
    await cache.get("svc", fetch);
    vi.setSystemTime(T0 + 5 * MINUTE - 30_001);
    expect(await cache.get("svc", fetch)).toBe("token-1");
    vi.setSystemTime(T0 + 5 * MINUTE - 30_000);
    expect(await cache.get("svc", fetch)).toBe("token-2");
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it("renews a short-lived token a fifth of its lifetime before expiry", async () => {
    const cache = new RenewingTokenCache();
    const fetch = issuer(60_000); // renewed 12 s before it expires
    await cache.get("svc", fetch);
    vi.setSystemTime(T0 + 47_999);
    expect(await cache.get("svc", fetch)).toBe("token-1");
    vi.setSystemTime(T0 + 48_000);
    expect(await cache.get("svc", fetch)).toBe("token-2");
  });

  it("never answers an expired token from memory", async () => {
    const cache = new RenewingTokenCache();
    const fetch = vi.fn(async () => ({
      token: `already-expired-${fetch.mock.calls.length}`,
      expiresAt: T0 - 1,
    }));
    expect(await cache.get("svc", fetch)).toBe("already-expired-1");
    expect(await cache.get("svc", fetch)).toBe("already-expired-2");
  });

  it("shares one fetch among concurrent first callers", async () => {
    const cache = new RenewingTokenCache();
    const pending = deferred<{ token: string; expiresAt: number }>();
    const fetch = vi.fn(() => pending.promise);
    const callers = Array.from({ length: 5 }, () => cache.get("svc", fetch));
    pending.resolve({ token: "shared", expiresAt: T0 + 5 * MINUTE });
    expect(await Promise.all(callers)).toEqual(Array(5).fill("shared"));
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(cache.fetches).toBe(1);
  });

  it("renews once for concurrent callers arriving after the renewal point", async () => {
    const cache = new RenewingTokenCache();
    await cache.get("svc", issuer(5 * MINUTE));
    vi.setSystemTime(T0 + 5 * MINUTE - 10_000);
    const pending = deferred<{ token: string; expiresAt: number }>();
    const renew = vi.fn(() => pending.promise);
    const callers = Array.from({ length: 4 }, () => cache.get("svc", renew));
    pending.resolve({ token: "renewed", expiresAt: Date.now() + 5 * MINUTE });
    expect(await Promise.all(callers)).toEqual(Array(4).fill("renewed"));
    expect(renew).toHaveBeenCalledTimes(1);
    // And the renewed token is what later calls get, without another fetch.
    expect(await cache.get("svc", renew)).toBe("renewed");
    expect(renew).toHaveBeenCalledTimes(1);
  });

  it("does not cache a failure: every waiting caller gets it, the next call fetches again", async () => {
    const cache = new RenewingTokenCache();
    const pending = deferred<{ token: string; expiresAt: number }>();
    const failing = vi.fn(() => pending.promise);
    const callers = Array.from({ length: 3 }, () => cache.get("svc", failing));
    pending.reject(new Error("token endpoint answered 503"));
    for (const result of await Promise.allSettled(callers)) {
      expect(result).toMatchObject({
        status: "rejected",
        reason: { message: "token endpoint answered 503" },
      });
    }
    expect(failing).toHaveBeenCalledTimes(1);
    expect(cache.size).toBe(0);

    const fetch = issuer(5 * MINUTE);
    expect(await cache.get("svc", fetch)).toBe("token-1");
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it("a failed renewal is retried by the next call, and its token then used", async () => {
    const cache = new RenewingTokenCache();
    await cache.get("svc", issuer(5 * MINUTE));
    vi.setSystemTime(T0 + 5 * MINUTE - 10_000);
    await expect(cache.get("svc", () => Promise.reject(new Error("unreachable")))).rejects.toThrow(
      "unreachable",
    );
    const fetch = vi.fn(async () => ({ token: "after-outage", expiresAt: Date.now() + 5 * MINUTE }));
    expect(await cache.get("svc", fetch)).toBe("after-outage");
    expect(await cache.get("svc", fetch)).toBe("after-outage");
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it("keeps each key's token apart", async () => {
    const cache = new RenewingTokenCache();
    const forA = vi.fn(async () => ({ token: "token-for-a", expiresAt: T0 + 5 * MINUTE }));
    const forB = vi.fn(async () => ({ token: "token-for-b", expiresAt: T0 + 5 * MINUTE }));
    const [a, b] = await Promise.all([cache.get("a", forA), cache.get("b", forB)]);
    expect([a, b]).toEqual(["token-for-a", "token-for-b"]);
    expect(await cache.get("a", forB)).toBe("token-for-a");
    expect(await cache.get("b", forA)).toBe("token-for-b");
    expect([forA.mock.calls.length, forB.mock.calls.length]).toEqual([1, 1]);
  });

  it("holds at most maxEntries tokens, dropping the least recently used", async () => {
    const cache = new RenewingTokenCache(2);
    const fetch = issuer(5 * MINUTE);
    await cache.get("a", fetch); // token-1
    await cache.get("b", fetch); // token-2
    expect(await cache.get("a", fetch)).toBe("token-1"); // a used: b is the least recent
    await cache.get("c", fetch); // token-3
    expect(cache.size).toBe(2);
    expect(await cache.get("a", fetch)).toBe("token-1");
    expect(await cache.get("c", fetch)).toBe("token-3");
    expect(await cache.get("b", fetch)).toBe("token-4"); // fetched again
    expect(fetch).toHaveBeenCalledTimes(4);
  });

  it("drop forgets the matching keys' tokens only; they are fetched afresh", async () => {
    const cache = new RenewingTokenCache();
    const fetch = issuer(5 * MINUTE);
    await cache.get("session-1|agent-a", fetch); // token-1
    await cache.get("session-1|agent-b", fetch); // token-2
    await cache.get("session-2|agent-a", fetch); // token-3
    expect(cache.drop((key) => key.startsWith("session-1|"))).toBe(2);
    expect(cache.size).toBe(1);
    expect(await cache.get("session-2|agent-a", fetch)).toBe("token-3");
    expect(await cache.get("session-1|agent-a", fetch)).toBe("token-4");
    expect(cache.drop(() => false)).toBe(0);
  });
});

/** A compact JWT naming `kid` (the cache reads its header only; nothing verifies it here). */
const jwt = (kid: string, n = 0) =>
  `${Buffer.from(JSON.stringify({ alg: "ES256", kid, typ: "at+jwt" })).toString("base64url")}.${Buffer.from(JSON.stringify({ n })).toString("base64url")}.sig`;

describe("a token signed by a key the issuer removed", () => {
  it("is replaced by a new one instead of being handed out until it would be renewed", async () => {
    const removed = createRemovedKeys();
    let kid = "key-1";
    let issued = 0;
    const fetch = vi.fn(async () => ({ token: jwt(kid, ++issued), expiresAt: Date.now() + 5 * MINUTE }));
    const cache = new RenewingTokenCache(10, removed);
    const first = await cache.get("mcp-server", fetch);
    expect(await cache.get("mcp-server", fetch)).toBe(first);
    expect(fetch).toHaveBeenCalledTimes(1);

    kid = "key-2"; // the issuer signs with its next key
    removed.add("key-1");
    const second = await cache.get("mcp-server", fetch);
    expect(second).not.toBe(first);
    expect(await cache.get("mcp-server", fetch)).toBe(second); // the new key's token is kept
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it("an opaque token (no JWT header) is kept as before", async () => {
    const removed = createRemovedKeys();
    removed.add("key-1");
    const fetch = issuer(5 * MINUTE);
    const cache = new RenewingTokenCache(10, removed);
    const token = await cache.get("k", fetch);
    expect(await cache.get("k", fetch)).toBe(token);
    expect(fetch).toHaveBeenCalledTimes(1);
  });
});

describe("a fetch under way when a key removal is heard", () => {
  it("is made again once, so no caller waiting for it gets the removed key's token", async () => {
    const removed = createRemovedKeys();
    const cache = new RenewingTokenCache(10, removed);
    const answers: (() => void)[] = [];
    let kid = "old";
    const fetch = vi.fn(
      () =>
        new Promise<{ token: string; expiresAt: number }>((resolve) => {
          const signedBy = kid;
          answers.push(() => resolve({ token: jwt(signedBy), expiresAt: Date.now() + 5 * MINUTE }));
        }),
    );
    const a = cache.get("k", fetch);
    const b = cache.get("k", fetch);
    removed.add("old"); // heard while the issuer's answer, signed before it reloaded, is on its way
    kid = "new";
    answers.shift()?.();
    await vi.waitFor(() => expect(answers).toHaveLength(1));
    answers.shift()?.();
    expect(await Promise.all([a, b])).toEqual([jwt("new"), jwt("new")]);
    expect(fetch).toHaveBeenCalledTimes(2);
  });
});
