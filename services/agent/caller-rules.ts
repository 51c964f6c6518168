import { AgentService } from "#gen/supportext/agent/v1/agent_pb.js";
import { SERVICE_IDS } from "#kit/auth/index.js";
import type { CallerRules } from "#kit/propagation/index.js";

/**
 * Who may call the agent service (docs/architecture.md, "Who may call what"): chat, for its user.
 */
export const AGENT_CALLER_RULES: CallerRules = {
  [AgentService.typeName]: { services: [SERVICE_IDS.chat], user: "required" },
};
