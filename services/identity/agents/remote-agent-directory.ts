import { Code, type Client, ConnectError, createContextValues } from "@connectrpc/connect";
import { AgentService } from "../../../gen/supportext/agent/v1/agent_pb.js";
import { SERVICE_IDS, type ServiceCredentials } from "../../kit/auth/service-identity.js";
import { createServiceClient } from "../../kit/client/service-client.js";
import type { Logger } from "../../kit/log/logger.js";
import { currentCallScope, runOutsideCall } from "../../kit/propagation/call-scope.js";
import { kRequestId, kTrace } from "../../kit/propagation/context-keys.js";
import { AGENT_ID, type AgentDirectory, AgentDirectoryUnavailable, type RegisteredAgent } from "./agent-directory.js";

export interface RemoteAgentDirectoryOptions {
  readonly agentUrl: string;
  /** Chat's own service credentials: the registry is asked as chat, never as a user. */
  readonly credentials: ServiceCredentials;
  readonly logger: Logger;
  /** How long a registered agent is remembered (a removed agent stays usable this long). */
  readonly ttlMs?: number;
  /** How long "not registered" is remembered: short, so a newly added agent works quickly. */
  readonly missTtlMs?: number;
  readonly maxEntries?: number;
  readonly timeoutMs?: number;
  /** Replaces the Connect client (tests). */
  readonly client?: Client<typeof AgentService>;
}

interface Entry {
  readonly agent: RegisteredAgent | undefined;
  readonly until: number;
}

/**
 * The agent registry as the identity provider sees it: `AgentService.GetAgent` on the agent
 * service, called with chat's service credential and no user token (the agent service answers
 * GetAgent to chat alone; docs/architecture.md, "Who may call what"). Answers are cached ~60 s
 * (misses 5 s), and concurrent lookups of one id share one call, so token requests cost a map
 * lookup. A registry that can't be reached is AgentDirectoryUnavailable: the token endpoint then
 * answers 503 rather than guessing.
 */
export function createRemoteAgentDirectory(options: RemoteAgentDirectoryOptions): AgentDirectory {
  const ttlMs = options.ttlMs ?? 60_000;
  const missTtlMs = options.missTtlMs ?? 5_000;
  const maxEntries = options.maxEntries ?? 1_000;
  const client =
    options.client ??
    createServiceClient(AgentService, options.agentUrl, {
      defaultTimeoutMs: options.timeoutMs ?? 3_000,
      credentials: { source: options.credentials, audience: SERVICE_IDS.agent },
    });
  const cache = new Map<string, Entry>();
  const inFlight = new Map<string, Promise<RegisteredAgent | undefined>>();

  const fetchAgent = async (agentId: string): Promise<RegisteredAgent | undefined> => {
    // The trace is joined, the caller's credential is not: this call is chat's, not the user's.
    const scope = currentCallScope();
    const contextValues = createContextValues().set(kTrace, scope?.trace).set(kRequestId, scope?.requestId);
    try {
      const res = await runOutsideCall(() => client.getAgent({ agentId }, { contextValues }));
      const agent = res.agent;
      if (!agent || agent.id !== agentId) return undefined;
      return Object.freeze({ agentId, allowedTools: Object.freeze([...agent.allowedTools]) });
    } catch (err) {
      const e = ConnectError.from(err);
      if (e.code === Code.NotFound || e.code === Code.InvalidArgument) return undefined;
      options.logger.warn({ err: e, agent: agentId }, "agent registry lookup failed");
      throw new AgentDirectoryUnavailable(`the agent registry is unavailable (${Code[e.code]})`);
    }
  };

  const remember = (agentId: string, agent: RegisteredAgent | undefined) => {
    cache.delete(agentId);
    cache.set(agentId, { agent, until: Date.now() + (agent ? ttlMs : missTtlMs) });
    if (cache.size > maxEntries) cache.delete(cache.keys().next().value ?? agentId);
  };

  return {
    async lookup(agentId) {
      // Nothing else can be registered; don't spend a call on it.
      if (!AGENT_ID.test(agentId)) return undefined;
      const hit = cache.get(agentId);
      if (hit && Date.now() < hit.until) return hit.agent;
      const pending = inFlight.get(agentId);
      if (pending) return pending;
      const started = fetchAgent(agentId)
        .then((agent) => {
          remember(agentId, agent);
          return agent;
        })
        .finally(() => inFlight.delete(agentId));
      inFlight.set(agentId, started);
      return started;
    },
  };
}
