import { TOOL_NAMES, type ToolName } from "#kit/contract/index.js";
import { TOOL_PHRASES } from "./capabilities.js";
import { ask, type ClauseIntent } from "./intent.js";

/**
 * Requests that name a tool as it is spelled ("delete_ticket 5", "use assign_ticket to give #4 to
 * me", "get_system_health"). The tool's name says which tool is meant, whatever else the sentence
 * says: the clause is read again in words ("delete ticket 5"), and when that reading is another
 * tool, or none, the step still names this one. So a tool the agent lacks is refused by name
 * (docs/agent.md, "Refusals") in every phrasing, and one it has is called or asked about.
 */

/** Each tool in the words the planner reads; longest names first so no name hides a longer one. */
const IN_WORDS: Readonly<Record<ToolName, string>> = {
  create_ticket_with_ai: "file this with AI",
  create_ticket: "create a ticket",
  get_ticket_stats: "ticket stats",
  get_ticket: "show ticket",
  search_tickets: "search tickets",
  list_tickets: "list tickets",
  update_ticket_status: "change the status of ticket",
  update_ticket: "update ticket",
  assign_ticket: "assign ticket",
  delete_ticket: "delete ticket",
  list_integrations: "list integrations",
  get_active_integrations: "active integrations",
  get_system_health: "system health",
};

const NAMES = [...TOOL_NAMES].sort((a, b) => b.length - a.length);
const NAMED = new RegExp(
  `(?:\\b(?:use|call|run|invoke|try|do|with|via|using)\\s+(?:the\\s+)?)?\\b(${NAMES.join("|")})\\b(?:\\s+(?:tool|thing|function))?(?:\\s+(?:to|on|for|with)\\b)?`,
  "i",
);

/** The tool a clause names by its name, before any colon (after one, the words are a ticket's text). */
export function namedTool(text: string): { tool: ToolName; inWords: string } | undefined {
  const head = text.split(":")[0] ?? text;
  const m = NAMED.exec(head);
  const tool = m?.[1]?.toLowerCase() as ToolName | undefined;
  if (!m || !tool) return undefined;
  const inWords = `${text.slice(0, m.index)} ${IN_WORDS[tool]} ${text.slice(m.index + m[0].length)}`;
  return { tool, inWords: inWords.replace(/\s+/g, " ").trim() };
}

/** The clause read in words, kept only when it is a request for the named tool. */
export function namedToolIntent(tool: ToolName, reading: ClauseIntent): ClauseIntent {
  if (reading.kind !== "tools" && reading.kind !== "unknown" && reading.tool === tool) return reading;
  const example = TOOL_PHRASES[tool]?.example ?? tool;
  return ask(tool, `What should ${tool} do? For example: "${example}"?`);
}
