import { describe, expect, it } from "vitest";
import { parseIntents } from "./intents.js";

const tool = (text: string) => {
  const intents = parseIntents(text);
  expect(intents, text).toHaveLength(1);
  const [intent] = intents;
  if (intent?.kind !== "tool") throw new Error(`"${text}" → ${JSON.stringify(intent)}`);
  return { tool: intent.tool, args: intent.args };
};

describe("planner intents: one sentence per tool", () => {
  const cases: [string, string, Record<string, unknown>][] = [
    [
      "create a ticket: printer on fire, high priority",
      "create_ticket",
      { title: "Printer on fire", priority: "high" },
    ],
    ["show ticket 12", "get_ticket", { ticket_id: 12 }],
    ["what's the status of #7?", "get_ticket", { ticket_id: 7 }],
    ["close ticket 12", "update_ticket_status", { ticket_id: 12, status: "closed" }],
    ["mark ticket 12 as in progress", "update_ticket_status", { ticket_id: 12, status: "in_progress" }],
    ["reopen ticket 3", "update_ticket_status", { ticket_id: 3, status: "open" }],
    ["resolve ticket 3", "update_ticket_status", { ticket_id: 3, status: "resolved" }],
    [
      "assign ticket 12 to agent@company.com",
      "assign_ticket",
      { ticket_id: 12, assignee: "agent@company.com" },
    ],
    ["assign ticket 12 to me", "assign_ticket", { ticket_id: 12, assignee: "me" }],
    ["unassign ticket 12", "assign_ticket", { ticket_id: 12, assignee: null }],
    ["search tickets about printer", "search_tickets", { query: "printer" }],
    ["find tickets mentioning VPN", "search_tickets", { query: "VPN" }],
    ["list open tickets", "list_tickets", { status: ["open"] }],
    ["list high priority tickets", "list_tickets", { priority: ["high"] }],
    ["show my open bug tickets", "list_tickets", { status: ["open"], category: ["bug"], assignee: "me" }],
    ["list tickets", "list_tickets", {}],
    ["ticket stats", "get_ticket_stats", {}],
    ["ticket statistics since 2024-01-01", "get_ticket_stats", { since: "2024-01-01T00:00:00Z" }],
    ["update ticket 12 title to New title", "update_ticket", { ticket_id: 12, title: "New title" }],
    [
      "change ticket 4 priority to urgent and category to network",
      "update_ticket",
      { ticket_id: 4, priority: "urgent", category: "network" },
    ],
    ["update ticket 12 title to Printer closed", "update_ticket", { ticket_id: 12, title: "Printer closed" }],
    ["delete ticket 12", "delete_ticket", { ticket_id: 12 }],
    ["delete ticket 5 because duplicate", "delete_ticket", { ticket_id: 5, reason: "duplicate" }],
    [
      "file this with AI: the VPN is down for sales since 9am",
      "create_ticket_with_ai",
      { text: "the VPN is down for sales since 9am" },
    ],
    ["list integrations", "list_integrations", {}],
    ["list disabled integrations", "list_integrations", { enabled: false }],
    ["which integrations are active?", "get_active_integrations", {}],
    ["system health", "get_system_health", {}],
    ["is the server up?", "get_system_health", {}],
  ];
  for (const [text, name, args] of cases) {
    it(`"${text}" → ${name}`, () => {
      expect(tool(text)).toEqual({ tool: name, args });
    });
  }
});

describe("planner intents: other shapes", () => {
  it("recognises questions about its tools", () => {
    for (const text of [
      "What are all the tools you can call?",
      "what tools can you call?",
      "help",
      "what can you do?",
    ]) {
      expect(parseIntents(text), text).toEqual([{ kind: "list_tools" }]);
    }
  });

  it("splits several requests in one message", () => {
    expect(parseIntents("show ticket 3 and close ticket 4")).toEqual([
      { kind: "tool", tool: "get_ticket", args: { ticket_id: 3 } },
      { kind: "tool", tool: "update_ticket_status", args: { ticket_id: 4, status: "closed" } },
    ]);
  });

  it("asks for what is missing instead of guessing", () => {
    expect(parseIntents("create a ticket")[0]).toMatchObject({ kind: "clarify", tool: "create_ticket" });
    expect(parseIntents("assign ticket 4")[0]).toMatchObject({ kind: "clarify", tool: "assign_ticket" });
    expect(parseIntents("update ticket 4 priority to sometime")[0]).toMatchObject({ kind: "clarify" });
  });

  it("keeps the description when the title leaves something out", () => {
    expect(tool("create a ticket: The VPN drops every hour. Users in Berlin lose their session.")).toEqual({
      tool: "create_ticket",
      args: {
        title: "The VPN drops every hour",
        description: "The VPN drops every hour. Users in Berlin lose their session.",
      },
    });
  });

  it("understands nothing it should not", () => {
    expect(parseIntents("write me a poem about autumn")).toEqual([]);
  });

  it("is deterministic", () => {
    const text = "create a ticket: printer on fire, high priority";
    expect(parseIntents(text)).toEqual(parseIntents(text));
  });
});
