import { Code, ConnectError } from "@connectrpc/connect";
import * as jose from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentService } from "../../../gen/supportext/agent/v1/agent_pb.js";
import { SERVICE_IDS } from "../../kit/auth/service-identity.js";
import { createServiceTokenVerifier, createTokenVerifier } from "../../kit/auth/token-verifier.js";
import { kCaller } from "../../kit/propagation/context-keys.js";
import { type ServiceServer, startServiceServer } from "../../kit/server/service-server.js";
import { captureLogs } from "../../kit/testing/log-capture.js";
import { startTestChat, TEST_GATEWAY_ID, TEST_ISSUER, TEST_MCP_RESOURCE, type TestChat } from "../../chat/testing/test-chat.js";
import { clientCredentialsForm, exchangeForm, postTokenRequest } from "../../chat/testing/token-request.js";
import { createRemoteAgentDirectory } from "./remote-agent-directory.js";

/**
 * The production wiring of the agent directory (no override): chat asks a real Connect server for
 * AgentService.GetAgent, which admits it exactly as the agent service declares (service `chat`,
 * no user) with the kit's verifiers over chat's JWKS.
 */
const REGISTRY: Record<string, string[]> = {
  "support-assistant": ["search_tickets", "create_ticket", "delete_ticket"],
  "one-tool-agent": ["get_ticket"],
};

interface SeenCall {
  readonly agentId: string;
  readonly caller: string | undefined;
  readonly userAuthorization: string | null;
}

let chat: TestChat;
let agentService: ServiceServer;
const calls: SeenCall[] = [];

beforeAll(async () => {
  // The fake agent service verifies with chat's keys; chat needs its URL first, so keys are late-bound.
  let jwks: jose.JWTVerifyGetKey | undefined;
  const keys: jose.JWTVerifyGetKey = (header, token) => {
    if (!jwks) throw new Error("chat not started");
    return jwks(header, token);
  };
  const logs = captureLogs("agent");
  agentService = await startServiceServer({
    name: "agent",
    host: "127.0.0.1",
    port: 0,
    logger: logs.logger,
    corsOrigins: [],
    auth: {
      verifier: createTokenVerifier({ issuer: TEST_ISSUER, audience: "support-ext-api", keys }),
      callers: {
        rules: { [`${AgentService.typeName}/GetAgent`]: { services: [SERVICE_IDS.chat], user: "none" } },
        verifier: createServiceTokenVerifier({ issuer: TEST_ISSUER, audience: SERVICE_IDS.agent, keys }),
      },
    },
    routes: (router) =>
      router.service(AgentService, {
        async getAgent(req, ctx) {
          calls.push({
            agentId: req.agentId,
            caller: ctx.values.get(kCaller)?.clientId,
            userAuthorization: ctx.requestHeader.get("authorization"),
          });
          const tools = REGISTRY[req.agentId];
          if (!tools) throw new ConnectError(`agent "${req.agentId}" not found`, Code.NotFound);
          return { agent: { id: req.agentId, name: req.agentId, allowedTools: tools } };
        },
        async listAgents() {
          return {};
        },
        async *run() {},
      }),
  });
  chat = await startTestChat({ AGENT_URL: agentService.url });
  jwks = jose.createRemoteJWKSet(new URL(`${chat.url}/.well-known/jwks.json`));
}, 120_000);
afterAll(async () => {
  await chat?.dispose();
  await agentService?.close();
});

const agentClient = () => ({ basic: [SERVICE_IDS.agent, chat.config.AGENT_CLIENT_SECRET] }) as const;
const serviceToken = (agentId: string) =>
  postTokenRequest(chat.url, clientCredentialsForm({ audience: SERVICE_IDS.gateway, agentId }), agentClient());
const callsFor = (agentId: string) => calls.filter((c) => c.agentId === agentId);

describe("the agent directory over AgentService.GetAgent", () => {
  it("asks as chat (its service token), never with a user's token, and caches the answer", async () => {
    expect((await serviceToken("support-assistant")).status).toBe(200);
    expect((await serviceToken("support-assistant")).status).toBe(200);
    expect(callsFor("support-assistant")).toEqual([
      { agentId: "support-assistant", caller: SERVICE_IDS.chat, userAuthorization: null },
    ]);
  });

  it("takes not-found as 'not registered' and remembers that briefly", async () => {
    for (let i = 0; i < 3; i++) {
      const res = await serviceToken("ghost-agent");
      expect(res.status).toBe(400);
      expect(res.body.error_description).toMatch(/not registered/);
    }
    expect(callsFor("ghost-agent")).toHaveLength(1);
  });

  it("puts the registry's allow-list into the exchanged token and narrows scope by it", async () => {
    const login = await chat.auth.login({ email: "agent@company.com", password: chat.passwords.agent });
    const actor = await serviceToken("one-tool-agent");
    const res = await postTokenRequest(
      chat.url,
      exchangeForm({
        subjectToken: login.tokens?.accessToken ?? "",
        resource: TEST_MCP_RESOURCE,
        actorToken: actor.body.access_token as string,
      }),
      { basic: [TEST_GATEWAY_ID, chat.config.GATEWAY_CLIENT_SECRET] },
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.scope).toBe("tickets:read");
    expect(jose.decodeJwt(res.body.access_token as string).authorization_details).toEqual([
      { type: "agent_tools", agent: "one-tool-agent", tools: ["get_ticket"] },
    ]);
    expect(callsFor("one-tool-agent")).toHaveLength(1); // cached from the client-credentials request
  });

  it("shares one call among concurrent lookups of one agent", async () => {
    const directory = createRemoteAgentDirectory({
      agentUrl: agentService.url,
      credentials: chat.running.identity.serviceCredentials,
      logger: chat.logs.logger,
    });
    const found = await Promise.all(Array.from({ length: 10 }, () => directory.lookup("support-assistant")));
    expect(new Set(found.map((a) => a?.allowedTools.join()))).toEqual(new Set([REGISTRY["support-assistant"]?.join()]));
    expect(callsFor("support-assistant")).toHaveLength(2); // one more: this directory's own cache was cold
    expect(await directory.lookup("bad id!")).toBeUndefined(); // not even asked
    expect(callsFor("bad id!")).toHaveLength(0);
  });

  it("answers 503 temporarily_unavailable when the agent service is down, but keeps serving what it cached", async () => {
    await agentService.close();
    const res = await serviceToken("never-seen-agent");
    expect(res.status, JSON.stringify(res.body)).toBe(503);
    expect(res.body.error).toBe("temporarily_unavailable");
    expect(res.headers.get("retry-after")).toBe("1");
    expect((await serviceToken("support-assistant")).status).toBe(200);
  });
});
