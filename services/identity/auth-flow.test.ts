import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as jose from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "#gen/supportext/auth/v1/auth_pb.js";
import { bearer, startTestIdentity, TEST_ISSUER, type TestIdentity } from "./testing/test-identity.js";

let chat: TestIdentity;

beforeAll(async () => {
  chat = await startTestIdentity();
});
afterAll(() => chat?.dispose());

async function codeOf(call: Promise<unknown>): Promise<{ code: Code | "ok"; message: string }> {
  try {
    await call;
    return { code: "ok", message: "" };
  } catch (err) {
    const ce = ConnectError.from(err);
    return { code: ce.code, message: ce.rawMessage };
  }
}

describe("identity: login, who-am-I, refresh rotation, reuse detection, logout", () => {
  it("seeds the three users of the brief with their roles and scopes", async () => {
    const expected = {
      "admin@company.com": {
        password: chat.passwords.admin,
        roles: ["admin"],
        scopes: [
          "tickets:read",
          "tickets:write",
          "tickets:delete",
          "integrations:read",
          "system:read",
          "audit:read",
        ],
      },
      "agent@company.com": {
        password: chat.passwords.agent,
        roles: ["support_agent"],
        scopes: ["tickets:read", "tickets:write", "integrations:read", "system:read"],
      },
      "viewer@company.com": {
        password: chat.passwords.viewer,
        roles: ["viewer"],
        scopes: ["tickets:read", "integrations:read"],
      },
    };
    for (const [email, want] of Object.entries(expected)) {
      const res = await chat.auth.login({ email, password: want.password });
      expect(res.user).toMatchObject({ email, roles: want.roles, scopes: want.scopes });
      expect(res.tokens?.tokenType).toBe("Bearer");
      expect(res.tokens?.expiresIn).toBe(chat.config.ACCESS_TOKEN_TTL);
    }
  });

  it("runs the whole flow: login → who-am-I → refresh → reuse detected → session revoked", async () => {
    const login = await chat.auth.login({ email: "Admin@Company.com ", password: chat.passwords.admin });
    const first = login.tokens;
    if (!first) throw new Error("no tokens");
    expect(first.refreshToken).not.toContain(".");

    // Who-am-I over Connect (HTTP/1.1) and over gRPC (h2c): the same caller.
    const me = await chat.auth.whoAmI({}, bearer(first.accessToken));
    expect(me.user?.email).toBe("admin@company.com");
    expect(me.sessionId).toBe(login.sessionId);
    expect(me.tokenScopes).toContain("tickets:delete");
    const grpc = createClient(AuthService, createGrpcTransport({ baseUrl: chat.url }));
    expect((await grpc.whoAmI({}, bearer(first.accessToken))).user?.id).toBe(login.user?.id);

    // Refresh rotates: a new pair for the same session, the old refresh token is spent.
    const refreshed = await chat.auth.refresh({ refreshToken: first.refreshToken });
    const second = refreshed.tokens;
    if (!second) throw new Error("no tokens");
    expect(refreshed.sessionId).toBe(login.sessionId);
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(second.accessToken).not.toBe(first.accessToken);
    const a = jose.decodeJwt(first.accessToken);
    const b = jose.decodeJwt(second.accessToken);
    expect(b.sid).toBe(a.sid);
    expect(b.jti).not.toBe(a.jti);
    expect((await chat.auth.whoAmI({}, bearer(second.accessToken))).sessionId).toBe(login.sessionId);

    // Presenting the spent token again: reuse → the whole session is revoked.
    const reuse = await codeOf(chat.auth.refresh({ refreshToken: first.refreshToken }));
    expect(reuse.code).toBe(Code.Unauthenticated);
    expect(reuse.message).toMatch(/already used.*revoked/);
    // Every token of the session is now dead: the rotated refresh token and both access tokens.
    expect((await codeOf(chat.auth.refresh({ refreshToken: second.refreshToken }))).code).toBe(
      Code.Unauthenticated,
    );
    for (const token of [first.accessToken, second.accessToken]) {
      const r = await codeOf(chat.auth.whoAmI({}, bearer(token)));
      expect(r).toEqual({ code: Code.Unauthenticated, message: expect.stringMatching(/^revoked: /) });
    }
    expect(chat.logs.lines.some((l) => l.includes("refresh token reuse detected"))).toBe(true);

    // Another session of the same user is unaffected.
    const other = await chat.auth.login({ email: "admin@company.com", password: chat.passwords.admin });
    expect((await chat.auth.whoAmI({}, bearer(other.tokens?.accessToken ?? ""))).sessionId).toBe(
      other.sessionId,
    );
  });

  it("logout revokes the session: its access and refresh tokens are refused; logging out twice is fine", async () => {
    const login = await chat.auth.login({ email: "agent@company.com", password: chat.passwords.agent });
    const tokens = login.tokens;
    if (!tokens) throw new Error("no tokens");
    await chat.auth.logout({ refreshToken: tokens.refreshToken });
    expect((await codeOf(chat.auth.whoAmI({}, bearer(tokens.accessToken)))).message).toMatch(/^revoked: /);
    expect((await codeOf(chat.auth.refresh({ refreshToken: tokens.refreshToken }))).code).toBe(
      Code.Unauthenticated,
    );
    await chat.auth.logout({ refreshToken: tokens.refreshToken });
    await chat.auth.logout({ refreshToken: "sxr_not-a-real-token" });
  });

  it("of concurrent refreshes with one token exactly one succeeds; the others are reuse and revoke the session", async () => {
    const login = await chat.auth.login({ email: "agent@company.com", password: chat.passwords.agent });
    const refreshToken = login.tokens?.refreshToken ?? "";
    const outcomes = await Promise.all(
      Array.from({ length: 5 }, () => codeOf(chat.auth.refresh({ refreshToken }))),
    );
    expect(outcomes.filter((o) => o.code === "ok")).toHaveLength(1);
    // The first loser detects the reuse; later ones may already find the session revoked.
    const losers = outcomes.filter((o) => o.code !== "ok");
    for (const o of losers)
      expect(o).toEqual({ code: Code.Unauthenticated, message: expect.stringMatching(/revoked/) });
    expect(losers.some((o) => /already used/.test(o.message))).toBe(true);
    // Two holders of one token: the session is dead, the winner's fresh tokens included.
    expect((await codeOf(chat.auth.whoAmI({}, bearer(login.tokens?.accessToken ?? "")))).message).toMatch(
      /^revoked: /,
    );
  });

  it("refuses wrong credentials with one message that does not reveal whether the email exists", async () => {
    const wrongPassword = await codeOf(
      chat.auth.login({ email: "viewer@company.com", password: "not-the-password" }),
    );
    const unknownEmail = await codeOf(
      chat.auth.login({ email: "nobody@company.com", password: "not-the-password" }),
    );
    expect(wrongPassword).toEqual({ code: Code.Unauthenticated, message: "invalid email or password" });
    expect(unknownEmail).toEqual(wrongPassword);
    expect((await codeOf(chat.auth.login({ email: "", password: "" }))).code).toBe(Code.InvalidArgument);
  });

  it("who-am-I needs a valid token; a present bad token is refused with its reason", async () => {
    expect(await codeOf(chat.auth.whoAmI({}))).toEqual({
      code: Code.Unauthenticated,
      message: expect.stringMatching(/^missing_token: /),
    });
    expect((await codeOf(chat.auth.whoAmI({}, bearer("abc.def.ghi")))).message).toMatch(/^malformed: /);
    // Even public procedures refuse a present-but-bad token.
    const login = await codeOf(
      chat.auth.login(
        { email: "viewer@company.com", password: chat.passwords.viewer },
        bearer("abc.def.ghi"),
      ),
    );
    expect(login.code).toBe(Code.Unauthenticated);
  });

  it("access tokens verify against the served JWKS with a plain jose client", async () => {
    const login = await chat.auth.login({ email: "viewer@company.com", password: chat.passwords.viewer });
    const token = login.tokens?.accessToken ?? "";
    const res = await fetch(`${chat.url}/.well-known/jwks.json`);
    expect(res.status).toBe(200);
    const jwks = (await res.json()) as jose.JSONWebKeySet;
    expect(jwks.keys.length).toBeGreaterThanOrEqual(1);
    for (const key of jwks.keys) {
      expect(key).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
      expect(key).not.toHaveProperty("d");
    }

    const { payload, protectedHeader } = await jose.jwtVerify(
      token,
      jose.createRemoteJWKSet(new URL(`${chat.url}/.well-known/jwks.json`)),
      { issuer: TEST_ISSUER, audience: chat.config.API_AUDIENCE, typ: "at+jwt", algorithms: ["ES256"] },
    );
    expect(protectedHeader.kid).toBe(jwks.keys[0]?.kid);
    expect(payload.sub).toBe(login.user?.id);
    expect(payload.sid).toBe(login.sessionId);
  });

  it("remembers revoked sessions across a restart (loaded at start)", async () => {
    const login = await chat.auth.login({ email: "viewer@company.com", password: chat.passwords.viewer });
    const tokens = login.tokens;
    if (!tokens) throw new Error("no tokens");
    await chat.auth.logout({ refreshToken: tokens.refreshToken });
    await chat.restart();
    expect((await codeOf(chat.auth.whoAmI({}, bearer(tokens.accessToken)))).message).toMatch(/^revoked: /);
    // Users and keys persisted too: the seed password still works and old unrevoked tokens verify.
    const again = await chat.auth.login({ email: "viewer@company.com", password: chat.passwords.viewer });
    expect((await chat.auth.whoAmI({}, bearer(again.tokens?.accessToken ?? ""))).user?.email).toBe(
      "viewer@company.com",
    );
  });
});

describe("identity with AUTH_DEV_ANONYMOUS=1", () => {
  let dev: TestIdentity;
  beforeAll(async () => {
    dev = await startTestIdentity({ AUTH_DEV_ANONYMOUS: "1" });
  });
  afterAll(() => dev?.dispose());

  it("who-am-I without a token describes the read-only development principal; a bad token is still refused", async () => {
    const me = await dev.auth.whoAmI({});
    expect(me.user).toMatchObject({
      id: "dev-anonymous",
      roles: ["viewer"],
      scopes: ["tickets:read", "integrations:read"],
    });
    expect((await codeOf(dev.auth.whoAmI({}, bearer("abc.def.ghi")))).code).toBe(Code.Unauthenticated);
    expect(dev.logs.lines.some((l) => l.includes("AUTH_DEV_ANONYMOUS"))).toBe(true);
  });
});
