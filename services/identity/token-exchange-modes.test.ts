import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SERVICE_IDS } from "#kit/auth/index.js";
import {
  startTestIdentity,
  TEST_GATEWAY_ID,
  TEST_MCP_RESOURCE,
  type TestIdentity,
} from "./testing/test-identity.js";
import { clientCredentialsForm, exchangeForm, postTokenRequest } from "./testing/token-request.js";

/**
 * Without an actor token the exchange would give whoever holds the gateway's
 * secret the user's whole scope for the MCP server. Production requires the agent service's
 * token as actor_token; development keeps serving direct calls (GATEWAY_ALLOW_DIRECT_USERS,
 * AUTH_DEV_ANONYMOUS), both refused in production anyway.
 */
async function exchangeWith(identity: TestIdentity, withActor: boolean) {
  const login = await identity.auth.login({ email: "agent@company.com", password: identity.passwords.agent });
  let actorToken: string | undefined;
  if (withActor) {
    const agent = await postTokenRequest(
      identity.url,
      clientCredentialsForm({ audience: SERVICE_IDS.gateway, agentId: "ticket-reader" }),
      { basic: [SERVICE_IDS.agent, identity.config.AGENT_CLIENT_SECRET] },
    );
    actorToken = agent.body.access_token as string;
  }
  return postTokenRequest(
    identity.url,
    exchangeForm({
      subjectToken: login.tokens?.accessToken ?? "",
      resource: TEST_MCP_RESOURCE,
      ...(actorToken ? { actorToken } : {}),
    }),
    { basic: [TEST_GATEWAY_ID, identity.config.GATEWAY_CLIENT_SECRET] },
  );
}

describe.each([
  ["production", false],
  ["development", true],
] as const)("token exchange without an actor token, NODE_ENV=%s", (mode, servedWithoutActor) => {
  let identity: TestIdentity;
  beforeAll(async () => {
    identity = await startTestIdentity({ NODE_ENV: mode });
  });
  afterAll(() => identity?.dispose());

  it(
    servedWithoutActor
      ? "is served (direct development calls)"
      : "is refused: invalid_request, actor_token required",
    async () => {
      const direct = await exchangeWith(identity, false);
      if (servedWithoutActor) {
        expect(direct.status, JSON.stringify(direct.body)).toBe(200);
      } else {
        expect([direct.status, direct.body.error]).toEqual([400, "invalid_request"]);
        expect(direct.body.error_description).toMatch(/^actor_token is required/);
        expect(direct.body.access_token).toBeUndefined();
      }
      const delegated = await exchangeWith(identity, true);
      expect(delegated.status, JSON.stringify(delegated.body)).toBe(200);
    },
  );
});
