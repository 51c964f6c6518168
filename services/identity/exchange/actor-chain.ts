import type { Actor } from "#kit/auth/index.js";
import type { VerifiedActor } from "./actor-token.js";

/** RFC 9396 authorization details entry naming the acting agent's tool allow-list. */
export interface AgentToolsDetail {
  readonly type: "agent_tools";
  readonly agent: string;
  readonly tools: readonly string[];
}

/** RFC 8693 §4.1: the client exchanging (current actor) outermost, the agent service inside it. */
export function chainOf(clientId: string, actor: VerifiedActor | undefined): Actor {
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

export function agentTools(actor: VerifiedActor): AgentToolsDetail {
  return { type: "agent_tools", agent: actor.agent.agentId, tools: [...actor.agent.allowedTools] };
}
