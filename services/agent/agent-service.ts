import type { ConnectRouter } from "@connectrpc/connect";
import { AgentService } from "#gen/supportext/agent/v1/agent_pb.js";
import { requirePrincipal } from "#kit/propagation/index.js";
import type { AgentRegistry } from "./registry/agent-registry.js";
import { agentToProto } from "./registry/to-proto.js";
import { createRunHandler, type RunDeps } from "./run/run-handler.js";

export interface AgentServiceDeps extends RunDeps {
  readonly registry: AgentRegistry;
}

/** AgentService: the registry (ListAgents, GetAgent) and the model ↔ tools loop (Run). */
export function agentRoutes(deps: AgentServiceDeps): (router: ConnectRouter) => void {
  const run = createRunHandler(deps);
  return (router) =>
    router.service(AgentService, {
      async listAgents(req, ctx) {
        requirePrincipal(ctx);
        const page = await deps.registry.list(req.pageSize, req.pageToken);
        return { agents: page.agents.map(agentToProto), nextPageToken: page.nextPageToken };
      },
      // Callers are checked by the kit's interceptor (AGENT_CALLER_RULES): chat, with or without a user.
      async getAgent(req) {
        return { agent: agentToProto(await deps.registry.get(req.agentId)) };
      },
      run,
    });
}
