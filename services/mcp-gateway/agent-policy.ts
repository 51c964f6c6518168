import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { AgentService } from "../../gen/supportext/agent/v1/agent_pb.js";
import { createServiceClient } from "../kit/client/service-client.js";
import { AGENT_ID_HEADER } from "../kit/propagation/agent-id-header.js";
import { forwardFrom } from "../kit/propagation/handler-context.js";

const AGENT_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** The tools an agent may call; undefined means the caller acts without an agent (no narrowing). */
export interface AgentPolicy {
  readonly agentId: string;
  readonly allowedTools: ReadonlySet<string> | undefined;
}

export interface AgentPolicies {
  forCall(ctx: HandlerContext): Promise<AgentPolicy>;
}

/**
 * Reads `x-agent-id` and looks the agent's tool allow-list up in the agent registry (as the
 * caller, through propagation), caching it briefly. An agent id can only narrow what the caller may
 * do — the token exchange intersects with the user's own scopes — so a forged id gains nothing.
 */
export function createAgentPolicies(agentServiceUrl: string, ttlMs = 60_000): AgentPolicies {
  const agents = createServiceClient(AgentService, agentServiceUrl, { defaultTimeoutMs: 5_000 });
  const cache = new Map<string, { tools: ReadonlySet<string>; until: number }>();

  return {
    async forCall(ctx) {
      const agentId = ctx.requestHeader.get(AGENT_ID_HEADER)?.trim() ?? "";
      if (!agentId) return { agentId: "", allowedTools: undefined };
      if (!AGENT_ID.test(agentId)) throw new ConnectError(`invalid ${AGENT_ID_HEADER}`, Code.InvalidArgument);
      const hit = cache.get(agentId);
      if (hit && hit.until > Date.now()) return { agentId, allowedTools: hit.tools };
      try {
        const { agent } = await agents.getAgent({ agentId }, forwardFrom(ctx));
        const tools = new Set(agent?.allowedTools ?? []);
        cache.set(agentId, { tools, until: Date.now() + ttlMs });
        return { agentId, allowedTools: tools };
      } catch (err) {
        const ce = ConnectError.from(err);
        if (ce.code === Code.NotFound) throw new ConnectError(`unknown agent "${agentId}"`, Code.InvalidArgument);
        throw new ConnectError(`agent registry: ${ce.rawMessage}`, ce.code === Code.Unauthenticated ? ce.code : Code.Unavailable);
      }
    },
  };
}
