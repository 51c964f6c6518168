import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SeededAgentId, seededAgentTools, TOOL_NAMES, TOOL_SCOPES } from "#kit/contract/index.js";
import type { Database } from "#kit/db/index.js";
import { captureLogs } from "#kit/testing/log-capture.js";
import { findAgent } from "../data/agents-table.js";
import { openAgentDatabase } from "../data/open-agent-database.js";
import { reconcileSeededAgents } from "./reconcile-seeded-agents.js";
import { SEED_AGENTS } from "./seed-agents.js";

/**
 * The agent service's registry follows the same rule as the identity service's registrations
 * (docs/adding-a-tool.md): on an existing database a new tool reaches the seeded agents at start,
 * and nothing an operator set is lost. Embedded database only: the SQL is the same on PostgreSQL.
 */
let dataDir: string;
let db: Database;
const logs = captureLogs("agent");

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "agent-reconcile-"));
  db = await openAgentDatabase({ DATA_DIR: dataDir, DATABASE_URL: undefined });
});
afterAll(async () => {
  await db?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe("the agent registry's seeded allow-lists", () => {
  it("adds a tool the stored list lacks and keeps the operator's prompt, limits and own agents", async () => {
    // A database seeded before get_system_health existed, then edited by an operator.
    await db.query(
      `UPDATE agents SET allowed_tools = allowed_tools - 'get_system_health', max_tool_calls = 3
       WHERE id = 'support-assistant'`,
    );
    await db.query(
      `INSERT INTO agents (id, name, system_prompt, model, allowed_tools, max_tool_calls, max_model_turns)
       VALUES ('health-only', 'Health', 'p', 'default', '["get_system_health"]', 1, 1)`,
    );

    await reconcileSeededAgents(db, logs.logger);

    const assistant = await findAgent(db, "support-assistant");
    expect(assistant?.allowedTools).toEqual([...TOOL_NAMES]);
    expect(assistant?.limits.maxToolCalls).toBe(3);
    expect((await findAgent(db, "ticket-reader"))?.allowedTools).toEqual(seededAgentTools("ticket-reader"));
    expect((await findAgent(db, "health-only"))?.allowedTools).toEqual(["get_system_health"]);
    expect(logs.records().filter((r) => r.msg === "seeded agent's allow-list reconciled")).toEqual([
      expect.objectContaining({ agent_id: "support-assistant" }),
    ]);
  });

  it("writes a 14th tool of the scope table by its scope, and leaves a deleted seeded agent deleted", async () => {
    await db.query("DELETE FROM agents WHERE id = 'ticket-reader'");
    // The lists the rule gives once a 14th, write-scoped tool is in the scope table.
    const withNewTool = { ...TOOL_SCOPES, merge_tickets: "tickets:write" as const };
    await reconcileSeededAgents(
      db,
      logs.logger,
      SEED_AGENTS.map((a) => ({
        id: a.id,
        allowedTools: seededAgentTools(a.id as SeededAgentId, withNewTool),
      })),
    );
    expect((await findAgent(db, "support-assistant"))?.allowedTools).toContain("merge_tickets");
    expect(await findAgent(db, "ticket-reader")).toBeUndefined();
  });
});
