import type { ToolDefinition } from "../../kit/model/types.js";

/** What each tool does, in words, with a sentence the planner understands. */
export const TOOL_PHRASES: Readonly<Record<string, { readonly action: string; readonly example: string }>> = {
  create_ticket: { action: "create tickets", example: "create a ticket: printer on fire, high priority" },
  create_ticket_with_ai: {
    action: "file tickets from free text",
    example: "file this with AI: the VPN is down for sales",
  },
  get_ticket: { action: "show tickets", example: "show ticket 12" },
  search_tickets: { action: "search tickets", example: "search tickets about printer" },
  list_tickets: { action: "list tickets", example: "list open high priority tickets" },
  get_ticket_stats: { action: "report ticket statistics", example: "ticket stats" },
  update_ticket: { action: "edit tickets", example: "update ticket 12 title to New title" },
  update_ticket_status: { action: "change a ticket's status", example: "close ticket 12" },
  assign_ticket: { action: "assign tickets", example: "assign ticket 12 to agent@company.com" },
  delete_ticket: { action: "delete tickets", example: "delete ticket 12" },
  list_integrations: { action: "list integrations", example: "list integrations" },
  get_active_integrations: {
    action: "check the active integrations",
    example: "which integrations are active?",
  },
  get_system_health: { action: "check the system's health", example: "system health" },
};

const firstLine = (text: string) => (text.split(/(?<=\.)\s|\n/)[0] ?? text).trim();

/** The answer to "what tools can you call?": exactly the tools this request offers. */
export function describeTools(tools: readonly ToolDefinition[]): string {
  if (tools.length === 0) return "I have no tools I can call in this conversation.";
  const lines = tools.map((t) => `- ${t.name}: ${firstLine(t.description ?? "") || "(no description)"}`);
  return `I can call these ${tools.length} tools:\n${lines.join("\n")}`;
}

/** The answer when nothing was understood: what can be asked, limited to the offered tools. */
export function helpText(tools: readonly ToolDefinition[]): string {
  const examples = tools
    .map((t) => TOOL_PHRASES[t.name])
    .filter((p) => p !== undefined)
    .map((p) => `- ${p.action}: "${p.example}"`);
  if (examples.length === 0) return "I did not understand that, and I have no tools to help with it here.";
  return `I did not understand that. Here is what I can do:\n${examples.join("\n")}\nAsk "what tools can you call?" for the full list.`;
}

/** Said when the user asks for something whose tool this agent was not given. */
export function notOffered(tool: string): string {
  const action = TOOL_PHRASES[tool]?.action ?? `use ${tool}`;
  // The tool is missing because of the agent's allow-list or the caller's own permissions.
  return `I can't ${action} here: the ${tool} tool is not available to you with this agent.`;
}
