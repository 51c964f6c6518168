import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { AgentService } from "#gen/supportext/agent/v1/agent_pb.js";
import { AuthService } from "#gen/supportext/auth/v1/auth_pb.js";
import { ChatService } from "#gen/supportext/chat/v1/chat_pb.js";
import { McpGatewayService } from "#gen/supportext/mcpgateway/v1/mcp_gateway_pb.js";
import { SERVICE_AUTHORIZATION_HEADER, SERVICE_IDS, type ServiceCredentials } from "#kit/auth/index.js";
import { configuredClientCredentials } from "#kit/service/index.js";
import { createTokenExchangeClient } from "#services/mcp-gateway/token/token-exchange-client.js";
import type { TestStack } from "./test-stack.js";

/** What one hop answers a user's token: accepted, or refused with a code. */
export type ProbeResult = "accepted" | "revoked" | `refused: ${string}`;

/** One cheap authenticated call per hop, each made the way that hop's legitimate caller makes it. */
export interface HopProbes {
  /** identity: WhoAmI with the user's token. */
  identity(userToken: string): Promise<ProbeResult>;
  /** chat: ListThreads with the user's token. */
  chat(userToken: string): Promise<ProbeResult>;
  /** agent: ListAgents with chat's credential and the user's token. */
  agent(userToken: string): Promise<ProbeResult>;
  /** gateway: ListTools with the agent service's credential and the user's token. */
  gateway(userToken: string): Promise<ProbeResult>;
  /** MCP server: tools/list with an MCP token (obtain it with `mcpToken` while the session lives). */
  mcp(mcpToken: string): Promise<ProbeResult>;
  /** An MCP token for the user, exchanged as the gateway exchanges it. */
  mcpToken(userToken: string): Promise<string>;
}

function withService(credentials: ServiceCredentials, audience: string, agent?: string): Interceptor {
  return (next) => async (req) => {
    req.header.set(SERVICE_AUTHORIZATION_HEADER, `Bearer ${await credentials.tokenFor(audience, agent)}`);
    return next(req);
  };
}

/**
 * "revoked" when the hop, or a hop behind it, refused the session as revoked: a gateway that has not
 * heard yet still cannot use the session, because the MCP server behind it refuses it.
 */
function classify(err: unknown): ProbeResult {
  const ce = ConnectError.from(err);
  return ce.code === Code.Unauthenticated && /\brevoked\b/.test(ce.rawMessage)
    ? "revoked"
    : `refused: ${Code[ce.code]} ${ce.rawMessage}`;
}

/** Where the probes call: a test stack, or any one replica of each hop (its config gives MCP_URL). */
export type ProbeTargets = Pick<TestStack, "config"> & {
  readonly [hop in "identity" | "chat" | "agent" | "gateway"]: { readonly url: string };
};

export function hopProbes(stack: ProbeTargets): HopProbes {
  const agentCredentials = configuredClientCredentials(stack.config, SERVICE_IDS.agent);
  const identity = createClient(
    AuthService,
    createConnectTransport({ baseUrl: stack.identity.url, httpVersion: "2" }),
  );
  const chat = createClient(
    ChatService,
    createConnectTransport({ baseUrl: stack.chat.url, httpVersion: "2" }),
  );
  const agent = createClient(
    AgentService,
    createGrpcTransport({
      baseUrl: stack.agent.url,
      interceptors: [
        withService(configuredClientCredentials(stack.config, SERVICE_IDS.chat), SERVICE_IDS.agent),
      ],
    }),
  );
  const gateway = createClient(
    McpGatewayService,
    createGrpcTransport({
      baseUrl: stack.gateway.url,
      interceptors: [withService(agentCredentials, SERVICE_IDS.gateway, "support-assistant")],
    }),
  );
  const exchange = createTokenExchangeClient({
    tokenEndpoint: stack.config.AUTH_TOKEN_URL,
    client: { clientId: stack.config.GATEWAY_CLIENT_ID, clientSecret: stack.config.GATEWAY_CLIENT_SECRET },
  });
  const headers = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
  const probe = async (call: () => Promise<unknown>): Promise<ProbeResult> => {
    try {
      await call();
      return "accepted";
    } catch (err) {
      return classify(err);
    }
  };
  return {
    identity: (t) => probe(() => identity.whoAmI({}, headers(t))),
    chat: (t) => probe(() => chat.listThreads({ pageSize: 1 }, headers(t))),
    agent: (t) => probe(() => agent.listAgents({ pageSize: 1 }, headers(t))),
    gateway: (t) => probe(() => gateway.listTools({ pageSize: 1 }, headers(t))),
    async mcp(mcpToken) {
      const url = stack.config.MCP_URL;
      const res = await fetch(url, {
        method: "POST",
        headers: {
          authorization: `Bearer ${mcpToken}`,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          "mcp-protocol-version": "2025-06-18",
        },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
      });
      const body = await res.text();
      if (res.status === 200) return "accepted";
      if (res.status === 401 && /revoked/.test(res.headers.get("www-authenticate") ?? body)) return "revoked";
      return `refused: HTTP ${res.status} ${body.slice(0, 200)}`;
    },
    async mcpToken(userToken) {
      const t = await exchange.exchange({
        subjectToken: userToken,
        actorToken: await agentCredentials.tokenFor(SERVICE_IDS.gateway, "support-assistant"),
        resource: stack.config.MCP_RESOURCE,
        scopes: ["tickets:read"],
      });
      return t.accessToken;
    },
  };
}
