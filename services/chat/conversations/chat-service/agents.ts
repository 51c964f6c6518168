import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { ChatService } from "#gen/supportext/chat/v1/chat_pb.js";
import { forwardFrom, requirePrincipal } from "#kit/propagation/index.js";
import type { AgentClient } from "../agent-client.js";
import { usableToolsByAgent } from "../usable-tools.js";

/** ListAgents: the agent service's list, asked as the caller, with the tools the caller may use. */
export function agentMethods(deps: {
  readonly agents: AgentClient;
}): Pick<ServiceImpl<typeof ChatService>, "listAgents"> {
  return {
    async listAgents(req, ctx) {
      const principal = requirePrincipal(ctx);
      const res = await deps.agents.listAgents(
        { pageSize: req.pageSize, pageToken: req.pageToken },
        forwardFrom(ctx),
      );
      return {
        agents: res.agents,
        nextPageToken: res.nextPageToken,
        usableTools: usableToolsByAgent(res.agents, principal.scopes),
      };
    },
  };
}

/** The agent exists for the caller, asked of the agent registry; `not_found` if not. */
export async function requireAgent(agents: AgentClient, ctx: HandlerContext, agentId: string): Promise<void> {
  try {
    await agents.getAgent({ agentId }, forwardFrom(ctx));
  } catch (err) {
    const ce = ConnectError.from(err);
    if (ce.code === Code.NotFound) throw new ConnectError(`agent ${agentId} not found`, Code.NotFound);
    throw new ConnectError(
      `agent registry: ${ce.rawMessage}`,
      ce.code === Code.Unauthenticated ? ce.code : Code.Unavailable,
    );
  }
}
