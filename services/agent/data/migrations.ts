import type { Migration } from "#kit/db/index.js";
import { SEED_AGENTS } from "../registry/seed-agents.js";

const literal = (value: string) => `'${value.replaceAll("'", "''")}'`;

/**
 * The agent service's own tables (database per service, docs/architecture.md, "Data"). Append new migrations; never
 * edit one that has shipped.
 */
export const AGENT_MIGRATIONS: readonly Migration[] = [
  {
    id: "0001_agents",
    sql: `
      CREATE TABLE agents (
        id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9._-]{1,64}$'),
        name text NOT NULL,
        description text NOT NULL DEFAULT '',
        system_prompt text NOT NULL,
        model text NOT NULL,
        allowed_tools jsonb NOT NULL DEFAULT '[]',
        max_tool_calls integer NOT NULL CHECK (max_tool_calls > 0),
        max_model_turns integer NOT NULL CHECK (max_model_turns > 0),
        created_at timestamptz NOT NULL DEFAULT now()
      );`,
  },
  {
    id: "0002_seed_agents",
    // A migration runs once, like a first start: an operator's later edits to these rows stick,
    // except allowed_tools, which every start reconciles (registry/reconcile-seeded-agents.ts).
    sql: SEED_AGENTS.map(
      (a) =>
        `INSERT INTO agents (id, name, description, system_prompt, model, allowed_tools, max_tool_calls, max_model_turns)
         VALUES (${[a.id, a.name, a.description, a.systemPrompt, a.model, JSON.stringify(a.allowedTools)].map(literal).join(", ")},
                 ${a.limits.maxToolCalls}, ${a.limits.maxModelTurns});`,
    ).join("\n"),
  },
];
