import { TOOL_NAMES, TOOL_SCOPES } from "#kit/contract/index.js";
import type { RegisteredAgent } from "../agents/agent-directory.js";
import { createStaticAgentDirectory } from "../agents/static-agent-directory.js";

/**
 * Agents as the agent service seeds them (services/agent/registry/seed-agents.ts), plus one whose
 * allow-list is narrower than any user's scopes, for token-endpoint tests without an agent service.
 */
export const TEST_AGENTS = {
  supportAssistant: { agentId: "support-assistant", allowedTools: [...TOOL_NAMES] },
  ticketReader: {
    agentId: "ticket-reader",
    allowedTools: TOOL_NAMES.filter((t) => TOOL_SCOPES[t].endsWith(":read")),
  },
  ticketSearcher: { agentId: "ticket-searcher", allowedTools: ["search_tickets", "get_ticket"] },
} as const satisfies Record<string, RegisteredAgent>;

export function testAgentDirectory() {
  return createStaticAgentDirectory(Object.values(TEST_AGENTS));
}
