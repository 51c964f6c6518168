import { seededAgentTools } from "#kit/contract/index.js";
import { type AgentRecord, DEFAULT_MODEL } from "./agent-record.js";

type SeedAgent = Omit<AgentRecord, "createdAt">;

const SUPPORT_PROMPT =
  "You are the support assistant of the helpdesk. Answer support engineers briefly and precisely. " +
  "Use the ticket, integration and system tools to look things up and to make the changes they ask for; " +
  "never invent ticket numbers or results. If a tool fails, say what failed and why.";

const READER_PROMPT =
  "You are a read-only helpdesk assistant. You can search, list and read tickets, ticket statistics and " +
  "integrations, but you cannot change anything: when asked to create, change or delete, say that this " +
  "agent is read-only.";

/**
 * The agents every installation starts with. The gateway and its tests know them by id
 * (`x-agent-id`). Tool lists come from the kit's rule over the one scope table, and are written
 * back on every start (reconcile-seeded-agents.ts), so a new tool joins them on an existing database.
 */
export const SEED_AGENTS: readonly SeedAgent[] = [
  {
    id: "support-assistant",
    name: "Support Assistant",
    description: "Answers support questions and works tickets: every ticket, integration and system tool.",
    systemPrompt: SUPPORT_PROMPT,
    model: DEFAULT_MODEL,
    allowedTools: seededAgentTools("support-assistant"),
    limits: { maxToolCalls: 10, maxModelTurns: 8 },
  },
  {
    id: "ticket-reader",
    name: "Ticket Reader",
    description: "Looks tickets and integrations up without changing anything: the read-only tools.",
    systemPrompt: READER_PROMPT,
    model: DEFAULT_MODEL,
    allowedTools: seededAgentTools("ticket-reader"),
    limits: { maxToolCalls: 6, maxModelTurns: 4 },
  },
];
