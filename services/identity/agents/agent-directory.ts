/** An agent registered in the agent service, as the identity provider needs it. */
export interface RegisteredAgent {
  readonly agentId: string;
  /** The MCP tools the agent may call: its allow-list, carried in exchanged tokens (RFC 9396). */
  readonly allowedTools: readonly string[];
}

/**
 * Which agents exist (docs/architecture.md, "The delegation chain"): the identity provider names
 * an agent in a token only if the agent service has it registered. `undefined` means "not
 * registered"; a registry that cannot be asked throws AgentDirectoryUnavailable (never read as
 * "not registered", nor as "registered").
 */
export interface AgentDirectory {
  lookup(agentId: string): Promise<RegisteredAgent | undefined>;
}

export class AgentDirectoryUnavailable extends Error {
  override readonly name = "AgentDirectoryUnavailable";
}

/** The agent service's id syntax (services/agent/registry): nothing else can be registered. */
export const AGENT_ID = /^[A-Za-z0-9._-]{1,64}$/;
