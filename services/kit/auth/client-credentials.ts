import { Code, ConnectError } from "@connectrpc/connect";
import type { RemovedKeys } from "./removed-keys.js";
import { RenewingTokenCache } from "./renewing-token-cache.js";
import type { ServiceCredentials } from "./service-identity.js";
import { type ClientSecret, requestToken, TokenEndpointError } from "./token-request.js";

export const CLIENT_CREDENTIALS_GRANT = "client_credentials";

const SERVICE_TOKEN_ANSWER_MS = 30_000;

/**
 * A service's own credentials from the identity provider (RFC 6749 §4.4 client credentials with
 * `audience`, and `agent_id` for the agent service): one token per (audience, agent), cached and
 * renewed ahead of expiry. Failures become Connect errors the outgoing call fails with.
 */
export function createClientCredentials(options: {
  readonly tokenEndpoint: string;
  readonly client: ClientSecret;
  /**
   * How long one token request may wait for its answer (default 30 s). A service token is shared by
   * every call that needs it and fetched with no caller's deadline, so a busy identity provider is
   * waited for this long; an identity provider that is down fails at once (docs/mcp-gateway.md, "Deadlines").
   */
  readonly timeoutMs?: number;
  /** How long connecting to the token endpoint may take (default 5 s). */
  readonly connectTimeoutMs?: number;
  /** Keys the issuer removed: a token one of them signed is replaced, not sent (removed-keys.ts). */
  readonly removedKeys?: Pick<RemovedKeys, "has">;
}): ServiceCredentials & { readonly fetches: number } {
  const cache = new RenewingTokenCache(1_000, options.removedKeys);
  return {
    clientId: options.client.clientId,
    get fetches() {
      return cache.fetches;
    },
    forget(audience, agent, token) {
      cache.forget(`${audience}\n${agent ?? ""}`, token);
    },
    tokenFor(audience, agent) {
      return cache.get(`${audience}\n${agent ?? ""}`, async () => {
        const form = new URLSearchParams({ grant_type: CLIENT_CREDENTIALS_GRANT, audience });
        if (agent !== undefined) form.set("agent_id", agent);
        try {
          const t = await requestToken(options.tokenEndpoint, options.client, form, {
            timeoutMs: options.timeoutMs ?? SERVICE_TOKEN_ANSWER_MS,
            ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
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
