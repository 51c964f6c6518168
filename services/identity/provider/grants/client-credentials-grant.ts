import type { Provider } from "oidc-provider";
import { CLIENT_CREDENTIALS_GRANT } from "../../clients/client-registry.js";
import { withExtraClaims } from "../token-extras.js";
import {
  asProviderError,
  formOf,
  type GrantContext,
  registeredClient,
  type ServiceGrantDeps,
} from "./grant-context.js";
import { epochNow, lifetime } from "./token-lifetime.js";

const CLIENT_CREDENTIALS_PARAMETERS = ["audience", "agent_id", "resource", "scope"];

/**
 * Client credentials for our services (RFC 6749 §4.4): a service token for the audience the policy
 * allows this service, naming the agent it may act for, if any; no scope.
 */
export function registerClientCredentialsGrant(provider: Provider, deps: ServiceGrantDeps): void {
  provider.registerGrantType(
    CLIENT_CREDENTIALS_GRANT,
    async (ctx: GrantContext) => {
      const { client, authenticated } = registeredClient(deps.clients, ctx);
      const decision = await asProviderError(() => deps.clientCredentials(formOf(ctx), client), ctx);
      const { provider } = ctx.oidc;
      const issuedAt = epochNow();
      const token = new provider.ClientCredentials({
        client: authenticated,
        resourceServer: new provider.ResourceServer(
          decision.audience,
          deps.resources.serviceInfo(decision.audience),
        ),
        ...lifetime(issuedAt, issuedAt + deps.serviceTokenTtlSec),
      });
      const accessToken = await withExtraClaims(
        token,
        decision.agent !== undefined ? { agent: decision.agent } : {},
      ).save();
      deps.logger.info(
        {
          client_id: client.clientId,
          audience: decision.audience,
          agent: decision.agent,
          expires_in: deps.serviceTokenTtlSec,
          jti: token.jti,
        },
        "service token issued",
      );
      // RFC 6749 §5.1; no `scope`: service tokens carry none.
      ctx.body = { access_token: accessToken, token_type: "Bearer", expires_in: deps.serviceTokenTtlSec };
    },
    CLIENT_CREDENTIALS_PARAMETERS,
  );
}
