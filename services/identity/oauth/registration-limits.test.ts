import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestIdentity, type TestIdentity } from "../testing/test-identity.js";
import { fullCodeFlow, register, tokenRequest } from "./testing/oauth-client-calls.js";

/**
 * Filling the client table must not lock new clients out. At the cap a
 * registration evicts the oldest never-used registration (whatever its age); a client holding a
 * grant (a user signed in for it) is never evicted; and the per-address quota keys on the socket peer unless a
 * proxy is trusted, so a forged X-Forwarded-For does not reset it.
 */
const REDIRECT = "http://127.0.0.1:4711/callback";
const junk = () => ({ redirect_uris: ["https://junk.example/cb"], token_endpoint_auth_method: "none" });

describe("the registration cap evicts unused clients, oldest first", () => {
  let identity: TestIdentity;
  beforeAll(async () => {
    identity = await startTestIdentity({}, { oauth: { maxClients: 5 } });
  });
  afterAll(() => identity?.dispose());

  const stored = async () =>
    (
      await identity.running.database.query<{ id: string }>(
        "SELECT id FROM oidc_models WHERE model = 'Client' ORDER BY created_at, id",
      )
    ).rows.map((r) => r.id);

  it("a full table of junk makes room for new clients by evicting the junk, never a client in use", async () => {
    const user = { email: "viewer@company.com", password: identity.passwords.viewer };
    const inUse = await fullCodeFlow(identity.url, user, { redirectUri: REDIRECT });
    expect(inUse.token.status).toBe(200);

    const unused: string[] = [];
    for (let i = 0; i < 4; i++) unused.push((await register(identity.url, junk())).body.client_id as string);
    expect(await stored()).toEqual([inUse.clientId, ...unused]);

    // Full: each registration evicts the oldest unused one, not the client in use.
    const later: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await register(identity.url, junk());
      expect(res.status).toBe(201);
      later.push(res.body.client_id as string);
    }
    expect(await stored()).toEqual([inUse.clientId, ...unused.slice(2), ...later]);
    const refreshed = await tokenRequest(identity.url, {
      grant_type: "refresh_token",
      client_id: inUse.clientId,
      refresh_token: inUse.token.body.refresh_token as string,
    });
    expect(refreshed.status).toBe(200);

    // Once every stored client is in use (holds a grant), registration is refused rather than evicting one.
    await identity.running.database.query(
      `INSERT INTO oidc_models (model, id, payload)
       SELECT 'Grant', 'test-' || id, jsonb_build_object('clientId', id) FROM oidc_models WHERE model = 'Client'
       ON CONFLICT DO NOTHING`,
    );
    const full = await register(identity.url, junk());
    expect([full.status, full.body.error]).toEqual([503, "temporarily_unavailable"]);
    expect(await stored()).toHaveLength(5);
  });
});

describe("the per-address registration quota", () => {
  let identity: TestIdentity;
  beforeAll(async () => {
    identity = await startTestIdentity();
  });
  afterAll(() => identity?.dispose());

  it("ignores a client-written X-Forwarded-For when no proxy is trusted (TRUSTED_PROXY_HOPS=0)", async () => {
    let last = 0;
    for (let i = 0; i < 25 && last !== 429; i++) {
      const res = await fetch(`${identity.url}/oauth2/register`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-forwarded-for": `198.51.100.${i}` },
        body: JSON.stringify(junk()),
      });
      last = res.status;
    }
    expect(last).toBe(429);
  });
});
