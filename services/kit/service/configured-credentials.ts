import { createClientCredentials } from "../auth/client-credentials.js";
import type { RemovedKeys } from "../auth/removed-keys.js";
import { SERVICE_IDS } from "../auth/service-identity.js";
import type { ClientSecret } from "../auth/token-request.js";
import type { Config } from "../config/config.js";

type CredentialConfig = Pick<
  Config,
  | "AUTH_TOKEN_URL"
  | "GATEWAY_CLIENT_ID"
  | "GATEWAY_CLIENT_SECRET"
  | "AGENT_CLIENT_SECRET"
  | "MCP_CLIENT_SECRET"
  | "CHAT_CLIENT_SECRET"
>;

/** A service that calls others with a credential of its own: every service but the identity provider. */
export type CallingService = "chat" | "agent" | "mcp-gateway" | "mcp-server";

/** The client id and secret `service` authenticates with at the token endpoint. */
export function configuredClientSecret(config: CredentialConfig, service: CallingService): ClientSecret {
  switch (service) {
    case SERVICE_IDS.chat:
      return { clientId: SERVICE_IDS.chat, clientSecret: config.CHAT_CLIENT_SECRET };
    case SERVICE_IDS.agent:
      return { clientId: SERVICE_IDS.agent, clientSecret: config.AGENT_CLIENT_SECRET };
    case SERVICE_IDS.gateway:
      return { clientId: config.GATEWAY_CLIENT_ID, clientSecret: config.GATEWAY_CLIENT_SECRET };
    case SERVICE_IDS.mcpServer:
      return { clientId: SERVICE_IDS.mcpServer, clientSecret: config.MCP_CLIENT_SECRET };
  }
}

/**
 * The credentials of `service` from configuration; `timeoutMs` bounds each token request's answer
 * (30 s); with `removedKeys` (the process's, filled by its revocation watcher) a cached token signed
 * by a removed key is replaced rather than sent.
 */
export function configuredClientCredentials(
  config: CredentialConfig,
  service: CallingService,
  options: { readonly timeoutMs?: number; readonly removedKeys?: RemovedKeys } = {},
): ReturnType<typeof createClientCredentials> {
  return createClientCredentials({
    tokenEndpoint: config.AUTH_TOKEN_URL,
    client: configuredClientSecret(config, service),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.removedKeys === undefined ? {} : { removedKeys: options.removedKeys }),
  });
}
