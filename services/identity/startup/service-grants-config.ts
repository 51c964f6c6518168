import type { Principal, TokenVerifier } from "#kit/auth/index.js";
import type { Config } from "#kit/config/index.js";
import type { AgentDirectory } from "../agents/agent-directory.js";
import { clientRegistryFrom } from "../clients/client-registry.js";
import { createActorTokenCheck } from "../exchange/actor-token.js";
import { createTokenExchange } from "../exchange/token-exchange.js";
import type { KeyRing } from "../keys/key-ring.js";
import type { AuthorizationServerDeps } from "../provider/authorization-server.js";
import { createClientCredentialsPolicy } from "../service-tokens/client-credentials.js";

/** Our services' grants as configured: the registered clients, the exchange's and client credentials' policies. */
export function serviceGrantsFrom(
  config: Config,
  deps: {
    readonly verifier: TokenVerifier;
    readonly isRevoked: (principal: Principal) => boolean;
    readonly keyRing: KeyRing;
    readonly agents: AgentDirectory;
  },
): AuthorizationServerDeps["serviceGrants"] {
  const { agents } = deps;
  return {
    clients: clientRegistryFrom(config),
    exchange: createTokenExchange({
      verifier: deps.verifier,
      isRevoked: deps.isRevoked,
      checkActor: createActorTokenCheck({
        keyRing: deps.keyRing,
        issuer: config.AUTH_ISSUER,
        clockToleranceSec: config.CLOCK_TOLERANCE,
        agents,
      }),
      mcpResource: config.MCP_RESOURCE,
      devAnonymous: config.AUTH_DEV_ANONYMOUS,
      requireActor: config.NODE_ENV === "production",
    }),
    clientCredentials: createClientCredentialsPolicy({ agents }),
    mcpResource: config.MCP_RESOURCE,
    serviceTokenTtlSec: config.SERVICE_TOKEN_TTL,
    mcpTokenTtlSec: config.MCP_TOKEN_TTL,
  };
}
