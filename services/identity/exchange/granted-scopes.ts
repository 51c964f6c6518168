import type { Principal } from "#kit/auth/index.js";
import { scopesForTools } from "#kit/contract/index.js";
import { OAuthError } from "../http/oauth-response.js";
import type { VerifiedActor } from "./actor-token.js";

/**
 * requested ∩ subject's ∩ what the agent's tools need: never wider than any of them; an empty
 * result is refused (`invalid_scope`). Without `scope` the request is for all the subject holds.
 */
export function grantedScopes(
  requested: readonly string[] | undefined,
  subject: Principal,
  actor: VerifiedActor | undefined,
): string[] {
  const wanted = requested ?? subject.scopes;
  // An agent gets no scope its tools don't need, whatever its user holds.
  const agentNeeds = actor ? scopesForTools(actor.agent.allowedTools) : undefined;
  const granted = subject.scopes.filter(
    (s) => wanted.includes(s) && (agentNeeds === undefined || (agentNeeds as readonly string[]).includes(s)),
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
  return granted;
}
