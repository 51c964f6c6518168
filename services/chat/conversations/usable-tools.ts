import type { Agent } from "#gen/supportext/agent/v1/agent_pb.js";
import type { UsableTools } from "#gen/supportext/chat/v1/chat_pb.js";
import { isToolName, TOOL_SCOPES } from "#kit/contract/index.js";

/**
 * The tools of each agent's allow-list that the caller's scopes grant, by agent id. The MCP server
 * lists exactly these to that agent acting for this caller (docs/mcp-server.md, "Scopes and tools":
 * the token's scopes AND the agent's allow-list), so the extension shows a count the user can use
 * rather than the allow-list's length. Computed here from the kit's one scope table, without a call
 * per agent to the gateway.
 */
export function usableToolsByAgent(
  agents: readonly Agent[],
  callerScopes: readonly string[],
): Record<string, Pick<UsableTools, "names">> {
  const granted = new Set(callerScopes);
  const byAgent: Record<string, Pick<UsableTools, "names">> = {};
  for (const agent of agents) {
    byAgent[agent.id] = {
      names: agent.allowedTools.filter((t) => isToolName(t) && granted.has(TOOL_SCOPES[t])),
    };
  }
  return byAgent;
}
