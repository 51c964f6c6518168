import type { Principal } from "../../kit/auth/principal.js";

/**
 * Tool → scope and role → scope live in the kit (`kit/auth/scopes.ts`), shared with the identity
 * provider and the gateway. What is only the MCP server's: who may read the audit trail — the
 * `admin` role, or the dedicated `audit:read` scope for an operator's token without that role.
 */
export const AUDIT_READ_SCOPE = "audit:read";

export function canReadAudit(p: Principal): boolean {
  return !p.anonymous && (p.roles.includes("admin") || p.scopes.includes(AUDIT_READ_SCOPE));
}
