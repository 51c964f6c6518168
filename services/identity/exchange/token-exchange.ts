import type { TokenVerifier } from "../../kit/auth/index.js";
import {
  type Actor,
  AuthError,
  DEV_ANONYMOUS_PRINCIPAL,
  type Principal,
  scopesForTools,
} from "../../kit/auth/index.js";
import type { Form } from "../http/form-body.js";
import { invalidRequest, OAuthError } from "../http/oauth-response.js";
import type { ActorTokenCheck, VerifiedActor } from "./actor-token.js";

export { TOKEN_EXCHANGE_GRANT } from "../clients/client-registry.js";
export const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";

/** The extension parameter that used to name the agent; the agent is now proven by `actor_token`. */
const RETIRED_AGENT_ID_PARAM = "agent_id";

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

/** RFC 9396 authorization details entry naming the acting agent's tool allow-list. */
export interface AgentToolsDetail {
  readonly type: "agent_tools";
  readonly agent: string;
  readonly tools: readonly string[];
}

/** What the exchanged token is; the provider issues it (provider/grants/service-grants.ts). */
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
 * (provider/grants/service-grants.ts). The issued token is for the MCP resource only, keeps the user as
 * `sub` and the login session as `sid`, carries the whole chain in nested `act` (the client
 * outermost, RFC 8693 §4.1), scope = requested ∩ subject's ∩ what the agent's tools need (never
 * wider; an empty result is refused), the agent's allow-list as RFC 9396 `authorization_details`,
 * and expires no later than the subject token nor MCP_TOKEN_TTL.
 */
export function createTokenExchange(options: TokenExchangeOptions) {
  return async (form: Form, clientId: string): Promise<ExchangeDecision> => {
    if (form.has(RETIRED_AGENT_ID_PARAM)) {
      throw invalidRequest(
        `${RETIRED_AGENT_ID_PARAM} is not accepted; present the agent service's token as actor_token (RFC 8693)`,
      );
    }
    const anonymous =
      options.devAnonymous === true && !form.has("subject_token") && !form.has("subject_token_type");
    const subjectToken = anonymous ? "" : required(form, "subject_token");
    if (!anonymous && required(form, "subject_token_type") !== ACCESS_TOKEN_TYPE) {
      throw invalidRequest(`subject_token_type must be ${ACCESS_TOKEN_TYPE}`);
    }
    const requestedType = form.get("requested_token_type");
    if (requestedType !== undefined && requestedType !== ACCESS_TOKEN_TYPE) {
      throw invalidRequest(`requested_token_type must be ${ACCESS_TOKEN_TYPE}`);
    }
    const actorToken = form.get("actor_token");
    const actorType = form.get("actor_token_type");
    // RFC 8693 §2.1: actor_token_type is REQUIRED with actor_token and MUST NOT appear without it.
    if ((actorToken === undefined) !== (actorType === undefined)) {
      throw invalidRequest("actor_token and actor_token_type go together: send both or neither");
    }
    if (actorToken === "") throw invalidRequest("missing parameter actor_token");
    if (actorToken === undefined && options.requireActor) {
      throw invalidRequest(
        "actor_token is required: present the agent service's token for this client (RFC 8693 §2.1); exchanges without an actor are served in development only",
      );
    }
    if (actorType !== undefined && actorType !== ACCESS_TOKEN_TYPE) {
      throw invalidRequest(`actor_token_type must be ${ACCESS_TOKEN_TYPE}`);
    }
    const resource = required(form, "resource");
    if (resource !== options.mcpResource) {
      throw new OAuthError(
        400,
        "invalid_target",
        "tokens can only be issued for the MCP server's resource URI",
      );
    }
    const audience = form.get("audience");
    if (audience !== undefined && audience !== options.mcpResource) {
      throw new OAuthError(400, "invalid_target", "audience must name the same resource as resource");
    }

    const subject = anonymous ? DEV_ANONYMOUS_PRINCIPAL : await verifySubject(subjectToken, options);
    const nowSec = Math.floor(Date.now() / 1000);
    // The verifier allows a few seconds of clock skew; an exchanged token must not start out dead.
    if (subject.expiresAt <= nowSec) throw new OAuthError(400, "invalid_grant", "subject_token: expired");
    const actor = actorToken !== undefined ? await options.checkActor(actorToken, clientId) : undefined;

    const requested = form.has("scope") ? splitScope(form.get("scope") ?? "") : subject.scopes;
    // An agent gets no scope its tools don't need, whatever its user holds.
    const agentNeeds = actor ? scopesForTools(actor.agent.allowedTools) : undefined;
    const granted = subject.scopes.filter(
      (s) =>
        requested.includes(s) && (agentNeeds === undefined || (agentNeeds as readonly string[]).includes(s)),
    );
    if (granted.length === 0) {
      throw new OAuthError(
        400,
        "invalid_scope",
        actor
          ? `none of the requested scopes is held by the subject token and needed by agent "${actor.agent.agentId}"'s tools`
          : "none of the requested scopes is held by the subject token",
      );
    }

    return {
      subject,
      agent: actor?.agent.agentId,
      actor: chainOf(clientId, actor),
      scopes: granted,
      agentTools: actor ? agentTools(actor) : undefined,
      notAfter: subject.expiresAt,
    };
  };
}

/** RFC 8693 §4.1: the client exchanging (current actor) outermost, the agent service inside it. */
function chainOf(clientId: string, actor: VerifiedActor | undefined): Actor {
  if (!actor) return { sub: clientId };
  return { sub: clientId, act: { sub: actor.caller.clientId, agent: actor.agent.agentId } };
}

/** The chain as the `act` claim: only its own fields (a Principal's actor carries nothing else, but be exact). */
export function actClaim(actor: Actor): Record<string, unknown> {
  return {
    sub: actor.sub,
    ...(actor.agent !== undefined ? { agent: actor.agent } : {}),
    ...(actor.act ? { act: actClaim(actor.act) } : {}),
  };
}

function agentTools(actor: VerifiedActor): AgentToolsDetail {
  return { type: "agent_tools", agent: actor.agent.agentId, tools: [...actor.agent.allowedTools] };
}

async function verifySubject(token: string, options: TokenExchangeOptions): Promise<Principal> {
  let principal: Principal;
  try {
    principal = await options.verifier.verify(token);
  } catch (err) {
    // AuthError messages start with a stable reason and never contain the token.
    if (err instanceof AuthError) throw new OAuthError(400, "invalid_grant", `subject_token: ${err.message}`);
    throw err;
  }
  if (options.isRevoked(principal)) {
    throw new OAuthError(400, "invalid_grant", "subject_token: the login session has been revoked");
  }
  // Only user tokens are exchanged; an exchanged token (which has `act`) can't be re-exchanged.
  if (principal.actor)
    throw new OAuthError(400, "invalid_grant", "subject_token is already an exchanged token");
  return principal;
}

function required(form: Form, name: string): string {
  const value = form.get(name);
  if (value === undefined || value === "") throw invalidRequest(`missing parameter ${name}`);
  return value;
}

function splitScope(scope: string): string[] {
  return [...new Set(scope.split(" ").filter(Boolean))];
}
