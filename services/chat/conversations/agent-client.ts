import type { Client } from "@connectrpc/connect";
import { AgentService } from "../../../gen/supportext/agent/v1/agent_pb.js";
import { createServiceClient } from "../../kit/client/service-client.js";

export type AgentClient = Client<typeof AgentService>;

/** The agent service as the chat's handlers call it: always as their caller (propagation interceptor). */
export function createAgentClient(agentUrl: string): AgentClient {
  return createServiceClient(AgentService, agentUrl, { defaultTimeoutMs: 10_000 });
}
