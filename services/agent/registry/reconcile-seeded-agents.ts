import type { Database } from "#kit/db/index.js";
import type { Logger } from "#kit/log/index.js";
import { SEED_AGENTS } from "./seed-agents.js";

/**
 * Writes the seeded agents' allow-lists from the kit's rule on every start (docs/adding-a-tool.md),
 * as the identity service does with its registrations: the list shown by ListAgents and the run
 * context then name a new tool too. Only `allowed_tools` of rows that exist is written: an
 * operator's prompt, model and limits stick, a seeded agent they deleted stays deleted, and agents
 * they added are not read at all.
 */
export async function reconcileSeededAgents(
  db: Database,
  logger: Logger,
  seeded: readonly { readonly id: string; readonly allowedTools: readonly string[] }[] = SEED_AGENTS,
): Promise<void> {
  for (const agent of seeded) {
    // jsonb equality compares element by element, so an equal list is not rewritten.
    const { rows } = await db.query<{ id: string }>(
      "UPDATE agents SET allowed_tools = $2::jsonb WHERE id = $1 AND allowed_tools IS DISTINCT FROM $2::jsonb RETURNING id",
      [agent.id, JSON.stringify(agent.allowedTools)],
    );
    if (rows.length > 0) logger.info({ agent_id: agent.id }, "seeded agent's allow-list reconciled");
  }
}
