import { describe, expect, it } from "vitest";
import { TOOL_NAMES, TOOL_SCOPES } from "./scopes.js";
import { seededAgentTools } from "./seeded-agent-tools.js";

describe("the seeded agents' rule (docs/adding-a-tool.md)", () => {
  it("gives support-assistant every tool and ticket-reader the read-only ones", () => {
    expect(seededAgentTools("support-assistant")).toEqual([...TOOL_NAMES]);
    expect(seededAgentTools("ticket-reader")).toEqual([
      "search_tickets",
      "get_ticket",
      "list_tickets",
      "get_ticket_stats",
      "list_integrations",
      "get_active_integrations",
      "get_system_health",
    ]);
  });

  it("places a 14th tool by its scope alone", () => {
    const withWrite = { ...TOOL_SCOPES, merge_tickets: "tickets:write" as const };
    expect(seededAgentTools("support-assistant", withWrite)).toContain("merge_tickets");
    expect(seededAgentTools("ticket-reader", withWrite)).not.toContain("merge_tickets");
    const withRead = { ...TOOL_SCOPES, get_ticket_sla: "tickets:read" as const };
    expect(seededAgentTools("ticket-reader", withRead)).toContain("get_ticket_sla");
  });
});
