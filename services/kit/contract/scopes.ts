/**
 * The product's authorization model in one place (docs/mcp-server.md): which scope each MCP tool needs and
 * which scopes each role grants. The identity provider issues scopes from it, the MCP server
 * enforces it, and the gateway narrows exchanged tokens with it.
 */

export const SCOPES = [
  "tickets:read",
  "tickets:write",
  "tickets:delete",
  "integrations:read",
  "system:read",
  "audit:read",
] as const;
export type Scope = (typeof SCOPES)[number];

/**
 * Reading the MCP server's audit trail (`GET /admin/audit`). No tool needs it, so the gateway, which
 * asks for an agent's tool scopes only, never puts it in an agent's token. Granted to admins.
 */
export const AUDIT_READ_SCOPE = "audit:read" satisfies Scope;

export const TOOL_SCOPES = {
  search_tickets: "tickets:read",
  get_ticket: "tickets:read",
  list_tickets: "tickets:read",
  get_ticket_stats: "tickets:read",
  create_ticket: "tickets:write",
  update_ticket: "tickets:write",
  update_ticket_status: "tickets:write",
  assign_ticket: "tickets:write",
  create_ticket_with_ai: "tickets:write",
  delete_ticket: "tickets:delete",
  list_integrations: "integrations:read",
  get_active_integrations: "integrations:read",
  get_system_health: "system:read",
} as const satisfies Record<string, Scope>;
export type ToolName = keyof typeof TOOL_SCOPES;
export const TOOL_NAMES = Object.keys(TOOL_SCOPES) as ToolName[];

export const ROLES = ["admin", "support_agent", "viewer"] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_SCOPES: Record<Role, readonly Scope[]> = {
  // Every scope, `audit:read` included.
  admin: SCOPES,
  support_agent: ["tickets:read", "tickets:write", "integrations:read", "system:read"],
  viewer: ["tickets:read", "integrations:read"],
};

export function isToolName(name: string): name is ToolName {
  return Object.hasOwn(TOOL_SCOPES, name);
}

/** Union of the scopes of `roles` (unknown roles grant nothing), in canonical order. */
export function scopesForRoles(roles: readonly string[]): Scope[] {
  const granted = new Set<Scope>();
  for (const role of roles) {
    for (const s of ROLE_SCOPES[role as Role] ?? []) granted.add(s);
  }
  return SCOPES.filter((s) => granted.has(s));
}

/** Scopes needed to call every tool in `tools` (unknown names need nothing: they can't be called). */
export function scopesForTools(tools: readonly string[]): Scope[] {
  const needed = new Set<Scope>();
  for (const t of tools) if (isToolName(t)) needed.add(TOOL_SCOPES[t]);
  return SCOPES.filter((s) => needed.has(s));
}
