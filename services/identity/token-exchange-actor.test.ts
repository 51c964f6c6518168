import { randomUUID } from "node:crypto";
import * as jose from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SERVICE_IDS } from "#kit/auth/index.js";
import { type AgentDirectory, AgentDirectoryUnavailable } from "./agents/agent-directory.js";
import { TEST_AGENTS, testAgentDirectory } from "./testing/test-agents.js";
import {
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

/** The seeded agents, and one id whose lookup finds the registry down. */
const REGISTRY_DOWN = "registry-down";
const known = testAgentDirectory();
const agents: AgentDirectory = {
  async lookup(agentId) {
    if (agentId === REGISTRY_DOWN) throw new AgentDirectoryUnavailable("agent service unreachable");
    return known.lookup(agentId);
  },
};

let chat: TestIdentity;
let gateway: ClientAuth;
let agentClient: ClientAuth;

beforeAll(async () => {
  chat = await startTestIdentity({ MCP_TOKEN_TTL: "5m" }, { agentDirectory: agents });
  gateway = { basic: [TEST_GATEWAY_ID, chat.config.GATEWAY_CLIENT_SECRET] };
  agentClient = { basic: [SERVICE_IDS.agent, chat.config.AGENT_CLIENT_SECRET] };
});
afterAll(() => chat?.dispose());

async function login(email: string, password: string): Promise<string> {
  const res = await chat.auth.login({ email, password });
  return res.tokens?.accessToken ?? "";
}

/** The agent service's token, obtained as the agent service obtains it (client credentials). */
async function agentToken(
  agentId: string | undefined,
  audience: string = SERVICE_IDS.gateway,
): Promise<string> {
  const res = await postTokenRequest(
    chat.url,
    clientCredentialsForm({ audience, ...(agentId ? { agentId } : {}) }),
    agentClient,
  );
  if (res.status !== 200) throw new Error(JSON.stringify(res.body));
  return res.body.access_token as string;
}

/** A token signed with chat's own current key: claims no client could obtain, but a valid signature. */
async function signedByRing(
  claims: jose.JWTPayload,
  header: Partial<jose.JWTHeaderParameters> = {},
): Promise<string> {
  const signer = chat.running.identity.keyRing.signer();
  const now = Math.floor(Date.now() / 1000);
  return new jose.SignJWT({
    iss: TEST_ISSUER,
    jti: randomUUID(),
    iat: now,
    nbf: now,
    exp: now + 300,
    ...claims,
  })
    .setProtectedHeader({ alg: signer.alg, typ: "at+jwt", kid: signer.kid, ...header })
    .sign(signer.key);
}

const agentClaims = (agent: string) => ({
  aud: SERVICE_IDS.gateway,
  sub: SERVICE_IDS.agent,
  client_id: SERVICE_IDS.agent,
  agent,
});

function exchange(
  subjectToken: string,
  actorToken: string | undefined,
  scope?: string,
): Promise<TokenResponse> {
  return postTokenRequest(
    chat.url,
    exchangeForm({
      subjectToken,
      resource: TEST_MCP_RESOURCE,
      ...(actorToken !== undefined ? { actorToken } : {}),
      ...(scope !== undefined ? { scope } : {}),
    }),
    gateway,
  );
}

function expectRefused(res: TokenResponse, status: number, error: string, description: RegExp) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.error).toBe(error);
  expect(res.body.error_description).toMatch(description);
  expect(res.headers.get("cache-control")).toBe("no-store");
}

describe("token exchange with an actor token (RFC 8693 §2.1, §4.1)", () => {
  it("narrows scope to what the agent's tools need, and carries the allow-list as authorization_details", async () => {
    const user = await login("agent@company.com", chat.passwords.agent);
    const actor = await agentToken(TEST_AGENTS.ticketSearcher.agentId);

    // The user holds tickets:write and system:read; the agent's tools need tickets:read only.
    const res = await exchange(user, actor, "tickets:read tickets:write system:read");
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.scope).toBe("tickets:read");
    const claims = jose.decodeJwt(res.body.access_token as string);
    expect(claims).toMatchObject({
      scope: "tickets:read",
      act: { sub: TEST_GATEWAY_ID, act: { sub: SERVICE_IDS.agent, agent: "ticket-searcher" } },
      authorization_details: [
        { type: "agent_tools", agent: "ticket-searcher", tools: ["search_tickets", "get_ticket"] },
      ],
    });

    // No scope asked: the user's scopes the agent needs, still never more.
    const all = await exchange(user, actor);
    expect(all.body.scope).toBe("tickets:read");
    const reader = await exchange(
      await login("admin@company.com", chat.passwords.admin),
      await agentToken("ticket-reader"),
    );
    expect(reader.body.scope).toBe("tickets:read integrations:read system:read");

    // Only scopes the agent doesn't need: nothing left.
    expectRefused(
      await exchange(user, actor, "tickets:write system:read"),
      400,
      "invalid_scope",
      /ticket-searcher/,
    );
  });

  it("refuses an actor token addressed to another service (a token the agent got for the identity service can't be replayed)", async () => {
    const user = await login("viewer@company.com", chat.passwords.viewer);
    const forIdentity = await agentToken("ticket-reader", SERVICE_IDS.identity);
    expectRefused(await exchange(user, forIdentity), 400, "invalid_grant", /^actor_token: wrong_audience/);
  });

  it("refuses a user token, an MCP token, or a service token of another client as actor token", async () => {
    const user = await login("viewer@company.com", chat.passwords.viewer);
    expectRefused(await exchange(user, user), 400, "invalid_grant", /^actor_token: /);
    const mcp = await exchange(user, await agentToken("ticket-reader"));
    expect(mcp.status).toBe(200);
    expectRefused(
      await exchange(user, mcp.body.access_token as string),
      400,
      "invalid_grant",
      /^actor_token: /,
    );

    // Correctly signed, addressed to the gateway, but not the agent service's.
    for (const clientId of [SERVICE_IDS.mcpServer, SERVICE_IDS.chat, TEST_GATEWAY_ID]) {
      const other = await signedByRing({
        ...agentClaims("ticket-reader"),
        sub: clientId,
        client_id: clientId,
      });
      expectRefused(
        await exchange(user, other),
        400,
        "invalid_grant",
        /only the agent service acts for users/,
      );
    }
    // A user token shaped like a service token (it has a sid): refused.
    const withSid = await signedByRing({ ...agentClaims("ticket-reader"), sid: randomUUID() });
    expectRefused(await exchange(user, withSid), 400, "invalid_grant", /^actor_token: wrong_type/);
  });

  it("refuses an actor token that names no agent, or one that is not registered", async () => {
    const user = await login("viewer@company.com", chat.passwords.viewer);
    expectRefused(await exchange(user, await agentToken(undefined)), 400, "invalid_grant", /names no agent/);
    const ghost = await signedByRing(agentClaims("ghost-agent"));
    expectRefused(await exchange(user, ghost), 400, "invalid_grant", /agent "ghost-agent" is not registered/);
  });

  it("refuses an expired, a not-yet-valid, a forged and a foreign actor token", async () => {
    const user = await login("viewer@company.com", chat.passwords.viewer);
    const now = Math.floor(Date.now() / 1000);
    // Past the clock tolerance every verifier allows (CLOCK_TOLERANCE, 5 s).
    const expired = await signedByRing({
      ...agentClaims("ticket-reader"),
      iat: now - 400,
      nbf: now - 400,
      exp: now - 60,
    });
    expectRefused(await exchange(user, expired), 400, "invalid_grant", /^actor_token: expired/);
    const early = await signedByRing({ ...agentClaims("ticket-reader"), nbf: now + 120 });
    expectRefused(await exchange(user, early), 400, "invalid_grant", /^actor_token: not_yet_valid/);

    const real = await agentToken("support-assistant");
    const [h, p, sig] = real.split(".");
    // The payload swapped for another agent's, the signature kept.
    const swapped = Buffer.from(JSON.stringify({ ...jose.decodeJwt(real), agent: "ticket-reader" })).toString(
      "base64url",
    );
    expectRefused(
      await exchange(user, `${h}.${swapped}.${sig}`),
      400,
      "invalid_grant",
      /^actor_token: bad_signature/,
    );
    expectRefused(
      await exchange(user, `${h}.${p}.${sig?.slice(0, -4)}AAAA`),
      400,
      "invalid_grant",
      /^actor_token: /,
    );

    // Signed by a key that is not chat's, under chat's kid.
    const { privateKey } = await jose.generateKeyPair("ES256");
    const now2 = Math.floor(Date.now() / 1000);
    const foreign = await new jose.SignJWT({
      iss: TEST_ISSUER,
      jti: randomUUID(),
      iat: now2,
      nbf: now2,
      exp: now2 + 300,
      ...agentClaims("ticket-reader"),
    })
      .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: chat.running.identity.keyRing.signer().kid })
      .sign(privateKey);
    expectRefused(await exchange(user, foreign), 400, "invalid_grant", /^actor_token: bad_signature/);
    const unsigned = `${Buffer.from('{"alg":"none","typ":"at+jwt"}').toString("base64url")}.${p}.`;
    expectRefused(await exchange(user, unsigned), 400, "invalid_grant", /^actor_token: /);
    const otherIssuer = await signedByRing({ ...agentClaims("ticket-reader"), iss: "http://evil.test" });
    expectRefused(await exchange(user, otherIssuer), 400, "invalid_grant", /^actor_token: wrong_issuer/);
    const wrongTyp = await signedByRing(agentClaims("ticket-reader"), { typ: "JWT" });
    expectRefused(await exchange(user, wrongTyp), 400, "invalid_grant", /^actor_token: wrong_type/);
  });

  it("answers 503 temporarily_unavailable when the agent registry can't be asked (never 'not registered')", async () => {
    const user = await login("viewer@company.com", chat.passwords.viewer);
    const res = await exchange(user, await signedByRing(agentClaims(REGISTRY_DOWN)));
    expectRefused(res, 503, "temporarily_unavailable", /agent registry is unavailable/);
    expect(res.headers.get("retry-after")).toBe("1");
    const cc = await postTokenRequest(
      chat.url,
      clientCredentialsForm({ audience: SERVICE_IDS.gateway, agentId: REGISTRY_DOWN }),
      agentClient,
    );
    expectRefused(cc, 503, "temporarily_unavailable", /agent registry is unavailable/);
  });

  it("refuses the retired agent_id parameter, telling to use actor_token", async () => {
    const user = await login("viewer@company.com", chat.passwords.viewer);
    const res = await postTokenRequest(
      chat.url,
      exchangeForm({ subjectToken: user, resource: TEST_MCP_RESOURCE, extra: { agent_id: "ticket-reader" } }),
      gateway,
    );
    expectRefused(res, 400, "invalid_request", /actor_token/);
  });

  it("logs the chain of each exchange", async () => {
    const user = await login("viewer@company.com", chat.passwords.viewer);
    expect((await exchange(user, await agentToken("ticket-reader"))).status).toBe(200);
    const line = chat.logs.lines.find(
      (l) => l.includes("token exchanged for the MCP resource") && l.includes("ticket-reader"),
    );
    expect(line).toContain('"actor_chain":"mcp-gateway ← agent(ticket-reader)"');
  });
});
