import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Database } from "#kit/db/index.js";
import { type TestDatabase, testBackends } from "#kit/db/testing/test-backends.js";
import { encodePageToken } from "#kit/paging/index.js";
import { insertAgent } from "../data/agents-table.js";
import { AGENT_MIGRATIONS } from "../data/migrations.js";
import type { AgentRecord } from "./agent-record.js";
import { type AgentRegistry, createAgentRegistry } from "./agent-registry.js";
import { SEED_AGENTS } from "./seed-agents.js";

/**
 * The agent registry's reads as AgentService answers them (GetAgent, ListAgents), over the agent
 * service's real database (PGlite in a temporary DATA_DIR; a fresh schema on DATABASE_URL too):
 * request checks with Connect codes, keyset paging on the id (agents added meanwhile neither repeat
 * nor vanish), a page size bounded at 100, and only tokens this list issued.
 */
const agent = (id: string, overrides: Partial<Omit<AgentRecord, "createdAt">> = {}) => ({
  id,
  name: `Agent ${id}`,
  description: "",
  systemPrompt: "You help.",
  model: "default",
  allowedTools: ["get_ticket"],
  limits: { maxToolCalls: 3, maxModelTurns: 2 },
  ...overrides,
});

async function codeOf(op: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await op;
    return "ok";
  } catch (err) {
    if (err instanceof ConnectError) return err.code;
    throw err;
  }
}

/** Every id the list yields from `token` on, page by page, and how many pages that took. */
async function walk(
  registry: AgentRegistry,
  pageSize: number,
  token = "",
): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let next = token;
  let pages = 0;
  do {
    const page = await registry.list(pageSize, next);
    pages++;
    ids.push(...page.agents.map((a) => a.id));
    next = page.nextPageToken;
    if (pages > 1_000) throw new Error("paging does not end");
  } while (next !== "");
  return { ids, pages };
}

describe.each(testBackends("agent", AGENT_MIGRATIONS))("the agent registry on $name", (backend) => {
  let handle: TestDatabase;
  let db: Database;
  let registry: AgentRegistry;

  beforeAll(async () => {
    handle = await backend.open();
    db = handle.db;
    registry = createAgentRegistry(db);
  });
  afterAll(async () => {
    await handle?.close();
  });
  beforeEach(async () => {
    // Back to the seeded registry.
    await db.query("DELETE FROM agents WHERE id <> ALL($1::text[])", [SEED_AGENTS.map((a) => a.id)]);
  });

  describe("get", () => {
    it("answers a seeded agent with its prompt, tools and limits", async () => {
      for (const seeded of SEED_AGENTS) {
        const found = await registry.get(seeded.id);
        expect(found).toEqual({ ...seeded, createdAt: expect.any(Date) });
      }
    });

    it("answers an agent stored later, with exactly its allowed tools", async () => {
      await insertAgent(
        db,
        agent("triage.bot-2", { allowedTools: ["search_tickets", "get_ticket"], model: "gpt-x" }),
      );
      expect(await registry.get("triage.bot-2")).toMatchObject({
        id: "triage.bot-2",
        model: "gpt-x",
        allowedTools: ["search_tickets", "get_ticket"],
        limits: { maxToolCalls: 3, maxModelTurns: 2 },
      });
    });

    it("keeps only tool names from a hand-edited allow-list", async () => {
      await insertAgent(db, agent("edited"));
      await db.query(
        `UPDATE agents SET allowed_tools = '["get_ticket", 7, null, {"x": 1}]' WHERE id = 'edited'`,
      );
      expect((await registry.get("edited")).allowedTools).toEqual(["get_ticket"]);
    });

    it("refuses an empty or malformed id as invalid_argument, without looking it up", async () => {
      expect(await codeOf(registry.get(""))).toBe(Code.InvalidArgument);
      for (const bad of ["has space", "a/b", "x".repeat(65), "é", "id'; DROP TABLE agents; --", "a\n"]) {
        expect(await codeOf(registry.get(bad)), bad).toBe(Code.InvalidArgument);
      }
      expect((await registry.list(0, "")).agents.length).toBe(SEED_AGENTS.length);
    });

    it("answers not_found for a well-formed id no agent has", async () => {
      expect(await codeOf(registry.get("no-such-agent"))).toBe(Code.NotFound);
      expect(await codeOf(registry.get("x".repeat(64)))).toBe(Code.NotFound);
      await insertAgent(db, agent("temporary"));
      expect(await codeOf(registry.get("temporary"))).toBe("ok");
      await db.query("DELETE FROM agents WHERE id = 'temporary'");
      expect(await codeOf(registry.get("temporary"))).toBe(Code.NotFound);
    });
  });

  describe("list", () => {
    it("lists every agent in id order; page size 0 means the default (50)", async () => {
      for (let i = 0; i < 60; i++) await insertAgent(db, agent(`bulk-${String(i).padStart(2, "0")}`));
      const first = await registry.list(0, "");
      expect(first.agents).toHaveLength(50);
      const all = await walk(registry, 0);
      const expected = [
        ...SEED_AGENTS.map((a) => a.id),
        ...Array.from({ length: 60 }, (_, i) => `bulk-${String(i).padStart(2, "0")}`),
      ].sort();
      expect(all.ids).toEqual(expected);
      expect(all.pages).toBe(2);
    });

    it("walks pages of any size without repeats or gaps, the last page saying there is no next", async () => {
      for (const id of ["a1", "b2", "c3", "d4", "e5"]) await insertAgent(db, agent(id));
      const everyone = ["a1", "b2", "c3", "d4", "e5", ...SEED_AGENTS.map((a) => a.id)].sort();
      for (const size of [1, 2, 3, everyone.length, everyone.length + 1]) {
        const { ids, pages } = await walk(registry, size);
        expect(ids, `page size ${size}`).toEqual(everyone);
        expect(pages, `page size ${size}`).toBe(Math.ceil(everyone.length / size));
      }
    });

    it("bounds a page at 100 agents", async () => {
      for (let i = 0; i < 105; i++) await insertAgent(db, agent(`many-${String(i).padStart(3, "0")}`));
      const page = await registry.list(1_000, "");
      expect(page.agents).toHaveLength(100);
      expect(page.nextPageToken).not.toBe("");
      expect((await registry.list(1_000, page.nextPageToken)).agents).toHaveLength(
        105 + SEED_AGENTS.length - 100,
      );
    });

    it("keyset paging: agents added or removed meanwhile neither repeat nor shift the rest", async () => {
      for (const id of ["b", "d", "f", "h"]) await insertAgent(db, agent(id));
      const first = await registry.list(2, "");
      expect(first.agents.map((a) => a.id)).toEqual(["b", "d"]);

      // Before the cursor: not on a later page, and they push nothing back onto it.
      await insertAgent(db, agent("a"));
      await insertAgent(db, agent("c"));
      await db.query("DELETE FROM agents WHERE id = 'b'"); // already listed: pulls nothing forward
      await insertAgent(db, agent("e")); // after the cursor: listed in its place
      const rest = await walk(registry, 2, first.nextPageToken);
      expect(rest.ids).toEqual(["e", "f", "h", ...SEED_AGENTS.map((a) => a.id)].sort());
    });

    it("refuses a token this list did not issue, and a negative page size", async () => {
      const forged = [
        "not base64!",
        Buffer.from("{").toString("base64url"),
        encodePageToken("chat.threads", "support-assistant"), // another list's token
        encodePageToken("agent.agents", 42), // not an agent id
        encodePageToken("agent.agents", "bad id"),
        "x".repeat(2_000),
      ];
      for (const token of forged)
        expect(await codeOf(registry.list(10, token)), token).toBe(Code.InvalidArgument);
      expect(await codeOf(registry.list(-1, ""))).toBe(Code.InvalidArgument);
      expect(await codeOf(registry.list(1.5, ""))).toBe(Code.InvalidArgument);
    });
  });
});
