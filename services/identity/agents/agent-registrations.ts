import { SEEDED_AGENT_IDS, seededAgentTools } from "#kit/contract/index.js";
import type { Database, Migration } from "#kit/db/index.js";
import { AGENT_ID, type AgentDirectory, type RegisteredAgent } from "./agent-directory.js";

/**
 * Agent registrations are identity data (docs/identity.md, "Agents"): the actors an agent service
 * may name in its client-credentials request, and the tools each may call — the allow-list the
 * token exchange narrows MCP tokens to (RFC 9396 `authorization_details`). The identity provider
 * reads them from its own database, as any identity provider holds its clients and actors; it never
 * asks the agent service.
 */
export const AGENT_REGISTRATION_MIGRATIONS: readonly Migration[] = [
  {
    id: "identity_0005_agent_registrations",
    sql: `
      CREATE TABLE agent_registrations (
        agent_id text PRIMARY KEY,
        allowed_tools text[] NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );`,
  },
];

/**
 * The agents every installation starts with, their allow-lists from the kit's rule (the agent
 * service seeds the same ids with their prompts and models). Reconciled on every start
 * (reconcile-seeded-agents.ts), so a new tool reaches them on an existing database.
 */
export const SEED_AGENT_REGISTRATIONS: readonly RegisteredAgent[] = SEEDED_AGENT_IDS.map((agentId) => ({
  agentId,
  allowedTools: seededAgentTools(agentId),
}));

/**
 * Inserts the registrations that do not exist yet and leaves existing ones as they are (tests
 * register extra agents with it). Safe to run from several replicas at once (ON CONFLICT DO NOTHING).
 */
export async function seedAgentRegistrations(
  db: Database,
  agents: readonly RegisteredAgent[],
): Promise<void> {
  for (const agent of agents) {
    await db.query(
      "INSERT INTO agent_registrations (agent_id, allowed_tools) VALUES ($1, $2) ON CONFLICT (agent_id) DO NOTHING",
      [agent.agentId, [...agent.allowedTools]],
    );
  }
}

/** The registrations in the identity database, one indexed read per lookup. */
export function createAgentRegistrations(db: Database): AgentDirectory {
  return {
    async lookup(agentId) {
      if (!AGENT_ID.test(agentId)) return undefined;
      const { rows } = await db.query<{ agent_id: string; allowed_tools: string[] }>(
        "SELECT agent_id, allowed_tools FROM agent_registrations WHERE agent_id = $1",
        [agentId],
      );
      const row = rows[0];
      return row ? { agentId: row.agent_id, allowedTools: row.allowed_tools } : undefined;
    },
  };
}
