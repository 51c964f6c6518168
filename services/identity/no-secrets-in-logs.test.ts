import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SERVICE_IDS } from "#kit/auth/index.js";
import { testAgentDirectory } from "./testing/test-agents.js";
import {
  bearer,
  startTestIdentity,
  TEST_GATEWAY_ID,
  TEST_MCP_RESOURCE,
  type TestIdentity,
} from "./testing/test-identity.js";
import { clientCredentialsForm, exchangeForm, postTokenRequest } from "./testing/token-request.js";

let chat: TestIdentity;

beforeAll(async () => {
  chat = await startTestIdentity(
    { LOGIN_MAX_FAILURES_PER_EMAIL: "2" },
    { agentDirectory: testAgentDirectory() },
  );
});
afterAll(() => chat?.dispose());

describe("logs", () => {
  it("contain no password, token or client secret in any line, across every identity flow", async () => {
    const secrets: string[] = [
      chat.passwords.admin,
      chat.passwords.agent,
      chat.passwords.viewer,
      chat.config.GATEWAY_CLIENT_SECRET,
      chat.config.AGENT_CLIENT_SECRET,
      chat.config.MCP_CLIENT_SECRET,
    ];
    const wrongPassword = "Wr0ng-Passw0rd-Guess";
    const wrongSecret = "wrong-client-secret-xyz";
    secrets.push(wrongPassword, wrongSecret);
    const swallow = (p: Promise<unknown>) => p.catch(() => undefined);

    // Failed logins (wrong password, unknown email), then throttled ones.
    for (let i = 0; i < 3; i++)
      await swallow(chat.auth.login({ email: "admin@company.com", password: wrongPassword }));
    await swallow(chat.auth.login({ email: "nobody@company.com", password: wrongPassword }));
    // A password typed into the email field: not an account, so only its digest may be logged.
    const passwordAsEmail = "hunter2-Typed-In-The-Wrong-Box";
    secrets.push(passwordAsEmail.toLowerCase(), passwordAsEmail);
    await swallow(chat.auth.login({ email: passwordAsEmail, password: wrongPassword }));

    // A full session: login, who-am-I, refresh, reuse, logout.
    const login = await chat.auth.login({ email: "agent@company.com", password: chat.passwords.agent });
    const first = login.tokens;
    if (!first) throw new Error("no tokens");
    secrets.push(first.accessToken, first.refreshToken);
    await chat.auth.whoAmI({}, bearer(first.accessToken));
    const second = (await chat.auth.refresh({ refreshToken: first.refreshToken })).tokens;
    if (!second) throw new Error("no tokens");
    secrets.push(second.accessToken, second.refreshToken);
    await swallow(chat.auth.refresh({ refreshToken: first.refreshToken })); // reuse → revoked
    await swallow(chat.auth.whoAmI({}, bearer(second.accessToken))); // revoked token
    const third = await chat.auth.login({ email: "viewer@company.com", password: chat.passwords.viewer });
    const viewerTokens = third.tokens;
    if (!viewerTokens) throw new Error("no tokens");
    secrets.push(viewerTokens.accessToken, viewerTokens.refreshToken);

    // Client credentials: success, wrong secret, refused agent.
    const agentClient = { basic: [SERVICE_IDS.agent, chat.config.AGENT_CLIENT_SECRET] } as const;
    const service = await postTokenRequest(
      chat.url,
      clientCredentialsForm({ audience: SERVICE_IDS.gateway, agentId: "ticket-reader" }),
      agentClient,
    );
    expect(service.status).toBe(200);
    const actorToken = service.body.access_token as string;
    secrets.push(actorToken);
    await postTokenRequest(chat.url, clientCredentialsForm({ audience: SERVICE_IDS.identity }), {
      basic: [SERVICE_IDS.mcpServer, wrongSecret],
    });
    await postTokenRequest(
      chat.url,
      clientCredentialsForm({ audience: SERVICE_IDS.gateway, agentId: "ghost" }),
      agentClient,
    );

    // Token exchange: success, bad client, bad subject, bad actor.
    const gateway = { basic: [TEST_GATEWAY_ID, chat.config.GATEWAY_CLIENT_SECRET] } as const;
    const ok = await postTokenRequest(
      chat.url,
      exchangeForm({ subjectToken: viewerTokens.accessToken, resource: TEST_MCP_RESOURCE, actorToken }),
      gateway,
    );
    expect(ok.status).toBe(200);
    secrets.push(ok.body.access_token as string);
    await postTokenRequest(
      chat.url,
      exchangeForm({ subjectToken: viewerTokens.accessToken, resource: TEST_MCP_RESOURCE }),
      { basic: [TEST_GATEWAY_ID, wrongSecret] },
    );
    await postTokenRequest(
      chat.url,
      exchangeForm({ subjectToken: viewerTokens.accessToken, resource: TEST_MCP_RESOURCE }),
      { post: [TEST_GATEWAY_ID, wrongSecret] },
    );
    await postTokenRequest(
      chat.url,
      exchangeForm({ subjectToken: second.accessToken, resource: TEST_MCP_RESOURCE }),
      gateway,
    );
    await postTokenRequest(
      chat.url,
      exchangeForm({
        subjectToken: viewerTokens.accessToken,
        resource: TEST_MCP_RESOURCE,
        actorToken: `${actorToken}x`,
      }),
      gateway,
    );
    await chat.auth.logout({ refreshToken: viewerTokens.refreshToken });

    const lines = chat.logs.lines;
    // The flows above really were logged (so the check below is not vacuous).
    for (const msg of [
      "login failed",
      "login throttled",
      "login succeeded",
      "refresh token rotated",
      "refresh token reuse detected",
      "token exchanged",
      "service token issued",
      "token request refused",
      "logged out",
    ]) {
      expect(
        lines.some((l) => l.includes(msg)),
        msg,
      ).toBe(true);
    }
    for (const line of lines) {
      for (const secret of secrets) expect(line).not.toContain(secret);
      // Nor any fragment of a token: a JWT header, or the refresh-token prefix with its random part.
      expect(line).not.toMatch(/eyJhbGci/);
      expect(line).not.toMatch(/sxr_[A-Za-z0-9_-]{8,}/);
    }
  });
});
