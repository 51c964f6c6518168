import * as jose from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestIssuer, type TestIssuer } from "../testing/test-issuer.js";
import { AuthError, type AuthFailureReason } from "./auth-error.js";
import { createTokenVerifier, type TokenVerifier } from "./token-verifier.js";

const AUDIENCE = "support-ext-api";
let issuer: TestIssuer;
let verifier: TokenVerifier;

beforeAll(async () => {
  issuer = await startTestIssuer({ audience: AUDIENCE });
  verifier = createTokenVerifier({
    issuer: issuer.issuer,
    audience: AUDIENCE,
    keys: issuer.jwksUrl,
    jwksCooldownMs: 0,
  });
});
afterAll(() => issuer.close());

async function reasonOf(token: string, v: TokenVerifier = verifier): Promise<AuthFailureReason | "accepted"> {
  try {
    await v.verify(token);
    return "accepted";
  } catch (err) {
    if (err instanceof AuthError) return err.reason;
    throw err;
  }
}

describe("token verifier", () => {
  it("accepts a valid token and builds the principal from its claims", async () => {
    const token = await issuer.mint({
      sub: "u-42",
      email: "a@b.c",
      roles: ["admin"],
      scope: "tickets:read tickets:write",
      sid: "s-1",
      act: { sub: "mcp-gateway", agent: "support-assistant" },
    });
    const p = await verifier.verify(token);
    expect(p).toMatchObject({
      userId: "u-42",
      email: "a@b.c",
      roles: ["admin"],
      scopes: ["tickets:read", "tickets:write"],
      sessionId: "s-1",
      anonymous: false,
      actor: { sub: "mcp-gateway", agent: "support-assistant" },
    });
    expect(p.expiresAt).toBeGreaterThan(Date.now() / 1000);
  });

  const matrix: [string, () => Promise<string>, AuthFailureReason][] = [
    ["not a JWT", () => issuer.forge("not_a_jwt"), "malformed"],
    ["three garbage parts", async () => "abc.def.ghi", "malformed"],
    ["bad signature", () => issuer.forge("bad_signature"), "bad_signature"],
    ["alg none", () => issuer.forge("alg_none"), "unsigned_token"],
    [
      "HS256 signed with the public key",
      () => issuer.forge("hs256_with_public_key"),
      "algorithm_not_allowed",
    ],
    ["expired", () => issuer.mint({}, { expiresIn: -60 }), "expired"],
    ["not yet valid", () => issuer.mint({}, { notBefore: 120 }), "not_yet_valid"],
    ["wrong issuer", () => issuer.mint({}, { issuer: "https://evil.example" }), "wrong_issuer"],
    ["wrong audience", () => issuer.mint({ aud: "some-other-api" }), "wrong_audience"],
    ["unknown kid", () => issuer.forge("unknown_kid"), "unknown_key"],
    ["no kid (it would be tried against every key of the set)", () => issuer.forge("no_kid"), "unknown_key"],
    ["not an access token (typ JWT)", () => issuer.mint({}, { typ: "JWT" }), "wrong_type"],
    ["no sid claim", () => issuer.mint({ sid: undefined as unknown as string }), "missing_claim"],
  ];
  for (const [name, make, reason] of matrix) {
    it(`refuses ${name} with reason ${reason}`, async () => {
      const token = await make();
      expect(await reasonOf(token)).toBe(reason);
    });
  }

  it("each refusal's message starts with its reason and never contains the token", async () => {
    const token = await issuer.mint({}, { expiresIn: -60 });
    const err = (await verifier.verify(token).catch((e: unknown) => e)) as AuthError;
    expect(err.message).toMatch(/^expired: /);
    expect(err.message).not.toContain(token);
  });

  it("tolerates a few seconds of clock skew, not more", async () => {
    expect(await reasonOf(await issuer.mint({}, { expiresIn: -2 }))).toBe("accepted");
    expect(await reasonOf(await issuer.mint({}, { notBefore: 2 }))).toBe("accepted");
    expect(await reasonOf(await issuer.mint({}, { expiresIn: -30 }))).toBe("expired");
  });

  it("caches the JWKS and refetches it when an unknown kid appears (key rotation)", async () => {
    const v = createTokenVerifier({
      issuer: issuer.issuer,
      audience: AUDIENCE,
      keys: issuer.jwksUrl,
      jwksCooldownMs: 0,
    });
    const before = issuer.jwksFetches;
    for (let i = 0; i < 20; i++) await v.verify(await issuer.mint({ sub: `cache-${i}` }));
    expect(issuer.jwksFetches - before).toBe(1);
    const rotatedToken = await issuer.mint({}, { useNextKey: true });
    expect(await reasonOf(rotatedToken, v)).toBe("unknown_key");
    await issuer.rotate();
    expect(await reasonOf(rotatedToken, v)).toBe("accepted");
  });

  it("rate-limits refetches: unknown kids one after another cost at most one fetch per cooldown", async () => {
    // Sequential on purpose: a concurrent burst shares one pending fetch even without a cooldown.
    const fetchesFor = async (jwksCooldownMs: number) => {
      const v = createTokenVerifier({
        issuer: issuer.issuer,
        audience: AUDIENCE,
        keys: issuer.jwksUrl,
        jwksCooldownMs,
      });
      await v.verify(await issuer.mint());
      const before = issuer.jwksFetches;
      for (let i = 0; i < 25; i++)
        expect(await reasonOf(await issuer.forge("unknown_kid"), v)).toBe("unknown_key");
      return issuer.jwksFetches - before;
    };
    expect(await fetchesFor(0)).toBe(25); // the control: without a cooldown every stranger refetches
    expect(await fetchesFor(60_000)).toBeLessThanOrEqual(1);
  });

  it("while the JWKS endpoint fails, refuses fast with jwks_unavailable instead of refetching", async () => {
    const v = createTokenVerifier({
      issuer: issuer.issuer,
      audience: AUDIENCE,
      keys: issuer.jwksUrl,
      cacheSize: 0,
    });
    issuer.failJwks(true);
    try {
      const before = issuer.jwksFetches;
      for (let i = 0; i < 25; i++)
        expect(await reasonOf(await issuer.mint({ sub: `outage-${i}` }), v)).toBe("jwks_unavailable");
      expect(issuer.jwksFetches - before).toBe(1);
    } finally {
      issuer.failJwks(false);
    }
  });

  it("while the JWKS endpoint fails, keeps verifying with the last good key set", async () => {
    // cacheMaxAgeMs 0: the set is always stale, so every verification would try to refresh it.
    const v = createTokenVerifier({
      issuer: issuer.issuer,
      audience: AUDIENCE,
      keys: issuer.jwksUrl,
      jwksCacheMaxAgeMs: 0,
      cacheSize: 0,
    });
    expect(await reasonOf(await issuer.mint(), v)).toBe("accepted");
    issuer.failJwks(true);
    try {
      const before = issuer.jwksFetches;
      for (let i = 0; i < 10; i++)
        expect(await reasonOf(await issuer.mint({ sub: `stale-${i}` }), v)).toBe("accepted");
      // A key the last good set lacks may have been rotated in: that can't be told until the keys are back.
      expect(await reasonOf(await issuer.forge("unknown_kid"), v)).toBe("jwks_unavailable");
      expect(issuer.jwksFetches - before).toBe(1);
    } finally {
      issuer.failJwks(false);
    }
  });

  it("reports an unreachable JWKS as jwks_unavailable, not as a bad token", async () => {
    const v = createTokenVerifier({
      issuer: issuer.issuer,
      audience: AUDIENCE,
      keys: new URL("http://127.0.0.1:1/.well-known/jwks.json"),
      jwksTimeoutMs: 1000,
    });
    expect(await reasonOf(await issuer.mint(), v)).toBe("jwks_unavailable");
  });

  it("refuses every token of a key the issuer removed: remembered ones, and new ones its cached key set still verifies", async () => {
    const removed = new Set<string>();
    const v = createTokenVerifier({
      issuer: issuer.issuer,
      audience: AUDIENCE,
      keys: issuer.jwksUrl,
      isKeyRemoved: (kid) => removed.has(kid),
    });
    // What someone holding the key could sign: any lifetime at all.
    const remembered = await issuer.mint({ sub: "held-key" }, { expiresIn: 10 * 365 * 86_400 });
    expect(await reasonOf(remembered, v)).toBe("accepted");
    expect(await reasonOf(remembered, v)).toBe("accepted"); // now a cache hit
    removed.add(jose.decodeProtectedHeader(remembered).kid ?? "");
    const fetches = issuer.jwksFetches;
    expect(await reasonOf(remembered, v)).toBe("key_removed");
    // The JWKS this verifier holds still has the key; the token is refused before it is consulted.
    expect(await reasonOf(await issuer.mint({ sub: "fresh" }), v)).toBe("key_removed");
    expect(issuer.jwksFetches).toBe(fetches);
    // Another key's tokens are untouched.
    await issuer.rotate();
    expect(await reasonOf(await issuer.mint({ sub: "next key" }, { useNextKey: true }), v)).toBe("accepted");
  });

  it("a cached verification still expires with the token", async () => {
    const v = createTokenVerifier({
      issuer: issuer.issuer,
      audience: AUDIENCE,
      keys: issuer.jwksUrl,
      clockToleranceSec: 0,
    });
    const token = await issuer.mint({}, { expiresIn: 1 });
    expect(await reasonOf(token, v)).toBe("accepted");
    await new Promise((r) => setTimeout(r, 1100));
    expect(await reasonOf(token, v)).toBe("expired");
  });
});
