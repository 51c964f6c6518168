import * as jose from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServiceTokenVerifier, SERVICE_IDS } from "#kit/auth/index.js";
import { TEST_AGENTS, testAgentDirectory } from "./testing/test-agents.js";
import {
  startTestIdentity,
  TEST_GATEWAY_ID,
  TEST_ISSUER,
  type TestIdentity,
} from "./testing/test-identity.js";
import {
  type ClientAuth,
  clientCredentialsForm,
  postTokenRequest,
  type TokenResponse,
} from "./testing/token-request.js";

let chat: TestIdentity;
let clients: { chat: ClientAuth; agent: ClientAuth; gateway: ClientAuth; mcpServer: ClientAuth };

beforeAll(async () => {
  chat = await startTestIdentity({ SERVICE_TOKEN_TTL: "5m" }, { agentDirectory: testAgentDirectory() });
  clients = {
    chat: { basic: [SERVICE_IDS.chat, chat.config.CHAT_CLIENT_SECRET] },
    agent: { basic: [SERVICE_IDS.agent, chat.config.AGENT_CLIENT_SECRET] },
    gateway: { basic: [TEST_GATEWAY_ID, chat.config.GATEWAY_CLIENT_SECRET] },
    mcpServer: { basic: [SERVICE_IDS.mcpServer, chat.config.MCP_CLIENT_SECRET] },
  };
});
afterAll(() => chat?.dispose());

const request = (auth: ClientAuth, p: Parameters<typeof clientCredentialsForm>[0]) =>
  postTokenRequest(chat.url, clientCredentialsForm(p), auth);

function expectOAuthError(res: TokenResponse, status: number, error: string, description?: RegExp) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.error).toBe(error);
  if (description) expect(res.body.error_description).toMatch(description);
  expect(res.headers.get("cache-control")).toBe("no-store");
}

/** Verified as a receiving service does: the kit's service-token verifier, keys from chat's JWKS. */
function verifierFor(audience: string) {
  return createServiceTokenVerifier({
    issuer: TEST_ISSUER,
    audience,
    keys: jose.createRemoteJWKSet(new URL(`${chat.url}/.well-known/jwks.json`)),
  });
}

describe("grant_type=client_credentials at POST /oauth2/token", () => {
  it("issues each client a service token for each audience it calls, with exactly the service claims", async () => {
    const allowed: [keyof typeof clients, string, string][] = [
      ["chat", SERVICE_IDS.chat, SERVICE_IDS.agent],
      ["chat", SERVICE_IDS.chat, SERVICE_IDS.identity],
      ["agent", SERVICE_IDS.agent, SERVICE_IDS.gateway],
      ["agent", SERVICE_IDS.agent, SERVICE_IDS.identity],
      ["gateway", TEST_GATEWAY_ID, SERVICE_IDS.identity],
      ["mcpServer", SERVICE_IDS.mcpServer, SERVICE_IDS.identity],
    ];
    for (const [client, clientId, audience] of allowed) {
      const res = await request(clients[client], { audience });
      expect(res.status, `${client} → ${audience}: ${JSON.stringify(res.body)}`).toBe(200);
      expect(res.headers.get("cache-control")).toBe("no-store");
      // RFC 6749 §5.1, and no scope: service tokens carry none.
      expect(Object.keys(res.body).sort()).toEqual(["access_token", "expires_in", "token_type"]);
      expect(res.body).toMatchObject({ token_type: "Bearer", expires_in: chat.config.SERVICE_TOKEN_TTL });

      const token = res.body.access_token as string;
      const caller = await verifierFor(audience).verify(token);
      expect(caller).toMatchObject({ clientId, token });
      expect(caller.agent).toBeUndefined();
      expect(jose.decodeProtectedHeader(token)).toMatchObject({ alg: "ES256", typ: "at+jwt" });
      const claims = jose.decodeJwt(token);
      expect(Object.keys(claims).sort()).toEqual([
        "aud",
        "client_id",
        "exp",
        "iat",
        "iss",
        "jti",
        "nbf",
        "sub",
      ]);
      expect(claims).toMatchObject({ iss: TEST_ISSUER, aud: audience, sub: clientId, client_id: clientId });
      expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(chat.config.SERVICE_TOKEN_TTL);
      // A service token for one service is refused by any other.
      const other = audience === SERVICE_IDS.identity ? SERVICE_IDS.gateway : SERVICE_IDS.identity;
      await expect(verifierFor(other).verify(token)).rejects.toThrow(/^wrong_audience/);
    }
  });

  it("names a registered agent for the agent client (the `agent` claim)", async () => {
    const res = await request(clients.agent, {
      audience: SERVICE_IDS.gateway,
      agentId: TEST_AGENTS.ticketReader.agentId,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const caller = await verifierFor(SERVICE_IDS.gateway).verify(res.body.access_token as string);
    expect(caller).toMatchObject({ clientId: SERVICE_IDS.agent, agent: TEST_AGENTS.ticketReader.agentId });
    const claims = jose.decodeJwt(res.body.access_token as string);
    expect(claims.agent).toBe(TEST_AGENTS.ticketReader.agentId);
    expect(claims).not.toHaveProperty("sid");
    expect(claims).not.toHaveProperty("email");
    expect(claims).not.toHaveProperty("scope");
  });

  it("refuses audiences a client doesn't call (invalid_target), and a missing audience", async () => {
    const refused: [keyof typeof clients, string][] = [
      ["agent", SERVICE_IDS.agent],
      ["agent", SERVICE_IDS.mcpServer],
      ["gateway", SERVICE_IDS.gateway],
      ["gateway", SERVICE_IDS.agent],
      ["gateway", SERVICE_IDS.mcpServer],
      ["mcpServer", SERVICE_IDS.gateway],
      ["mcpServer", SERVICE_IDS.agent],
      ["agent", "http://mcp.test/mcp"],
      ["agent", "support-ext-api"],
    ];
    for (const [client, audience] of refused)
      expectOAuthError(
        await request(clients[client], { audience }),
        400,
        "invalid_target",
        /may obtain service tokens only for/,
      );
    expectOAuthError(await request(clients.agent, {}), 400, "invalid_request", /missing parameter audience/);
    expectOAuthError(await request(clients.agent, { audience: "" }), 400, "invalid_request");
    // resource is RFC 8707's URI; service tokens name a service id. scope: service tokens carry none.
    expectOAuthError(
      await request(clients.agent, {
        audience: SERVICE_IDS.gateway,
        extra: { resource: "http://mcp.test/mcp" },
      }),
      400,
      "invalid_target",
    );
    expectOAuthError(
      await request(clients.agent, { audience: SERVICE_IDS.gateway, extra: { scope: "tickets:read" } }),
      400,
      "invalid_scope",
    );
  });

  it("lets only the agent client name an agent, and only a registered one (invalid_request)", async () => {
    const agentId = TEST_AGENTS.supportAssistant.agentId;
    expectOAuthError(
      await request(clients.gateway, { audience: SERVICE_IDS.identity, agentId }),
      400,
      "invalid_request",
      /only the agent service may name one/,
    );
    expectOAuthError(
      await request(clients.mcpServer, { audience: SERVICE_IDS.identity, agentId }),
      400,
      "invalid_request",
      /only the agent service may name one/,
    );
    expectOAuthError(
      await request(clients.agent, { audience: SERVICE_IDS.gateway, agentId: "not-registered" }),
      400,
      "invalid_request",
      /agent "not-registered" is not registered/,
    );
    // (An empty agent_id is no agent_id: RFC 6749 §3.1, parameters without a value are omitted.)
    for (const bad of ["bad agent!", "x".repeat(65)])
      expectOAuthError(
        await request(clients.agent, { audience: SERVICE_IDS.gateway, agentId: bad }),
        400,
        "invalid_request",
      );
  });

  it("refuses wrong secrets, another client's secret, and unknown clients (401 invalid_client)", async () => {
    const cases: ClientAuth[] = [
      { basic: [SERVICE_IDS.agent, "wrong-secret-123"] },
      { basic: [SERVICE_IDS.agent, chat.config.GATEWAY_CLIENT_SECRET] },
      { basic: [SERVICE_IDS.mcpServer, chat.config.AGENT_CLIENT_SECRET] },
      { basic: [SERVICE_IDS.chat, chat.config.AGENT_CLIENT_SECRET] },
      { post: [SERVICE_IDS.agent, "wrong-secret-123"] },
      { none: true },
    ];
    for (const auth of cases) {
      const res = await request(auth, { audience: SERVICE_IDS.identity });
      expectOAuthError(res, 401, "invalid_client");
      // RFC 6749 §5.2: a client that tried HTTP Basic is answered with its challenge.
      if ("basic" in auth) expect(res.headers.get("www-authenticate")).toMatch(/^Basic realm=/);
    }
    // client_secret_post still works.
    const posted = await request(
      { post: [SERVICE_IDS.mcpServer, chat.config.MCP_CLIENT_SECRET] },
      { audience: "identity" },
    );
    expect(posted.status, JSON.stringify(posted.body)).toBe(200);
  });

  it("gives each grant only to the clients registered for it (unauthorized_client)", async () => {
    const exchange = {
      grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
      subject_token: "x",
      subject_token_type: "urn:ietf:params:oauth:token-type:access_token",
      resource: "http://mcp.test/mcp",
    };
    for (const auth of [clients.agent, clients.mcpServer]) {
      expectOAuthError(await postTokenRequest(chat.url, exchange, auth), 400, "unauthorized_client");
    }
    expectOAuthError(
      await postTokenRequest(chat.url, { grant_type: "password" }, clients.agent),
      400,
      "unsupported_grant_type",
    );
    // Grants the server has, but not for this client (RFC 6749 §5.2).
    for (const grant of ["authorization_code", "refresh_token"]) {
      expectOAuthError(
        await postTokenRequest(chat.url, { grant_type: grant }, clients.agent),
        400,
        "unauthorized_client",
      );
    }
  });

  it("joins the caller's trace: its log line carries the incoming trace id and request id", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const res = await postTokenRequest(
      chat.url,
      clientCredentialsForm({ audience: SERVICE_IDS.identity }),
      clients.mcpServer,
      {
        headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01`, "x-request-id": "req-cc-trace-1" },
      },
    );
    expect(res.status).toBe(200);
    const line = chat.logs.lines.find(
      (l) => l.includes("service token issued") && l.includes("req-cc-trace-1"),
    );
    expect(line).toContain(`"trace_id":"${traceId}"`);
  });

  it("logs each issued service token without the token", async () => {
    const res = await request(clients.agent, { audience: SERVICE_IDS.gateway, agentId: "ticket-reader" });
    expect(res.status).toBe(200);
    const line = chat.logs.lines.find(
      (l) => l.includes("service token issued") && l.includes('"agent":"ticket-reader"'),
    );
    expect(line).toBeDefined();
    expect(line).toContain('"client_id":"agent"');
    expect(line).toContain('"audience":"mcp-gateway"');
    for (const l of chat.logs.lines) expect(l).not.toContain(res.body.access_token as string);
  });
});
