import { describe, expect, it } from "vitest";
import { SERVICE_IDS } from "#kit/auth/index.js";
import {
  CLIENT_CREDENTIALS_GRANT,
  clientRegistryFrom,
  type RegisteredClient,
  TOKEN_EXCHANGE_GRANT,
} from "./client-registry.js";

/**
 * The token endpoint's confidential clients (docs/identity.md, "Clients"): what each service may ask
 * for follows the call graph of docs/architecture.md and is decided here, never by the caller; only
 * the gateway exchanges user tokens, only the agent service names agents, and a renamed gateway may
 * not take another service's client id.
 */
const config = {
  GATEWAY_CLIENT_ID: "mcp-gateway",
  GATEWAY_CLIENT_SECRET: "gateway-secret",
  AGENT_CLIENT_SECRET: "agent-secret",
  MCP_CLIENT_SECRET: "mcp-secret",
  CHAT_CLIENT_SECRET: "chat-secret",
};

const byId = (clients: readonly RegisteredClient[]) => new Map(clients.map((c) => [c.clientId, c]));

describe("the client registry", () => {
  it("registers the four calling services, each with its own secret", () => {
    const clients = byId(clientRegistryFrom(config));
    expect([...clients.keys()].sort()).toEqual(
      [SERVICE_IDS.agent, SERVICE_IDS.chat, SERVICE_IDS.gateway, SERVICE_IDS.mcpServer].sort(),
    );
    expect(clients.get(SERVICE_IDS.chat)?.clientSecret).toBe("chat-secret");
    expect(clients.get(SERVICE_IDS.agent)?.clientSecret).toBe("agent-secret");
    expect(clients.get(SERVICE_IDS.gateway)?.clientSecret).toBe("gateway-secret");
    expect(clients.get(SERVICE_IDS.mcpServer)?.clientSecret).toBe("mcp-secret");
    // The identity service calls no one: it has no client of its own.
    expect(clients.has(SERVICE_IDS.identity)).toBe(false);
  });

  it("gives each service tokens only for the services it calls", () => {
    const clients = byId(clientRegistryFrom(config));
    const audiences = (id: string) => [...(clients.get(id)?.serviceAudiences ?? [])].sort();
    expect(audiences(SERVICE_IDS.chat)).toEqual([SERVICE_IDS.agent, SERVICE_IDS.identity].sort());
    expect(audiences(SERVICE_IDS.agent)).toEqual([SERVICE_IDS.gateway, SERVICE_IDS.identity].sort());
    expect(audiences(SERVICE_IDS.gateway)).toEqual([SERVICE_IDS.identity]);
    expect(audiences(SERVICE_IDS.mcpServer)).toEqual([SERVICE_IDS.identity]);
  });

  it("lets only the gateway exchange tokens and only the agent service name an agent", () => {
    const clients = clientRegistryFrom(config);
    for (const c of clients) {
      expect(c.grants.has(CLIENT_CREDENTIALS_GRANT), c.clientId).toBe(true);
      expect(c.grants.has(TOKEN_EXCHANGE_GRANT), c.clientId).toBe(c.clientId === SERVICE_IDS.gateway);
      expect(c.mayNameAgent, c.clientId).toBe(c.clientId === SERVICE_IDS.agent);
    }
  });

  it("registers a renamed gateway under its configured id, with the gateway's rights", () => {
    const clients = byId(clientRegistryFrom({ ...config, GATEWAY_CLIENT_ID: "gateway-prod" }));
    expect(clients.has(SERVICE_IDS.gateway)).toBe(false);
    expect(clients.get("gateway-prod")).toMatchObject({
      clientSecret: "gateway-secret",
      serviceAudiences: [SERVICE_IDS.identity],
      mayNameAgent: false,
    });
    expect(clients.get("gateway-prod")?.grants.has(TOKEN_EXCHANGE_GRANT)).toBe(true);
  });

  it("refuses a gateway renamed to another service's client id", () => {
    for (const taken of [SERVICE_IDS.chat, SERVICE_IDS.agent, SERVICE_IDS.mcpServer]) {
      expect(() => clientRegistryFrom({ ...config, GATEWAY_CLIENT_ID: taken }), taken).toThrow(
        `GATEWAY_CLIENT_ID "${taken}" is another service's client id`,
      );
    }
  });
});
