import { Code, ConnectError } from "@connectrpc/connect";
import * as jose from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "#kit/db/index.js";
import { hashPassword } from "../passwords/password-hash.js";
import { startTestIdentity, type TestIdentity } from "../testing/test-identity.js";
import { insertUser } from "../users/user-writer.js";

/**
 * AuthService.Login's sessions as provider grants (docs/identity.md, "One issuer, one grant model"),
 * through the real provider, its SQL storage and its token endpoint — reached through the identity
 * service, the module's only caller, which is the one way to get the provider it is built on: a
 * login records its session with the grant's end, a refresh rotates within that session without
 * extending it, and a refresh token is refused, each with its own reason, when it is unknown,
 * expired, its grant ended or its user deleted. (auth-flow.test.ts covers rotation reuse.)
 * PGlite, and DATABASE_URL's PostgreSQL when set (startTestIdentity picks).
 */
let identity: TestIdentity;
let db: Database;

beforeAll(async () => {
  identity = await startTestIdentity({ LOG_LEVEL: "warn" });
  db = identity.running.database;
});
afterAll(() => identity?.dispose());

/** A user of its own for one test, logged in: its tokens and session. */
async function loggedIn(name: string) {
  const email = `${name}@example.com`;
  const password = `${name}-password`;
  const id = await db.transaction(async (tx) =>
    insertUser(tx, {
      email,
      name,
      passwordHash: await hashPassword(password, { N: 2 ** 10, r: 8, p: 1 }),
      roles: ["viewer"],
    }),
  );
  if (!id) throw new Error(`${email} exists`);
  const login = await identity.auth.login({ email, password });
  const tokens = login.tokens;
  if (!tokens) throw new Error("no tokens");
  return { id, tokens, sessionId: login.sessionId };
}

const refusal = async (refreshToken: string) => {
  const err = await identity.auth.refresh({ refreshToken }).then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  return err && { code: err.code, message: err.rawMessage };
};

/** The stored refresh token's row (the adapter keys it by the token's own id). */
const storedRefreshToken = async (grantId: string) =>
  (
    await db.query<{ id: string; payload: { exp?: number } }>(
      "SELECT id, payload FROM oidc_models WHERE model = 'RefreshToken' AND grant_id = $1 AND consumed_at IS NULL",
      [grantId],
    )
  ).rows;

describe("first-party login sessions", () => {
  it("records a login's session with its grant's end; a refresh rotates within it and does not extend it", async () => {
    const { id, tokens, sessionId } = await loggedIn("ada");
    expect(jose.decodeJwt(tokens.accessToken)).toMatchObject({ sid: sessionId, sub: id });
    const { rows } = await db.query<{ user_id: string; expires_at: Date }>(
      "SELECT user_id, expires_at FROM sessions WHERE id = $1",
      [sessionId],
    );
    const ends = tokens.refreshTokenExpireTime;
    expect(rows).toHaveLength(1);
    expect(rows[0]?.user_id).toBe(id);
    expect(ends).toBeDefined();
    expect(rows[0]?.expires_at.getTime()).toBe(Number(ends?.seconds) * 1000);

    const refreshed = await identity.auth.refresh({ refreshToken: tokens.refreshToken });
    expect(refreshed.sessionId).toBe(sessionId);
    expect(refreshed.tokens?.refreshToken).not.toBe(tokens.refreshToken);
    expect(refreshed.tokens?.refreshTokenExpireTime).toEqual(ends);
    expect(jose.decodeJwt(refreshed.tokens?.accessToken ?? "").sid).toBe(sessionId);
  });

  it("refuses a refresh token it never issued", async () => {
    expect(await refusal("sxr_not-a-token-of-ours")).toEqual({
      code: Code.Unauthenticated,
      message: "invalid refresh token, or its login session has been revoked or has ended; log in again",
    });
  });

  it("refuses a refresh token past its end as expired", async () => {
    const { tokens, sessionId } = await loggedIn("bob");
    const [row] = await storedRefreshToken(sessionId);
    if (!row) throw new Error("no stored refresh token");
    // The token's own `exp` (the provider's clock) has passed while its row is still live (the
    // database's clock): storage expiry lags, or the clocks disagree. The token is not rotated.
    const past = Math.floor(Date.now() / 1000) - 60;
    await db.query(
      "UPDATE oidc_models SET payload = payload || jsonb_build_object('exp', $2::int) WHERE model = 'RefreshToken' AND id = $1",
      [row.id, past],
    );
    expect(await refusal(tokens.refreshToken)).toEqual({
      code: Code.Unauthenticated,
      message: "the login session has expired; log in again",
    });
  });

  it("refuses a refresh token whose grant has ended as ended", async () => {
    const { tokens, sessionId } = await loggedIn("cy");
    await db.query("DELETE FROM oidc_models WHERE model = 'Grant' AND id = $1", [sessionId]);
    expect(await refusal(tokens.refreshToken)).toEqual({
      code: Code.Unauthenticated,
      message: "the login session has ended (logged out, revoked or expired); log in again",
    });
  });

  it("refuses a refresh token whose user was deleted", async () => {
    const { id, tokens } = await loggedIn("dee");
    await db.query("DELETE FROM users WHERE id = $1", [id]);
    expect(await refusal(tokens.refreshToken)).toEqual({
      code: Code.Unauthenticated,
      message: "the session's user no longer exists",
    });
  });
});
