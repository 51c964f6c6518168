import type { Client } from "@connectrpc/connect";
import { AgentService } from "#gen/supportext/agent/v1/agent_pb.js";
import { SERVICE_IDS, type ServiceCredentials } from "#kit/auth/index.js";
import { createServiceClient } from "#kit/client/index.js";

export type AgentClient = Client<typeof AgentService>;

/**
 * The agent service as the chat's handlers call it: always as their caller (propagation
 * interceptor), and as chat itself (its service credential for the agent service, in process).
 */
export function createAgentClient(agentUrl: string, credentials: ServiceCredentials): AgentClient {
  return createServiceClient(AgentService, agentUrl, {
    defaultTimeoutMs: 10_000,
    credentials: { source: credentials, audience: SERVICE_IDS.agent },
  });
}
