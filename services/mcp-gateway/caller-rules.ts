import { McpGatewayService } from "#gen/supportext/mcpgateway/v1/mcp_gateway_pb.js";
import { SERVICE_IDS } from "#kit/auth/index.js";
import type { CallerRules } from "#kit/propagation/index.js";

/**
 * Who may call the gateway (docs/architecture.md, "Who may call what"): the agent service, with
 * the user's token and a credential naming the registered agent it runs. Users calling directly
 * (buf curl, grpcurl) only with GATEWAY_ALLOW_DIRECT_USERS=1, a development option refused in
 * production: their calls then act with no agent, i.e. with the user's own scopes.
 */
export function gatewayCallerRules(allowDirectUsers: boolean): CallerRules {
  return {
    [McpGatewayService.typeName]: {
      services: [SERVICE_IDS.agent],
      user: "required",
      agentRequired: true,
      directUsers: allowDirectUsers,
    },
  };
}
