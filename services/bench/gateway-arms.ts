import { type Client, createClient, createContextValues } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import type { CallToolResult, Client as McpClient } from "@modelcontextprotocol/client";
import { AuthService } from "#gen/supportext/auth/v1/auth_pb.js";
import { McpGatewayService } from "#gen/supportext/mcpgateway/v1/mcp_gateway_pb.js";
import { createClientCredentials, SERVICE_IDS, type ServiceCredentials } from "#kit/auth/index.js";
import { createServiceClient } from "#kit/client/index.js";
import { scopesForTools, TOOL_NAMES } from "#kit/contract/index.js";
import { kActingAgent } from "#kit/propagation/index.js";
import { createTokenExchangeClient } from "#services/mcp-gateway/token/token-exchange-client.js";
import { connectDirect } from "./gateway-direct-client.js";
import type { GatewayBenchStack } from "./gateway-stack.js";

/** A get_ticket; a refused or failed call must not pass for a fast one. */
export type Call = () => Promise<void>;

/** The gateway bench's two ways of making the same call, as the admin on a ticket made for it. */
export interface GatewayArms {
  /** Through the gateway, as the agent calls it. */
  readonly viaGateway: Call;
  /** The same call through another gateway at `url` (a baseline checkout's, the floor), made the same way. */
  viaGatewayAt(url: string, label?: string): Call;
  /** The MCP SDK v2 client configured as the gateway's, on MCP 2026-07-28 (what the gateway speaks). */
  readonly direct: McpClient;
  /** The same client on a 2025-11-25 session. */
  readonly legacy: McpClient;
  /** The direct call on `client`. */
  directOn(client: McpClient): Call;
  /** The token the gateway sends the MCP server for this user (the direct clients hold it too). */
  readonly mcpToken: string;
  close(): Promise<void>;
}

/**
 * The gateway called as the agent calls it (the kit client: Connect, binary, h2c, the agent's
 * service credential naming the agent, the user's token); the direct clients hold the token the
 * gateway uses: same exchange, same scopes.
 */
export async function connectGatewayArms(stack: GatewayBenchStack): Promise<GatewayArms> {
  const auth = createClient(
    AuthService,
    createConnectTransport({ baseUrl: stack.identityUrl, httpVersion: "2" }),
  );
  const login = await auth.login({ email: "admin@company.com", password: stack.adminPassword });
  const userToken = login.tokens?.accessToken ?? "";
  const agentCredentials = createClientCredentials({
    tokenEndpoint: `${stack.identityUrl}/oauth2/token`,
    client: { clientId: SERVICE_IDS.agent, clientSecret: stack.agentSecret },
  });
  const gateway = gatewayCaller(agentCredentials, userToken);
  const ticketId = await gateway.createTicket(stack.gatewayUrl);
  const exchange = createTokenExchangeClient({
    tokenEndpoint: `${stack.identityUrl}/oauth2/token`,
    client: { clientId: SERVICE_IDS.gateway, clientSecret: stack.gatewaySecret },
  });
  const mcpToken = await exchange.exchange({
    subjectToken: userToken,
    actorToken: await agentCredentials.tokenFor(SERVICE_IDS.gateway, "support-assistant"),
    resource: stack.mcpResource,
    scopes: scopesForTools(TOOL_NAMES),
  });
  const direct = await connectDirect(new URL(stack.mcpResource), mcpToken.accessToken, "auto");
  const legacy = await connectDirect(new URL(stack.mcpResource), mcpToken.accessToken, "2025-11-25");
  return {
    viaGateway: gateway.getTicket(stack.gatewayUrl, ticketId, "gateway"),
    viaGatewayAt: (url, label = "baseline gateway") => gateway.getTicket(url, ticketId, label),
    direct,
    legacy,
    directOn: (client) => directGetTicket(client, ticketId),
    mcpToken: mcpToken.accessToken,
    async close() {
      await direct.close().catch(() => undefined);
      await legacy.close().catch(() => undefined);
    },
  };
}

/** Calls to a gateway as the agent makes them: its service credential naming the agent, the user's token. */
function gatewayCaller(agentCredentials: ServiceCredentials, userToken: string) {
  const headers = { authorization: `Bearer ${userToken}` };
  const contextValues = createContextValues().set(kActingAgent, "support-assistant");
  // One client per gateway: the ticket is created on the connection the measured calls then use.
  const clients = new Map<string, Client<typeof McpGatewayService>>();
  const clientOf = (url: string) => {
    let client = clients.get(url);
    if (!client) {
      client = createServiceClient(McpGatewayService, url, {
        credentials: { source: agentCredentials, audience: SERVICE_IDS.gateway },
      });
      clients.set(url, client);
    }
    return client;
  };
  return {
    async createTicket(url: string): Promise<number> {
      const created = await clientOf(url).callTool(
        {
          name: "create_ticket",
          argumentsJson: JSON.stringify({ title: "Bench ticket", description: "for get_ticket" }),
        },
        { headers, contextValues },
      );
      return (JSON.parse(created.structuredContentJson) as { ticket: { id: number } }).ticket.id;
    },
    getTicket(url: string, ticketId: number, label: string): Call {
      const client = clientOf(url);
      const argumentsJson = JSON.stringify({ ticket_id: ticketId });
      return async () => {
        const r = await client.callTool({ name: "get_ticket", argumentsJson }, { headers, contextValues });
        if (r.isError || !r.structuredContentJson.includes(`"id":${ticketId}`))
          throw new Error(`${label} get_ticket failed: ${r.text}`);
      };
    },
  };
}

function directGetTicket(client: McpClient, ticketId: number): Call {
  return async () => {
    const r = (await client.callTool({
      name: "get_ticket",
      arguments: { ticket_id: ticketId },
    })) as CallToolResult;
    const got = (r.structuredContent as { ticket?: { id?: number } } | undefined)?.ticket?.id;
    if (r.isError || got !== ticketId)
      throw new Error(`direct get_ticket failed: ${JSON.stringify(r.content)}`);
  };
}
