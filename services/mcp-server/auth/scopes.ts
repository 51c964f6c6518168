import type { Principal } from "#kit/auth/index.js";
import { AUDIT_READ_SCOPE } from "#kit/contract/index.js";

/**
 * Tool → scope and role → scope live in the kit (`kit/contract/scopes.ts`), shared with the identity
 * provider and the gateway. What is only the MCP server's: who may read the audit trail.
 *
 * The rule: the `audit:read` scope, or the `admin` role on a token that is not delegated (no `act`).
 * A scope travels with a token and is narrowed on exchange (the gateway asks only for the agent's
 * tool scopes, so an agent's token never carries `audit:read`); a role is an attribute of the user
 * that an agent or gateway acting for an admin must not borrow. The development principal never
 * reads it.
 */
export function canReadAudit(p: Principal): boolean {
  if (p.anonymous) return false;
  return p.scopes.includes(AUDIT_READ_SCOPE) || (p.roles.includes("admin") && p.actor === undefined);
}
