import { SERVICE_IDS } from "#kit/auth/index.js";
import type { Config } from "#kit/config/index.js";

export const CLIENT_CREDENTIALS_GRANT = "client_credentials";
export const TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
export type GrantType = typeof CLIENT_CREDENTIALS_GRANT | typeof TOKEN_EXCHANGE_GRANT;

/**
 * A confidential client of the token endpoint: one of our services (docs/identity.md, "Clients").
 * What it may ask for is decided here, not by the caller: which grants, service tokens for which
 * audiences, and whether it may name an agent (only the agent service runs agents).
 */
export interface RegisteredClient {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly grants: ReadonlySet<GrantType>;
  /** Audiences of the service tokens it may obtain by client credentials (service ids). */
  readonly serviceAudiences: readonly string[];
  /** Whether its client-credentials requests may carry `agent_id`. */
  readonly mayNameAgent: boolean;
}

type ClientConfig = Pick<
  Config,
  | "GATEWAY_CLIENT_ID"
  | "GATEWAY_CLIENT_SECRET"
  | "AGENT_CLIENT_SECRET"
  | "MCP_CLIENT_SECRET"
  | "CHAT_CLIENT_SECRET"
>;

/**
 * The four services that call others with a credential of their own. Audiences follow the call
 * graph in docs/architecture.md: chat calls the agent service, the agent calls the gateway, and
 * every service may call the identity provider (the revocation feed).
 */
export function clientRegistryFrom(config: ClientConfig): readonly RegisteredClient[] {
  const clients: RegisteredClient[] = [
    {
      clientId: SERVICE_IDS.chat,
      clientSecret: config.CHAT_CLIENT_SECRET,
      grants: new Set([CLIENT_CREDENTIALS_GRANT]),
      serviceAudiences: [SERVICE_IDS.agent, SERVICE_IDS.identity],
      mayNameAgent: false,
    },
    {
      clientId: SERVICE_IDS.agent,
      clientSecret: config.AGENT_CLIENT_SECRET,
      grants: new Set([CLIENT_CREDENTIALS_GRANT]),
      serviceAudiences: [SERVICE_IDS.gateway, SERVICE_IDS.identity],
      mayNameAgent: true,
    },
    {
      clientId: config.GATEWAY_CLIENT_ID,
      clientSecret: config.GATEWAY_CLIENT_SECRET,
      grants: new Set([TOKEN_EXCHANGE_GRANT, CLIENT_CREDENTIALS_GRANT]),
      serviceAudiences: [SERVICE_IDS.identity],
      mayNameAgent: false,
    },
    {
      clientId: SERVICE_IDS.mcpServer,
      clientSecret: config.MCP_CLIENT_SECRET,
      grants: new Set([CLIENT_CREDENTIALS_GRANT]),
      serviceAudiences: [SERVICE_IDS.identity],
      mayNameAgent: false,
    },
  ];
  // A renamed gateway (GATEWAY_CLIENT_ID) must not take another service's identity.
  const ids = new Set(clients.map((c) => c.clientId));
  if (ids.size !== clients.length) {
    throw new Error(`GATEWAY_CLIENT_ID "${config.GATEWAY_CLIENT_ID}" is another service's client id`);
  }
  return clients;
}
