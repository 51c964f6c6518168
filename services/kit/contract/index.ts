// The module's public face: what the rest of the product uses of it (docs/architecture.md, "The kit").
export {
  AUDIT_READ_SCOPE,
  isToolName,
  ROLE_SCOPES,
  ROLES,
  type Role,
  SCOPES,
  type Scope,
  scopesForRoles,
  scopesForTools,
  TOOL_NAMES,
  TOOL_SCOPES,
  type ToolName,
} from "./scopes.js";
export { SEEDED_AGENT_IDS, type SeededAgentId, seededAgentTools } from "./seeded-agent-tools.js";
