import { Code, ConnectError } from "@connectrpc/connect";
import * as jose from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SERVICE_IDS } from "#kit/auth/index.js";
import { startTestIssuer, type TestIssuer } from "#kit/testing/test-issuer.js";
import { TEST_AGENTS, testAgentDirectory } from "./testing/test-agents.js";
import {
  bearer,
  startTestIdentity,
  TEST_GATEWAY_ID,
  TEST_ISSUER,
  TEST_MCP_RESOURCE,
  type TestIdentity,
} from "./testing/test-identity.js";
import {
  type ClientAuth,
  clientCredentialsForm,
  exchangeForm,
  postTokenRequest,
  type TokenResponse,
} from "./testing/token-request.js";

let chat: TestIdentity;
let gateway: ClientAuth;
let foreignIssuer: TestIssuer;

beforeAll(async () => {
  chat = await startTestIdentity(
    { MCP_TOKEN_TTL: "5m", ACCESS_TOKEN_TTL: "15m" },
    { agentDirectory: testAgentDirectory() },
  );
  gateway = { basic: [TEST_GATEWAY_ID, chat.config.GATEWAY_CLIENT_SECRET] };
  foreignIssuer = await startTestIssuer({ audience: chat.config.API_AUDIENCE });
});
afterAll(async () => {
  await chat?.dispose();
  await foreignIssuer?.close();
});

async function login(email: string, password: string) {
  const res = await chat.auth.login({ email, password });
  if (!res.tokens) throw new Error("no tokens");
  return {
    access: res.tokens.accessToken,
    refresh: res.tokens.refreshToken,
    sessionId: res.sessionId,
    userId: res.user?.id,
  };
}
const admin = () => login("admin@company.com", chat.passwords.admin);
const viewer = () => login("viewer@company.com", chat.passwords.viewer);

/** The agent service's token for the gateway, running `agentId`: what the gateway presents as actor_token. */
async function agentToken(agentId: string, audience: string = SERVICE_IDS.gateway): Promise<string> {
  const res = await postTokenRequest(chat.url, clientCredentialsForm({ audience, agentId }), {
    basic: [SERVICE_IDS.agent, chat.config.AGENT_CLIENT_SECRET],
  });
  if (res.status !== 200) throw new Error(JSON.stringify(res.body));
  return res.body.access_token as string;
}

function exchange(
  subjectToken: string,
  p: { scope?: string; actorToken?: string; resource?: string } = {},
  auth = gateway,
) {
  return postTokenRequest(
    chat.url,
    exchangeForm({ subjectToken, resource: p.resource ?? TEST_MCP_RESOURCE, ...p }),
    auth,
  );
}

function expectOAuthError(res: TokenResponse, status: number, error: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.error).toBe(error);
  expect(typeof res.body.error_description).toBe("string");
  expect(res.headers.get("cache-control")).toBe("no-store");
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
}

describe("RFC 8693 token exchange at POST /oauth2/token", () => {
  it("issues an MCP token: aud = resource, same sub and sid, nested act (gateway ← agent), agent_tools, scope ∩, short expiry", async () => {
    const user = await admin();
    const res = await exchange(user.access, {
      scope: "tickets:read tickets:write",
      actorToken: await agentToken("support-assistant"),
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.body).toMatchObject({
      issued_token_type: "urn:ietf:params:oauth:token-type:access_token",
      token_type: "Bearer",
      scope: "tickets:read tickets:write",
    });
    expect(res.body.expires_in).toBeGreaterThan(290);
    expect(res.body.expires_in).toBeLessThanOrEqual(300);

    // Verified as the MCP server would: JWKS from chat, audience = its own resource URI.
    const token = res.body.access_token as string;
    const { payload, protectedHeader } = await jose.jwtVerify(
      token,
      jose.createRemoteJWKSet(new URL(`${chat.url}/.well-known/jwks.json`)),
      { issuer: TEST_ISSUER, audience: TEST_MCP_RESOURCE, typ: "at+jwt", algorithms: ["ES256"] },
    );
    const subject = jose.decodeJwt(user.access);
    expect(protectedHeader).toMatchObject({ alg: "ES256", typ: "at+jwt", kid: expect.any(String) });
    expect(payload).toMatchObject({
      aud: TEST_MCP_RESOURCE,
      sub: user.userId,
      sid: user.sessionId,
      email: "admin@company.com",
      // RFC 8693 §4.1: the current actor (the gateway) outermost, the agent service inside it.
      act: { sub: TEST_GATEWAY_ID, act: { sub: SERVICE_IDS.agent, agent: "support-assistant" } },
      scope: "tickets:read tickets:write",
      // RFC 9396: the agent's allow-list travels with the token.
      authorization_details: [
        {
          type: "agent_tools",
          agent: "support-assistant",
          tools: [...TEST_AGENTS.supportAssistant.allowedTools],
        },
      ],
    });
    expect(payload.jti).not.toBe(subject.jti);
    expect(payload.exp).toBeLessThanOrEqual(subject.exp ?? 0);
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(chat.config.MCP_TOKEN_TTL);
  });

  it("accepts client_secret_post; without an actor token act is the client alone and nothing names an agent", async () => {
    const user = await admin();
    const res = await exchange(
      user.access,
      { scope: "tickets:read" },
      { post: [TEST_GATEWAY_ID, chat.config.GATEWAY_CLIENT_SECRET] },
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const claims = jose.decodeJwt(res.body.access_token as string);
    expect(claims.act).toEqual({ sub: TEST_GATEWAY_ID });
    expect(claims).not.toHaveProperty("authorization_details");
  });

  it("refuses a bad client with 401 invalid_client and a Basic challenge", async () => {
    const user = await admin();
    const cases: ClientAuth[] = [
      { basic: [TEST_GATEWAY_ID, "wrong-secret-123"] },
      { basic: ["someone-else", chat.config.GATEWAY_CLIENT_SECRET] },
      { post: [TEST_GATEWAY_ID, "wrong-secret-123"] },
      { none: true },
    ];
    for (const auth of cases) {
      const res = await exchange(user.access, { scope: "tickets:read" }, auth);
      expectOAuthError(res, 401, "invalid_client");
      // RFC 6749 §5.2: a client that tried HTTP Basic is answered with its challenge.
      if ("basic" in auth) expect(res.headers.get("www-authenticate")).toMatch(/^Basic realm=/);
    }
    // A bearer token is not client authentication: a malformed request, nothing issued.
    const bearerAuth = await postTokenRequest(
      chat.url,
      exchangeForm({ subjectToken: user.access, resource: TEST_MCP_RESOURCE }),
      { none: true },
      {
        headers: { authorization: `Bearer ${user.access}` },
      },
    );
    expectOAuthError(bearerAuth, 400, "invalid_request");
    // Two authentication methods at once is a malformed request.
    const both = await postTokenRequest(
      chat.url,
      {
        ...exchangeForm({ subjectToken: user.access, resource: TEST_MCP_RESOURCE }),
        client_secret: "x-secret-123",
      },
      gateway,
    );
    expectOAuthError(both, 400, "invalid_request");
  });

  it("never widens scope: the result is requested ∩ the subject's; nothing in common is invalid_scope", async () => {
    const user = await viewer();
    const narrowed = await exchange(user.access, {
      scope: "tickets:read tickets:write tickets:delete system:read",
    });
    expect(narrowed.status).toBe(200);
    expect(narrowed.body.scope).toBe("tickets:read");
    expect(jose.decodeJwt(narrowed.body.access_token as string).scope).toBe("tickets:read");

    expectOAuthError(await exchange(user.access, { scope: "tickets:delete" }), 400, "invalid_scope");
    // (An empty scope is no scope: RFC 6749 §3.1, parameters without a value are omitted.)
    expectOAuthError(await exchange(user.access, { scope: "admin root" }), 400, "invalid_scope");

    // No scope parameter: the subject's own scopes, still never more.
    const all = await exchange(user.access);
    expect(all.body.scope).toBe("tickets:read integrations:read");

    // An exchanged token is not a user token: it can't be exchanged again (wrong audience) …
    const again = await exchange(narrowed.body.access_token as string, { scope: "tickets:read" });
    expectOAuthError(again, 400, "invalid_grant");
    expect(again.body.error_description).toMatch(/wrong_audience/);
    // … nor used at the edge.
    const edge = await chat.auth
      .whoAmI({}, bearer(narrowed.body.access_token as string))
      .catch((e: unknown) => e);
    expect(ConnectError.from(edge).code).toBe(Code.Unauthenticated);
    expect(ConnectError.from(edge).rawMessage).toMatch(/^wrong_audience: /);
  });

  it("refuses a foreign target (invalid_target) and subject tokens of a foreign issuer or audience (invalid_grant)", async () => {
    const user = await admin();
    expectOAuthError(
      await exchange(user.access, { scope: "tickets:read", resource: "http://evil.test/mcp" }),
      400,
      "invalid_target",
    );
    const withAudience = await postTokenRequest(
      chat.url,
      exchangeForm({
        subjectToken: user.access,
        resource: TEST_MCP_RESOURCE,
        extra: { audience: "http://other.test" },
      }),
      gateway,
    );
    expectOAuthError(withAudience, 400, "invalid_target");

    const foreign = await foreignIssuer.mint({ sub: user.userId ?? "", scope: "tickets:read" });
    const fromForeignIssuer = await exchange(foreign, { scope: "tickets:read" });
    expectOAuthError(fromForeignIssuer, 400, "invalid_grant");

    const forged = `${user.access.slice(0, -4)}AAAA`;
    expectOAuthError(await exchange(forged, { scope: "tickets:read" }), 400, "invalid_grant");
  });

  it("refuses the subject token of a revoked session", async () => {
    const user = await admin();
    await chat.auth.logout({ refreshToken: user.refresh });
    const res = await exchange(user.access, { scope: "tickets:read" });
    expectOAuthError(res, 400, "invalid_grant");
    expect(res.body.error_description).toMatch(/revoked/);
  });

  it("answers malformed requests with RFC 6749 errors", async () => {
    const user = await admin();
    const base = exchangeForm({
      subjectToken: user.access,
      resource: TEST_MCP_RESOURCE,
      scope: "tickets:read",
    });
    const cases: [Record<string, string>, number, string][] = [
      [{ ...base, grant_type: "password" }, 400, "unsupported_grant_type"],
      [{ ...base, grant_type: "" }, 400, "invalid_request"],
      [{ ...base, subject_token: "" }, 400, "invalid_request"],
      [{ ...base, subject_token_type: "urn:ietf:params:oauth:token-type:id_token" }, 400, "invalid_request"],
      [
        { ...base, requested_token_type: "urn:ietf:params:oauth:token-type:refresh_token" },
        400,
        "invalid_request",
      ],
      // actor_token and actor_token_type go together (RFC 8693 §2.1); only access tokens act.
      [{ ...base, actor_token: "x" }, 400, "invalid_request"],
      [
        { ...base, actor_token_type: "urn:ietf:params:oauth:token-type:access_token" },
        400,
        "invalid_request",
      ],
      [
        { ...base, actor_token: "x", actor_token_type: "urn:ietf:params:oauth:token-type:jwt" },
        400,
        "invalid_request",
      ],
      // The agent_id extension is gone: the agent is proven by actor_token.
      [{ ...base, agent_id: "support-assistant" }, 400, "invalid_request"],
      [{ ...base, resource: "" }, 400, "invalid_request"],
      // No subject at all: only the development exchange (AUTH_DEV_ANONYMOUS=1) takes that.
      [withoutSubject(base), 400, "invalid_request"],
    ];
    for (const [form, status, error] of cases)
      expectOAuthError(await postTokenRequest(chat.url, form, gateway), status, error);

    const duplicate = `${new URLSearchParams(base).toString()}&scope=tickets:write`;
    expectOAuthError(
      await postTokenRequest(chat.url, {}, gateway, { body: duplicate }),
      400,
      "invalid_request",
    );
    expectOAuthError(
      await postTokenRequest(chat.url, base, gateway, { contentType: "application/json" }),
      400,
      "invalid_request",
    );
    const get = await postTokenRequest(chat.url, {}, gateway, { method: "GET" });
    expectOAuthError(get, 405, "invalid_request");
    expect(get.headers.get("allow")).toBe("POST");
  });
});

describe("token exchange and the subject token's expiry", () => {
  let short: TestIdentity;
  beforeAll(async () => {
    // Access tokens shorter than MCP tokens. The clock tolerance outlasts the test's wait, so the
    // shared verifier still accepts the expired token and only the exchange's own no-leeway check
    // can refuse it (with a shorter tolerance the test would pass without that check).
    short = await startTestIdentity({ ACCESS_TOKEN_TTL: "2s", MCP_TOKEN_TTL: "5m", CLOCK_TOLERANCE: "10s" });
  });
  afterAll(() => short?.dispose());

  it("caps the exchanged token at the subject's exp, and refuses an expired subject token", async () => {
    const res = await short.auth.login({ email: "agent@company.com", password: short.passwords.agent });
    const access = res.tokens?.accessToken ?? "";
    const auth: ClientAuth = { basic: [TEST_GATEWAY_ID, short.config.GATEWAY_CLIENT_SECRET] };
    const form = exchangeForm({ subjectToken: access, resource: TEST_MCP_RESOURCE, scope: "tickets:read" });

    const fresh = await postTokenRequest(short.url, form, auth);
    expect(fresh.status, JSON.stringify(fresh.body)).toBe(200);
    expect(jose.decodeJwt(fresh.body.access_token as string).exp).toBe(jose.decodeJwt(access).exp);

    await new Promise((r) => setTimeout(r, 3_200));
    // Within the leeway the edge still takes it; an exchanged token must not start out dead.
    await short.auth.whoAmI({}, bearer(access));
    const expired = await postTokenRequest(short.url, form, auth);
    expectOAuthError(expired, 400, "invalid_grant");
    expect(expired.body.error_description).toMatch(/expired/);
  });
});

function withoutSubject(form: Record<string, string>): Record<string, string> {
  const { subject_token: _token, subject_token_type: _type, ...rest } = form;
  return rest;
}
