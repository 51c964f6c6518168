import { actingAgent, type Principal } from "#kit/auth/index.js";

/**
 * The acting agent's allow-list (docs/architecture.md, "The delegation chain"): a token whose
 * `authorization_details` carry an `agent_tools` entry may call only those tools, whatever its
 * scopes. This server is the one place that decides it (the gateway no longer keeps a copy), so
 * every refusal is audited exactly once. A token without the entry (a user's own) is not narrowed.
 */
export function agentAllows(principal: Principal, tool: string): boolean {
  return principal.agentTools === undefined || principal.agentTools.includes(tool);
}

/** Error code of the refusal; the gateway maps the `agent_not_allowed: ` prefix to `permission_denied`. */
export const AGENT_NOT_ALLOWED = "agent_not_allowed";

/** `agent "ticket-reader" may not call delete_ticket` (the tool error reads `agent_not_allowed: …`). */
export function agentRefusal(principal: Principal, tool: string): string {
  const agent = actingAgent(principal);
  return `${agent === undefined ? "the acting agent" : `agent "${agent}"`} may not call ${tool}`;
}
