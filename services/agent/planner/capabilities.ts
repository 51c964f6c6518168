import type { ToolDefinition } from "#kit/model/index.js";

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

/** Verbs on tickets, in the order they are named, and the other things the tools do. */
const TICKET_VERBS: readonly (readonly [string, string])[] = [
  ["get_ticket", "show"],
  ["search_tickets", "search"],
  ["list_tickets", "list"],
  ["create_ticket", "create"],
  ["update_ticket", "edit"],
  ["update_ticket_status", "close or reopen"],
  ["assign_ticket", "assign"],
  ["delete_ticket", "delete"],
];
const OTHER_ACTIONS: readonly (readonly [readonly string[], string])[] = [
  [["create_ticket_with_ai"], "file a customer's words as a ticket with AI"],
  [["get_ticket_stats"], "give ticket stats"],
  [["list_integrations", "get_active_integrations"], "check integrations"],
  [["get_system_health"], "check system health"],
];

/**
 * The one short question asked when a request cannot be read with confidence: it names what can be
 * done with the offered tools, and guesses nothing (docs/agent.md, "When unsure").
 */
export function askWhatToDo(tools: readonly ToolDefinition[]): string {
  const offered = new Set(tools.map((t) => t.name));
  const verbs = TICKET_VERBS.filter(([tool]) => offered.has(tool)).map(([, verb]) => verb);
  const actions = [
    ...(verbs.length > 0 ? [`${joinOr(verbs)} tickets`] : []),
    ...OTHER_ACTIONS.filter(([names]) => names.some((n) => offered.has(n))).map(([, action]) => action),
  ];
  if (actions.length === 0) return "I have no tools I can call here. What would you like to know?";
  return `I'm not sure what you mean. I can ${joinOr(actions)}: which do you want?`;
}

function joinOr(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? "") : `${items.slice(0, -1).join(", ")} or ${items.at(-1)}`;
}
