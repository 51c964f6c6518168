import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as jose from "jose";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { AuthError } from "./auth-error.js";
import { createRemoteKeySet, type RemoteKeySetOptions } from "./remote-key-set.js";

/**
 * An issuer's JWKS fetched over HTTP (remote-key-set.ts): cached for `cacheMaxAgeMs`, refetched
 * for an unknown `kid` at most once per cooldown, one fetch shared by concurrent verifications, a
 * failed fetch remembered for the cooldown while the last good set goes on verifying its keys.
 * The key set is served by a real HTTP server on loopback; the clock is vitest's fake `Date` (the
 * sockets and the fetch timeout run on real time).
 */
interface Key {
  readonly kid: string;
  readonly privateKey: jose.CryptoKey;
  readonly publicJwk: jose.JWK;
}

async function newKey(kid: string): Promise<Key> {
  const { privateKey, publicKey } = await jose.generateKeyPair("ES256", { extractable: true });
  return {
    kid,
    privateKey,
    publicJwk: { ...(await jose.exportJWK(publicKey)), kid, alg: "ES256", use: "sig" },
  };
}

type Answer = "keys" | "error" | "redirect" | "not-a-key-set" | "hang";

/** The issuer's JWKS endpoint: what it publishes, how it answers, how often it was asked. */
interface JwksServer {
  readonly url: URL;
  /** Requests to the JWKS path, failed ones included. */
  readonly fetches: number;
  /** Requests anywhere else (a redirect's target). */
  readonly elsewhere: number;
  publish(...keys: Key[]): void;
  answer(answer: Answer): void;
  close(): Promise<void>;
}

async function startJwksServer(): Promise<JwksServer> {
  let published: jose.JWK[] = [];
  let answer: Answer = "keys";
  let fetches = 0;
  let elsewhere = 0;
  const hanging = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    if (req.url !== "/jwks.json") {
      elsewhere++;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: published }));
      return;
    }
    fetches++;
    switch (answer) {
      case "keys":
        res.writeHead(200, { "content-type": "application/jwk-set+json" });
        res.end(JSON.stringify({ keys: published }));
        return;
      case "error":
        res.writeHead(503, { "content-type": "text/plain" }).end("issuer down");
        return;
      case "redirect":
        res.writeHead(302, { location: "/moved/jwks.json" }).end();
        return;
      case "not-a-key-set":
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: "none" }));
        return;
      case "hang":
        hanging.add(res);
        return;
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}/jwks.json`),
    get fetches() {
      return fetches;
    },
    get elsewhere() {
      return elsewhere;
    },
    publish(...keys) {
      published = keys.map((k) => k.publicJwk);
    },
    answer(next) {
      answer = next;
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const T0 = Date.parse("2026-03-01T09:00:00Z");
const OPTIONS: RemoteKeySetOptions = { cacheMaxAgeMs: 600_000, cooldownMs: 30_000, timeoutMs: 5_000 };

let k1: Key;
let k2: Key;
let k3: Key;
let jwks: JwksServer;

beforeAll(async () => {
  [k1, k2, k3] = await Promise.all([newKey("k1"), newKey("k2"), newKey("k3")]);
});
beforeEach(async () => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(T0);
  jwks = await startJwksServer();
  jwks.publish(k1);
});
afterEach(async () => {
  vi.useRealTimers();
  await jwks.close();
});

const later = (ms: number) => vi.setSystemTime(Date.now() + ms);

/** A token signed by `key`, valid for a day of (fake) time. */
function tokenBy(key: Key, sub = "user-1"): Promise<string> {
  return new jose.SignJWT({ sub })
    .setProtectedHeader({ alg: "ES256", kid: key.kid })
    .setIssuedAt()
    .setExpirationTime("1d")
    .sign(key.privateKey);
}

/** What verifying `key`'s token against the key set comes to. */
async function outcome(
  keys: jose.JWTVerifyGetKey,
  key: Key,
): Promise<"verified" | "jwks_unavailable" | "no_matching_key"> {
  try {
    await jose.jwtVerify(await tokenBy(key), keys);
    return "verified";
  } catch (err) {
    if (err instanceof AuthError && err.reason === "jwks_unavailable") return "jwks_unavailable";
    if (err instanceof jose.errors.JWKSNoMatchingKey) return "no_matching_key";
    throw err;
  }
}

describe("createRemoteKeySet", () => {
  it("fetches the key set once and verifies from the cache while it is fresh", async () => {
    const keys = createRemoteKeySet(jwks.url, OPTIONS);
    for (let i = 0; i < 10; i++) {
      expect(await outcome(keys, k1)).toBe("verified");
      later(OPTIONS.cacheMaxAgeMs / 20);
    }
    expect(jwks.fetches).toBe(1);
  });

  it("shares one fetch among concurrent first verifications", async () => {
    const keys = createRemoteKeySet(jwks.url, OPTIONS);
    const results = await Promise.all(Array.from({ length: 10 }, () => outcome(keys, k1)));
    expect(results).toEqual(Array(10).fill("verified"));
    expect(jwks.fetches).toBe(1);
  });

  it("refreshes the set once it is cacheMaxAgeMs old: a key the issuer removed stops verifying", async () => {
    const keys = createRemoteKeySet(jwks.url, OPTIONS);
    expect(await outcome(keys, k1)).toBe("verified");
    jwks.publish(k2); // k1 retired by the issuer
    later(OPTIONS.cacheMaxAgeMs - 1);
    expect(await outcome(keys, k1)).toBe("verified");
    expect(jwks.fetches).toBe(1);
    later(1);
    expect(await outcome(keys, k1)).toBe("no_matching_key");
    expect(await outcome(keys, k2)).toBe("verified");
    expect(jwks.fetches).toBe(2);
  });

  it("refetches for an unknown kid (a key rotated in) and verifies with it", async () => {
    const keys = createRemoteKeySet(jwks.url, OPTIONS);
    expect(await outcome(keys, k1)).toBe("verified");
    jwks.publish(k1, k2);
    later(OPTIONS.cooldownMs);
    expect(await outcome(keys, k2)).toBe("verified");
    expect(await outcome(keys, k1)).toBe("verified");
    expect(jwks.fetches).toBe(2);
  });

  it("refetches for unknown kids at most once per cooldown", async () => {
    const keys = createRemoteKeySet(jwks.url, OPTIONS);
    expect(await outcome(keys, k1)).toBe("verified");
    jwks.publish(k1, k2);
    // Within the cooldown of the first fetch: refused without asking the issuer.
    later(OPTIONS.cooldownMs - 1);
    for (let i = 0; i < 5; i++) expect(await outcome(keys, k2)).toBe("no_matching_key");
    expect(jwks.fetches).toBe(1);

    later(1);
    expect(await outcome(keys, k2)).toBe("verified"); // one refetch finds it
    for (let i = 0; i < 5; i++) expect(await outcome(keys, k3)).toBe("no_matching_key"); // garbage kids
    expect(jwks.fetches).toBe(2);
    later(OPTIONS.cooldownMs);
    expect(await outcome(keys, k3)).toBe("no_matching_key");
    expect(jwks.fetches).toBe(3);
  });

  it("with no key set yet and the issuer down: jwks_unavailable, and no refetch until the cooldown ends", async () => {
    jwks.answer("error");
    const keys = createRemoteKeySet(jwks.url, OPTIONS);
    for (let i = 0; i < 10; i++) expect(await outcome(keys, k1)).toBe("jwks_unavailable");
    expect(jwks.fetches).toBe(1);

    jwks.answer("keys");
    later(OPTIONS.cooldownMs - 1);
    expect(await outcome(keys, k1)).toBe("jwks_unavailable");
    expect(jwks.fetches).toBe(1);
    later(1);
    expect(await outcome(keys, k1)).toBe("verified");
    expect(jwks.fetches).toBe(2);
  });

  it("while a refresh fails, serves the stale set's keys; a kid it lacks is jwks_unavailable", async () => {
    const keys = createRemoteKeySet(jwks.url, OPTIONS);
    expect(await outcome(keys, k1)).toBe("verified");
    jwks.answer("error");
    jwks.publish(k1, k2);
    later(OPTIONS.cacheMaxAgeMs); // stale: the next verification refreshes, and that fails

    for (let i = 0; i < 10; i++) expect(await outcome(keys, k1)).toBe("verified");
    // k2 may have been rotated in: that cannot be told while the issuer is down.
    expect(await outcome(keys, k2)).toBe("jwks_unavailable");
    expect(jwks.fetches).toBe(2); // one failed refresh, no flood

    later(OPTIONS.cooldownMs);
    expect(await outcome(keys, k1)).toBe("verified");
    expect(jwks.fetches).toBe(3); // tried again after the cooldown, failed again, still served

    jwks.answer("keys");
    later(OPTIONS.cooldownMs);
    expect(await outcome(keys, k2)).toBe("verified");
    expect(jwks.fetches).toBe(4);
  });

  it("does not follow a redirect: the set is served from its own URL or not at all", async () => {
    jwks.answer("redirect");
    const keys = createRemoteKeySet(jwks.url, OPTIONS);
    expect(await outcome(keys, k1)).toBe("jwks_unavailable");
    expect(jwks.fetches).toBe(1);
    expect(jwks.elsewhere).toBe(0);
  });

  it("counts a document that is not a key set as a failed fetch, keeping the last good set", async () => {
    const keys = createRemoteKeySet(jwks.url, OPTIONS);
    expect(await outcome(keys, k1)).toBe("verified");
    jwks.answer("not-a-key-set");
    later(OPTIONS.cacheMaxAgeMs);
    expect(await outcome(keys, k1)).toBe("verified");
    expect(await outcome(keys, k2)).toBe("jwks_unavailable");
    expect(jwks.fetches).toBe(2);
  });

  it("gives up on an endpoint that never answers after timeoutMs", { timeout: 30_000 }, async () => {
    jwks.answer("hang");
    const keys = createRemoteKeySet(jwks.url, { ...OPTIONS, timeoutMs: 300 });
    expect(await outcome(keys, k1)).toBe("jwks_unavailable");
    expect(jwks.fetches).toBe(1);
  });
});
