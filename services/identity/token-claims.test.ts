import * as jose from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SERVICE_IDS } from "#kit/auth/index.js";
import { TEST_AGENTS, testAgentDirectory } from "./testing/test-agents.js";
import {
  startTestIdentity,
  TEST_GATEWAY_ID,
  TEST_ISSUER,
  TEST_MCP_RESOURCE,
  type TestIdentity,
} from "./testing/test-identity.js";
import { clientCredentialsForm, exchangeForm, postTokenRequest } from "./testing/token-request.js";

let chat: TestIdentity;

beforeAll(async () => {
  chat = await startTestIdentity({}, { agentDirectory: testAgentDirectory() });
});
afterAll(() => chat?.dispose());

/**
 * The exact shape of the three token kinds (docs/architecture.md, "The delegation chain"), printed
 * for the issue's resolution note.
 * Decoding here happens only after the token verified against the served JWKS.
 */
describe("token claims", () => {
  it("access token: header typ at+jwt + kid; claims exactly iss aud sub client_id email roles scope sid jti iat nbf exp", async () => {
    const login = await chat.auth.login({ email: "agent@company.com", password: chat.passwords.agent });
    const token = login.tokens?.accessToken ?? "";
    const { payload, protectedHeader } = await jose.jwtVerify(
      token,
      jose.createRemoteJWKSet(new URL(`${chat.url}/.well-known/jwks.json`)),
      { issuer: TEST_ISSUER, audience: chat.config.API_AUDIENCE, typ: "at+jwt" },
    );
    console.log(
      `decoded access token\nheader: ${JSON.stringify(protectedHeader)}\nclaims: ${JSON.stringify(payload, null, 2)}`,
    );
    expect(Object.keys(protectedHeader).sort()).toEqual(["alg", "kid", "typ"]);
    expect(protectedHeader).toMatchObject({ alg: "ES256", typ: "at+jwt" });
    expect(Object.keys(payload).sort()).toEqual(
      ["aud", "client_id", "email", "exp", "iat", "iss", "jti", "nbf", "roles", "scope", "sid", "sub"].sort(),
    );
    expect(payload).toMatchObject({
      iss: TEST_ISSUER,
      aud: chat.config.API_AUDIENCE,
      sub: login.user?.id,
      // RFC 9068 §2.2: the client the token was issued to — AuthService.Login's, for the user's own use.
      client_id: "support-ext-login",
      email: "agent@company.com",
      roles: ["support_agent"],
      scope: "tickets:read tickets:write integrations:read system:read",
      sid: login.sessionId,
    });
    expect(payload.nbf).toBe(payload.iat);
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(chat.config.ACCESS_TOKEN_TTL);
  });

  it("service token: typ at+jwt; claims exactly iss aud sub client_id jti iat nbf exp, and agent when named", async () => {
    const res = await postTokenRequest(
      chat.url,
      clientCredentialsForm({ audience: SERVICE_IDS.gateway, agentId: "ticket-reader" }),
      { basic: [SERVICE_IDS.agent, chat.config.AGENT_CLIENT_SECRET] },
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const { payload, protectedHeader } = await jose.jwtVerify(
      res.body.access_token as string,
      jose.createRemoteJWKSet(new URL(`${chat.url}/.well-known/jwks.json`)),
      { issuer: TEST_ISSUER, audience: SERVICE_IDS.gateway, typ: "at+jwt" },
    );
    console.log(
      `decoded service token\nheader: ${JSON.stringify(protectedHeader)}\nclaims: ${JSON.stringify(payload, null, 2)}`,
    );
    expect(Object.keys(payload).sort()).toEqual(
      ["agent", "aud", "client_id", "exp", "iat", "iss", "jti", "nbf", "sub"].sort(),
    );
    expect(payload).toMatchObject({
      aud: SERVICE_IDS.gateway,
      sub: SERVICE_IDS.agent,
      client_id: SERVICE_IDS.agent,
      agent: "ticket-reader",
    });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(chat.config.SERVICE_TOKEN_TTL);
  });

  it("exchanged token: the user's claims plus nested act and authorization_details; aud is the MCP resource", async () => {
    const login = await chat.auth.login({ email: "agent@company.com", password: chat.passwords.agent });
    const subject = login.tokens?.accessToken ?? "";
    const actor = await postTokenRequest(
      chat.url,
      clientCredentialsForm({ audience: SERVICE_IDS.gateway, agentId: "support-assistant" }),
      { basic: [SERVICE_IDS.agent, chat.config.AGENT_CLIENT_SECRET] },
    );
    const res = await postTokenRequest(
      chat.url,
      exchangeForm({
        subjectToken: subject,
        resource: TEST_MCP_RESOURCE,
        scope: "tickets:read tickets:delete",
        actorToken: actor.body.access_token as string,
      }),
      { basic: [TEST_GATEWAY_ID, chat.config.GATEWAY_CLIENT_SECRET] },
    );
    expect(res.status).toBe(200);
    const { payload, protectedHeader } = await jose.jwtVerify(
      res.body.access_token as string,
      jose.createRemoteJWKSet(new URL(`${chat.url}/.well-known/jwks.json`)),
      { issuer: TEST_ISSUER, audience: TEST_MCP_RESOURCE, typ: "at+jwt" },
    );
    console.log(
      `decoded exchanged token\nheader: ${JSON.stringify(protectedHeader)}\nclaims: ${JSON.stringify(payload, null, 2)}`,
    );
    expect(Object.keys(payload).sort()).toEqual(
      [
        "act",
        "aud",
        "authorization_details",
        "client_id",
        "email",
        "exp",
        "iat",
        "iss",
        "jti",
        "nbf",
        "roles",
        "scope",
        "sid",
        "sub",
      ].sort(),
    );
    expect(payload).toMatchObject({
      aud: TEST_MCP_RESOURCE,
      sub: login.user?.id,
      sid: login.sessionId,
      client_id: TEST_GATEWAY_ID,
      scope: "tickets:read",
      act: { sub: TEST_GATEWAY_ID, act: { sub: SERVICE_IDS.agent, agent: "support-assistant" } },
      authorization_details: [
        {
          type: "agent_tools",
          agent: "support-assistant",
          tools: [...TEST_AGENTS.supportAssistant.allowedTools],
        },
      ],
    });
  });
});
