import { describe, expect, it } from "vitest";
import { testBackends } from "#kit/db/testing/test-backends.js";
import { BEFORE_AGENTS, claimKey, findKey } from "./idempotency-keys.js";
import { MIGRATIONS } from "./migrations.js";

/**
 * Migration `0011_idempotency_keys_by_agent` on a database that holds keys written before it
 * (docs/mcp-server.md, "Idempotency keys"): they are kept, marked as from before agents, and
 * still answer the user's repeats from any agent; a new key of the same name is not claimed beside
 * a live one.
 */
const BY_AGENT_AT = MIGRATIONS.findIndex((m) => m.id === "0011_idempotency_keys_by_agent");

describe.each(testBackends("mcp-server", MIGRATIONS.slice(0, BY_AGENT_AT)))(
  "upgrading idempotency keys to name their agent, on $name",
  (backend) => {
    it("keeps the keys written before, answering any agent of their user; the key is theirs still", async () => {
      const handle = await backend.open();
      try {
        const { db } = handle;
        await db.query(
          `INSERT INTO idempotency_keys (user_id, key, tool, arguments_hash, result)
           VALUES ('u-1', 'turn-a:call_0', 'create_ticket', 'h1', '{"content":[]}')`,
        );
        await db.transaction(async (tx) => {
          for (const migration of MIGRATIONS.slice(BY_AGENT_AT)) {
            for (const statement of migration.sql.split(";").filter((t) => t.trim() !== "")) {
              await tx.query(statement);
            }
          }
        });
        const { rows } = await db.query<{ agent_id: string }>("SELECT agent_id FROM idempotency_keys");
        expect(rows).toEqual([{ agent_id: BEFORE_AGENTS }]);
        const call = { userId: "u-1", agentId: "support-assistant", key: "turn-a:call_0" };
        expect(await findKey(db, call)).toMatchObject({ tool: "create_ticket", argumentsHash: "h1" });
        expect(await findKey(db, { ...call, userId: "u-2" })).toBeUndefined();
        const taken = await db.transaction((tx) =>
          claimKey(tx, { ...call, tool: "create_ticket", argumentsHash: "h1" }),
        );
        expect(taken).toMatchObject({ argumentsHash: "h1" });
        const { rows: after } = await db.query("SELECT 1 FROM idempotency_keys");
        expect(after).toHaveLength(1);
        // A new key is claimed under its agent.
        const fresh = await db.transaction((tx) =>
          claimKey(tx, { ...call, key: "turn-b:call_0", tool: "create_ticket", argumentsHash: "h2" }),
        );
        expect(fresh).toBeUndefined();
      } finally {
        await handle.close();
      }
    });
  },
);
