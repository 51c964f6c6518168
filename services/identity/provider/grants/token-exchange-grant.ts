import type { Client, Provider } from "oidc-provider";
import { describeChain } from "#kit/auth/index.js";
import { currentCallScope } from "#kit/propagation/index.js";
import { TOKEN_EXCHANGE_GRANT } from "../../clients/client-registry.js";
import { ACCESS_TOKEN_TYPE, actClaim, type ExchangeDecision } from "../../exchange/token-exchange.js";
import { withExtraClaims } from "../token-extras.js";
import {
  asProviderError,
  formOf,
  type GrantContext,
  registeredClient,
  type ServiceGrantDeps,
} from "./grant-context.js";
import { epochNow, lifetime } from "./token-lifetime.js";

/** RFC 8693 §2.1 parameters (and the retired `agent_id`, refused by name: exchange/exchange-request.ts). */
const EXCHANGE_PARAMETERS = [
  "resource",
  "audience",
  "scope",
  "requested_token_type",
  "subject_token",
  "subject_token_type",
  "actor_token",
  "actor_token_type",
  "agent_id",
];

/**
 * The token exchange for the MCP hop (RFC 8693): the policy (exchange/token-exchange.ts) decides,
 * the provider issues an access token for the MCP resource in the user's login session.
 */
export function registerTokenExchangeGrant(provider: Provider, deps: ServiceGrantDeps): void {
  provider.registerGrantType(
    TOKEN_EXCHANGE_GRANT,
    async (ctx: GrantContext) => {
      const { client, authenticated } = registeredClient(deps.clients, ctx);
      const decision = await asProviderError(() => deps.exchange(formOf(ctx), client.clientId), ctx);
      const issuedAt = epochNow();
      const expiresAt = Math.min(issuedAt + deps.mcpTokenTtlSec, decision.notAfter);
      const scope = decision.scopes.join(" ");
      const { accessToken, jti } = await issueExchangedToken(ctx.oidc.provider, deps, {
        decision,
        client: authenticated,
        scope,
        issuedAt,
        expiresAt,
      });
      const scopeState = currentCallScope();
      if (scopeState) scopeState.principal = decision.subject;
      deps.logger.info(
        {
          client_id: client.clientId,
          agent: decision.agent,
          actor_chain: describeChain(decision),
          session_id: decision.subject.sessionId,
          scope,
          expires_in: expiresAt - issuedAt,
          jti,
        },
        "token exchanged for the MCP resource",
      );
      ctx.body = {
        access_token: accessToken,
        issued_token_type: ACCESS_TOKEN_TYPE,
        token_type: "Bearer",
        expires_in: expiresAt - issuedAt,
        scope,
      };
    },
    EXCHANGE_PARAMETERS,
  );
}

/** The exchanged token, signed and stored by the provider: the user's, for the MCP resource, with `act`. */
async function issueExchangedToken(
  provider: Provider,
  deps: Pick<ServiceGrantDeps, "mcpResource" | "resources">,
  issue: {
    readonly decision: ExchangeDecision;
    readonly client: Client;
    readonly scope: string;
    readonly issuedAt: number;
    readonly expiresAt: number;
  },
): Promise<{ accessToken: string; jti: string | undefined }> {
  const { decision } = issue;
  // The user's login session is the grant the token belongs to (`sid`): revoking it reaches
  // this token at every hop, as it reaches the subject token.
  const token = new provider.AccessToken({
    accountId: decision.subject.userId,
    client: issue.client,
    grantId: decision.subject.sessionId,
    gty: TOKEN_EXCHANGE_GRANT,
    scope: issue.scope,
    resourceServer: new provider.ResourceServer(deps.mcpResource, deps.resources.info(deps.mcpResource)),
    ...(decision.agentTools
      ? { rar: [{ ...decision.agentTools, tools: [...decision.agentTools.tools] }] }
      : {}),
    ...lifetime(issue.issuedAt, issue.expiresAt),
  });
  const accessToken = await withExtraClaims(token, { act: actClaim(decision.actor) }).save();
  return { accessToken, jti: token.jti };
}
