import type { AgentDirectory, RegisteredAgent } from "./agent-directory.js";

/**
 * A fixed set of agents: for tests of the token endpoint that don't run an agent service. The
 * product always uses the agent service's registry (remote-agent-directory.ts).
 */
export function createStaticAgentDirectory(agents: readonly RegisteredAgent[]): AgentDirectory & {
  /** How many lookups were made (tests check caching upstream). */
  readonly lookups: number;
} {
  const byId = new Map(agents.map((a) => [a.agentId, a]));
  let lookups = 0;
  return {
    get lookups() {
      return lookups;
    },
    async lookup(agentId) {
      lookups++;
      return byId.get(agentId);
    },
  };
}
