import type { Queryable } from "#kit/db/index.js";
import type { AgentRecord } from "../registry/agent-record.js";

interface AgentRow extends Record<string, unknown> {
  id: string;
  name: string;
  description: string;
  system_prompt: string;
  model: string;
  allowed_tools: unknown;
  max_tool_calls: number;
  max_model_turns: number;
  created_at: Date;
}

const COLUMNS =
  "id, name, description, system_prompt, model, allowed_tools, max_tool_calls, max_model_turns, created_at";

function toRecord(row: AgentRow): AgentRecord {
  const tools = Array.isArray(row.allowed_tools)
    ? row.allowed_tools.filter((t) => typeof t === "string")
    : [];
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    systemPrompt: row.system_prompt,
    model: row.model,
    allowedTools: tools as string[],
    limits: { maxToolCalls: row.max_tool_calls, maxModelTurns: row.max_model_turns },
    createdAt: row.created_at,
  };
}

export async function findAgent(db: Queryable, id: string): Promise<AgentRecord | undefined> {
  const { rows } = await db.query<AgentRow>(`SELECT ${COLUMNS} FROM agents WHERE id = $1`, [id]);
  return rows[0] ? toRecord(rows[0]) : undefined;
}

/** Agents ordered by id, after `afterId` (keyset paging: stable while agents are added). */
export async function listAgents(db: Queryable, afterId: string, limit: number): Promise<AgentRecord[]> {
  const { rows } = await db.query<AgentRow>(
    `SELECT ${COLUMNS} FROM agents WHERE id > $1 ORDER BY id LIMIT $2`,
    [afterId, limit],
  );
  return rows.map(toRecord);
}

export async function insertAgent(db: Queryable, agent: Omit<AgentRecord, "createdAt">): Promise<void> {
  await db.query(
    `INSERT INTO agents (id, name, description, system_prompt, model, allowed_tools, max_tool_calls, max_model_turns)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      agent.id,
      agent.name,
      agent.description,
      agent.systemPrompt,
      agent.model,
      JSON.stringify(agent.allowedTools),
      agent.limits.maxToolCalls,
      agent.limits.maxModelTurns,
    ],
  );
}
