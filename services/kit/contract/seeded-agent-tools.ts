import { type Scope, TOOL_SCOPES } from "./scopes.js";

/**
 * The agents every installation starts with, and the rule that gives each its tools
 * (docs/adding-a-tool.md). Their allow-lists are computed from the one scope table, never written
 * out, and both the identity service (agent registrations) and the agent service (its registry)
 * write them back on every start: a tool added to `TOOL_SCOPES` reaches these agents on an existing
 * database at the next restart. Agents an administrator registers are never touched.
 */
export const SEEDED_AGENT_IDS = ["support-assistant", "ticket-reader"] as const;
export type SeededAgentId = (typeof SEEDED_AGENT_IDS)[number];

/** A scope that only reads: the scope table names them `<resource>:read`. */
export const isReadOnlyScope = (scope: Scope): boolean => scope.endsWith(":read");

const RULES: Readonly<Record<SeededAgentId, (scope: Scope) => boolean>> = {
  // Every tool: what a turn may do is bounded by the caller's own scopes anyway.
  "support-assistant": () => true,
  // Looks without changing anything: every tool whose scope is read-only.
  "ticket-reader": isReadOnlyScope,
};

/**
 * The allow-list `agentId` gets from its rule, in the scope table's order. `scopes` is the product's
 * table; tests pass it with a tool added, as docs/adding-a-tool.md's first step does.
 */
export function seededAgentTools(
  agentId: SeededAgentId,
  scopes: Readonly<Record<string, Scope>> = TOOL_SCOPES,
): string[] {
  return Object.entries(scopes)
    .filter(([, scope]) => RULES[agentId](scope))
    .map(([tool]) => tool);
}
