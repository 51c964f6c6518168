import { type Actor, DEV_ANONYMOUS_PRINCIPAL, type Principal, type TokenVerifier } from "#kit/auth/index.js";
import type { Form } from "../http/form-body.js";
import { OAuthError } from "../http/oauth-response.js";
import { type AgentToolsDetail, agentTools, chainOf } from "./actor-chain.js";
import type { ActorTokenCheck } from "./actor-token.js";
import { readExchangeRequest } from "./exchange-request.js";
import { grantedScopes } from "./granted-scopes.js";
import { verifySubjectToken } from "./subject-token.js";

export { TOKEN_EXCHANGE_GRANT } from "../clients/client-registry.js";
export { type AgentToolsDetail, actClaim } from "./actor-chain.js";
export { ACCESS_TOKEN_TYPE } from "./exchange-request.js";

export interface TokenExchangeOptions {
  /** Verifies subject tokens exactly like the edge does (user access tokens: aud = API audience). */
  readonly verifier: TokenVerifier;
  readonly isRevoked: (principal: Principal) => boolean;
  /** Verifies `actor_token` (the agent service's token for the client) and its agent. */
  readonly checkActor: ActorTokenCheck;
  /** The one resource tokens may be exchanged for (RFC 8707): the MCP server. */
  readonly mcpResource: string;
  /**
   * `AUTH_DEV_ANONYMOUS=1` (development only): an exchange without `subject_token` is for the
   * development principal, so a token-less turn still reaches the MCP server with a verified
   * token naming its agent (docs/architecture.md, "The exchange with an actor").
   */
  readonly devAnonymous?: boolean;
  /**
   * Production (NODE_ENV=production): an exchange must present the agent service's token as
   * `actor_token`. Without one the token would be the user's whole scope for whoever holds the
   * gateway's secret; only the development flows (GATEWAY_ALLOW_DIRECT_USERS, AUTH_DEV_ANONYMOUS,
   * both refused in production) exchange without an actor (docs/architecture.md, "The delegation chain").
   */
  readonly requireActor?: boolean;
}

/** What the exchanged token is; the provider issues it (provider/grants/token-exchange-grant.ts). */
export interface ExchangeDecision {
  /** The verified subject token's user and login session (`sub`, `sid`). */
  readonly subject: Principal;
  readonly agent: string | undefined;
  /** The issued token's `act`: the delegation chain, current actor outermost. */
  readonly actor: Actor;
  /** requested ∩ subject's ∩ what the agent's tools need; never empty. */
  readonly scopes: readonly string[];
  /** The acting agent's allow-list, when an actor token proved one. */
  readonly agentTools: AgentToolsDetail | undefined;
  /** Epoch seconds the token must not outlive: its subject token's `exp`. */
  readonly notAfter: number;
}

/**
 * RFC 8693 token exchange for the MCP hop (docs/architecture.md, "The exchange with an actor").
 * The subject token is verified like any call at the edge (signature, issuer, aud = API audience,
 * expiry, revoked session). The optional actor token proves which registered agent the agent
 * service runs (actor-token.ts). This is the product's policy; the provider issues the token
 * (provider/grants/token-exchange-grant.ts). The issued token is for the MCP resource only, keeps the user as
 * `sub` and the login session as `sid`, carries the whole chain in nested `act` (the client
 * outermost, RFC 8693 §4.1), scope = requested ∩ subject's ∩ what the agent's tools need (never
 * wider; an empty result is refused), the agent's allow-list as RFC 9396 `authorization_details`,
 * and expires no later than the subject token nor MCP_TOKEN_TTL.
 */
export function createTokenExchange(options: TokenExchangeOptions) {
  return async (form: Form, clientId: string): Promise<ExchangeDecision> => {
    const request = readExchangeRequest(form, options);
    const subject = request.anonymous
      ? DEV_ANONYMOUS_PRINCIPAL
      : await verifySubjectToken(request.subjectToken, options.verifier, options.isRevoked);
    const nowSec = Math.floor(Date.now() / 1000);
    // The verifier allows a few seconds of clock skew; an exchanged token must not start out dead.
    if (subject.expiresAt <= nowSec) throw new OAuthError(400, "invalid_grant", "subject_token: expired");
    const actor =
      request.actorToken !== undefined ? await options.checkActor(request.actorToken, clientId) : undefined;
    return {
      subject,
      agent: actor?.agent.agentId,
      actor: chainOf(clientId, actor),
      scopes: grantedScopes(request.scopes, subject, actor),
      agentTools: actor ? agentTools(actor) : undefined,
      notAfter: subject.expiresAt,
    };
  };
}
