import type { Database } from "#kit/db/index.js";
import type { Logger } from "#kit/log/index.js";
import type { RegisteredAgent } from "./agent-directory.js";

/**
 * Makes the seeded agents' stored allow-lists what the kit's rule says today (docs/adding-a-tool.md):
 * a missing registration is inserted, a stale list replaced, an equal one not written. Only the
 * agents in `seeded` are read or written; any other registration (an administrator's) is left as
 * it is. Run at every start; safe from several replicas at once (the upsert is idempotent).
 */
export async function reconcileSeededAgents(
  db: Database,
  seeded: readonly RegisteredAgent[],
  logger: Logger,
): Promise<void> {
  const { rows } = await db.query<{ agent_id: string; allowed_tools: string[] }>(
    "SELECT agent_id, allowed_tools FROM agent_registrations WHERE agent_id = ANY($1::text[])",
    [seeded.map((a) => a.agentId)],
  );
  const stored = new Map(rows.map((r) => [r.agent_id, r.allowed_tools]));
  for (const agent of seeded) {
    const before = stored.get(agent.agentId);
    if (before && sameList(before, agent.allowedTools)) continue;
    await db.query(
      `INSERT INTO agent_registrations (agent_id, allowed_tools) VALUES ($1, $2)
       ON CONFLICT (agent_id) DO UPDATE SET allowed_tools = EXCLUDED.allowed_tools`,
      [agent.agentId, [...agent.allowedTools]],
    );
    // Said once per change, so an operator sees a tool arrive (or go) with the release that did it.
    logger.info(
      {
        agent_id: agent.agentId,
        added: agent.allowedTools.filter((t) => !before?.includes(t)),
        removed: (before ?? []).filter((t) => !agent.allowedTools.includes(t)),
      },
      before ? "seeded agent's allow-list reconciled" : "seeded agent registered",
    );
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((t, i) => t === b[i]);
}
