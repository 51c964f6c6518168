import type { DescService } from "@bufbuild/protobuf";
import { AgentService } from "#gen/supportext/agent/v1/agent_pb.js";
import { AuditService } from "#gen/supportext/audit/v1/audit_pb.js";
import { AuditWitnessService } from "#gen/supportext/audit/v1/witness_pb.js";
import { AuthService } from "#gen/supportext/auth/v1/auth_pb.js";
import { RevocationService } from "#gen/supportext/auth/v1/revocation_pb.js";
import { SessionAdminService } from "#gen/supportext/auth/v1/session_admin_pb.js";
import { UserAdminService } from "#gen/supportext/auth/v1/user_admin_pb.js";
import { ChatService } from "#gen/supportext/chat/v1/chat_pb.js";
import { McpGatewayService } from "#gen/supportext/mcpgateway/v1/mcp_gateway_pb.js";
import { SERVICE_AUTHORIZATION_HEADER, SERVICE_IDS } from "#kit/auth/index.js";
import { type CallingService, configuredClientCredentials } from "#kit/service/index.js";
import type { TestStack } from "../test-stack.js";

/** A Connect service of the stack, where it is served and the headers its permitted caller sends. */
export interface RpcTarget {
  readonly service: DescService;
  readonly baseUrl: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Methods whose stream never ends by itself (the revocation feed). */
  readonly endless?: ReadonlySet<string>;
}

/**
 * Every Connect service of the stack, each called as its caller rules permit (each service's
 * caller-rules.ts; docs/architecture.md, "Who may call what"): chat and identity's user services
 * by the administrator directly, the agent service by chat for the user, the gateway by the agent
 * service naming a registered agent, the revocation feed and the audit witness by a service as
 * itself, and the MCP server's audit trail by the administrator's own login token.
 */
export async function rpcTargets(stack: TestStack, adminToken: string): Promise<RpcTarget[]> {
  const serviceToken = (from: CallingService, to: string, agent?: string) =>
    configuredClientCredentials(stack.config, from).tokenFor(to, agent);
  const user = { authorization: `Bearer ${adminToken}` };
  const as = async (from: CallingService, to: string, agent?: string) => ({
    [SERVICE_AUTHORIZATION_HEADER]: `Bearer ${await serviceToken(from, to, agent)}`,
  });
  const mcp = stack.mcp();
  if (!mcp) throw new Error("the MCP server is not running");
  return [
    { service: ChatService, baseUrl: stack.chat.url, headers: user },
    {
      service: AgentService,
      baseUrl: stack.agent.url,
      headers: { ...user, ...(await as("chat", SERVICE_IDS.agent)) },
    },
    {
      service: McpGatewayService,
      baseUrl: stack.gateway.url,
      headers: { ...user, ...(await as("agent", SERVICE_IDS.gateway, "support-assistant")) },
    },
    { service: AuthService, baseUrl: stack.identity.url, headers: user },
    { service: SessionAdminService, baseUrl: stack.identity.url, headers: user },
    { service: UserAdminService, baseUrl: stack.identity.url, headers: user },
    {
      service: RevocationService,
      baseUrl: stack.identity.url,
      headers: await as("chat", SERVICE_IDS.identity),
      endless: new Set(["Watch"]),
    },
    {
      service: AuditWitnessService,
      baseUrl: stack.identity.url,
      headers: await as("mcp-server", SERVICE_IDS.identity),
    },
    { service: AuditService, baseUrl: mcp.url, headers: user },
  ];
}
