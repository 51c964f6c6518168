import { describe, expect, it } from "vitest";
import { ROLE_SCOPES, scopesForRoles, scopesForTools, TOOL_NAMES, TOOL_SCOPES } from "./scopes.js";

describe("scopes", () => {
  it("covers the 13 tools of the original system", () => {
    expect(TOOL_NAMES).toHaveLength(13);
  });

  it("gives viewers exactly the six read tools of tickets and integrations", () => {
    const viewer = new Set(ROLE_SCOPES.viewer);
    const tools = TOOL_NAMES.filter((t) => viewer.has(TOOL_SCOPES[t]));
    expect(tools.sort()).toEqual(
      [
        "get_active_integrations",
        "get_ticket",
        "get_ticket_stats",
        "list_integrations",
        "list_tickets",
        "search_tickets",
      ].sort(),
    );
  });

  it("support agents have everything but delete", () => {
    expect(scopesForRoles(["support_agent"])).not.toContain("tickets:delete");
    expect(scopesForRoles(["admin"])).toContain("tickets:delete");
    expect(scopesForRoles(["nobody"])).toEqual([]);
    expect(scopesForRoles(["viewer", "support_agent"])).toEqual(scopesForRoles(["support_agent"]));
  });

  it("grants audit:read (no tool needs it) to admins only", () => {
    expect(scopesForRoles(["admin"])).toContain("audit:read");
    expect(scopesForRoles(["support_agent", "viewer"])).not.toContain("audit:read");
    expect(Object.values(TOOL_SCOPES)).not.toContain("audit:read");
    // So an agent's tool allow-list never asks for it on the MCP hop.
    expect(scopesForTools(TOOL_NAMES)).not.toContain("audit:read");
  });

  it("derives the scopes a tool allow-list needs", () => {
    expect(scopesForTools(["get_ticket", "list_tickets", "nope"])).toEqual(["tickets:read"]);
    expect(scopesForTools(["delete_ticket", "get_system_health"])).toEqual(["tickets:delete", "system:read"]);
  });
});
