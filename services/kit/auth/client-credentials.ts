import { Code, ConnectError } from "@connectrpc/connect";
import type { Config } from "../config/config.js";
import { RenewingTokenCache } from "./renewing-token-cache.js";
import { SERVICE_IDS, type ServiceCredentials } from "./service-identity.js";
import { type ClientSecret, requestToken, TokenEndpointError } from "./token-request.js";

export const CLIENT_CREDENTIALS_GRANT = "client_credentials";

/**
 * A service's own credentials from the identity provider (RFC 6749 §4.4 client credentials with
 * `audience`, and `agent_id` for the agent service): one token per (audience, agent), cached and
 * renewed ahead of expiry. Failures become Connect errors the outgoing call fails with.
 */
export function createClientCredentials(options: {
  readonly tokenEndpoint: string;
  readonly client: ClientSecret;
  readonly timeoutMs?: number;
}): ServiceCredentials & { readonly fetches: number } {
  const cache = new RenewingTokenCache(1_000);
  return {
    clientId: options.client.clientId,
    get fetches() {
      return cache.fetches;
    },
    tokenFor(audience, agent) {
      return cache.get(`${audience}\n${agent ?? ""}`, async () => {
        const form = new URLSearchParams({ grant_type: CLIENT_CREDENTIALS_GRANT, audience });
        if (agent !== undefined) form.set("agent_id", agent);
        try {
          const t = await requestToken(options.tokenEndpoint, options.client, form, {
            timeoutMs: options.timeoutMs ?? 5_000,
          });
          return { token: t.accessToken, expiresAt: t.expiresAt };
        } catch (err) {
          if (!(err instanceof TokenEndpointError)) throw err;
          // Our own credential failing is never the user's fault: unavailable, unless the identity
          // provider refuses to name this agent (not registered): then acting as it is not allowed.
          const refusedAgent = agent !== undefined && err.status === 400 && err.error !== "invalid_target";
          const code = refusedAgent ? Code.PermissionDenied : Code.Unavailable;
          throw new ConnectError(`service credential for ${audience}: ${err.message}`, code);
        }
      });
    },
  };
}

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

/** The credentials of `service` from configuration; `timeoutMs` bounds each token request (5 s). */
export function configuredClientCredentials(
  config: CredentialConfig,
  service: CallingService,
  timeoutMs?: number,
): ReturnType<typeof createClientCredentials> {
  return createClientCredentials({
    tokenEndpoint: config.AUTH_TOKEN_URL,
    client: configuredClientSecret(config, service),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
}
