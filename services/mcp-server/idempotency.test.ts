import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IDEMPOTENCY_META_KEY } from "#kit/propagation/index.js";
import { sweepKeys } from "./data/idempotency-keys.js";
import {
  AGENT_SCOPES,
  errorText,
  type Harness,
  startHarness,
  structured,
  type TestUser,
} from "./testing/harness.js";

let h: Harness;
const user = (sub: string): TestUser => ({
  sub,
  email: `${sub}@company.com`,
  roles: ["support_agent"],
  scope: AGENT_SCOPES,
});
const ALICE = user("u-idem-alice");
const BOB = user("u-idem-bob");
let alice: Client;
let bob: Client;

beforeAll(async () => {
  h = await startHarness();
  alice = await h.connect(await h.token(ALICE));
  bob = await h.connect(await h.token(BOB));
});
afterAll(() => h.close());

const keyed = (key: string) => ({ _meta: { [IDEMPOTENCY_META_KEY]: key } });
const create = (client: Client, key: string, title: string) =>
  client.callTool({ name: "create_ticket", arguments: { title, priority: "high" }, ...keyed(key) });

async function ticketsTitled(title: string): Promise<number> {
  const { rows } = await h.db.query<{ n: number }>("SELECT count(*) AS n FROM tickets WHERE title = $1", [
    title,
  ]);
  return rows[0]?.n ?? -1;
}

async function auditRows(title: string) {
  const { rows } = await h.db.query<{ outcome: string; error_code: string | null }>(
    "SELECT outcome, error_code FROM audit_log WHERE tool = 'create_ticket' AND arguments->>'title' = $1 ORDER BY seq",
    [title],
  );
  return rows;
}

describe("idempotency keys (docs/mcp-server.md)", () => {
  it("answers a repeat of a key with the first result and changes nothing twice", async () => {
    const first = await create(alice, "turn-1:call_0", "Idem printer jam");
    const again = await create(alice, "turn-1:call_0", "Idem printer jam");
    expect(first.isError).toBeFalsy();
    expect(again).toEqual(first);
    expect(await ticketsTitled("Idem printer jam")).toBe(1);
    // One row per decision: the change, then the replay (which changed nothing).
    expect(await auditRows("Idem printer jam")).toEqual([
      { outcome: "ok", error_code: null },
      { outcome: "ok", error_code: "replayed" },
    ]);
    const { rows } = await h.db.query<{
      user_id: string;
      tool: string;
      result: { structuredContent: unknown };
    }>("SELECT user_id, tool, result FROM idempotency_keys WHERE key = 'turn-1:call_0'");
    expect(rows).toEqual([{ user_id: ALICE.sub, tool: "create_ticket", result: expect.anything() }]);
    expect(rows[0]?.result.structuredContent).toEqual(first.structuredContent);
  });

  it("refuses the key for a different call, and the refusal changes nothing", async () => {
    await create(alice, "turn-2:call_0", "Idem first call");
    const other = await create(alice, "turn-2:call_0", "Idem another call");
    expect(other.isError).toBe(true);
    expect(errorText(other)).toBe("invalid_arguments: idempotency key reused for a different call");
    const otherTool = await alice.callTool({
      name: "update_ticket_status",
      arguments: { ticket_id: 1, status: "closed" },
      ...keyed("turn-2:call_0"),
    });
    expect(errorText(otherTool)).toBe("invalid_arguments: idempotency key reused for a different call");
    expect(await ticketsTitled("Idem another call")).toBe(0);
  });

  it("scopes keys to the verified user: the same key from another user is another call", async () => {
    const a = await create(alice, "shared-key", "Idem alice's ticket");
    const b = await create(bob, "shared-key", "Idem bob's ticket");
    expect(b.isError).toBeFalsy();
    expect(structured<{ ticket: { created_by: string } }>(b).ticket.created_by).toBe(BOB.sub);
    expect(structured<{ ticket: { created_by: string } }>(a).ticket.created_by).toBe(ALICE.sub);
    expect(await ticketsTitled("Idem bob's ticket")).toBe(1);
  });

  it("scopes keys to the agent acting for the user: the same user's other agent, or their own client, is another call", async () => {
    const actingFor = async (agent: string) =>
      h.connect(await h.token(ALICE, { act: { sub: "mcp-gateway", act: { sub: "agent", agent } } }));
    const assistant = await actingFor("support-assistant");
    const other = await actingFor("ops-assistant");
    const first = await create(assistant, "turn-7:call_0", "Idem assistant's ticket");
    // The same agent's repeat is a replay...
    expect(await create(assistant, "turn-7:call_0", "Idem assistant's ticket")).toEqual(first);
    // ...the same key from another agent of the same user, or from the user alone, is not: each
    // is its own call, never handed the first agent's stored answer.
    const byOther = await create(other, "turn-7:call_0", "Idem assistant's ticket");
    const byUser = await create(alice, "turn-7:call_0", "Idem assistant's ticket");
    const idOf = (r: typeof first) => structured<{ ticket: { id: number } }>(r).ticket.id;
    expect(new Set([idOf(first), idOf(byOther), idOf(byUser)]).size).toBe(3);
    expect(await ticketsTitled("Idem assistant's ticket")).toBe(3);
    const { rows } = await h.db.query<{ agent_id: string }>(
      "SELECT agent_id FROM idempotency_keys WHERE key = 'turn-7:call_0' ORDER BY agent_id",
    );
    expect(rows.map((r) => r.agent_id)).toEqual(["", "ops-assistant", "support-assistant"]);
  });

  it("a key stored before keys named their agent answers the user's repeat from any agent until it expires", async () => {
    const agentClient = await h.connect(
      await h.token(ALICE, {
        act: { sub: "mcp-gateway", act: { sub: "agent", agent: "support-assistant" } },
      }),
    );
    const first = await create(agentClient, "turn-8:call_0", "Idem before the upgrade");
    // As migration 0011 leaves a row written before it.
    await h.db.query("UPDATE idempotency_keys SET agent_id = '*' WHERE key = 'turn-8:call_0'");
    expect(await create(agentClient, "turn-8:call_0", "Idem before the upgrade")).toEqual(first);
    expect(await create(alice, "turn-8:call_0", "Idem before the upgrade")).toEqual(first);
    expect(await ticketsTitled("Idem before the upgrade")).toBe(1);
    // Another call under it is refused as a reuse, as before.
    expect(errorText(await create(agentClient, "turn-8:call_0", "Idem other"))).toBe(
      "invalid_arguments: idempotency key reused for a different call",
    );
    // Expired, it answers nothing: the key names a new call of this agent.
    await h.db.query(
      "UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'turn-8:call_0'",
    );
    expect((await create(agentClient, "turn-8:call_0", "Idem before the upgrade")).isError).toBeFalsy();
    expect(await ticketsTitled("Idem before the upgrade")).toBe(2);
  });

  it("concurrent duplicates of one key make one change and all get its result", async () => {
    const results = await Promise.all(
      Array.from({ length: 12 }, () => create(alice, "turn-3:call_0", "Idem concurrent")),
    );
    expect(await ticketsTitled("Idem concurrent")).toBe(1);
    const ids = new Set(results.map((r) => structured<{ ticket: { id: number } }>(r).ticket.id));
    expect(ids.size).toBe(1);
    const outcomes = (await auditRows("Idem concurrent")).map((r) => r.error_code);
    expect(outcomes.filter((c) => c === null)).toHaveLength(1);
    expect(outcomes.filter((c) => c === "replayed")).toHaveLength(11);
  });

  it("a failed keyed write stores no key: the same key may run again", async () => {
    const missing = await alice.callTool({
      name: "update_ticket_status",
      arguments: { ticket_id: 999_999, status: "closed" },
      ...keyed("turn-4:call_0"),
    });
    expect(errorText(missing)).toMatch(/^not_found: /);
    const { rows } = await h.db.query("SELECT 1 FROM idempotency_keys WHERE key = 'turn-4:call_0'");
    expect(rows).toHaveLength(0);
  });

  it("reads ignore keys; a malformed key is refused before anything runs", async () => {
    const read = await alice.callTool({ name: "list_tickets", arguments: {}, ...keyed("turn-5:call_0") });
    expect(read.isError).toBeFalsy();
    const { rows } = await h.db.query("SELECT 1 FROM idempotency_keys WHERE key = 'turn-5:call_0'");
    expect(rows).toHaveLength(0);
    const long = await create(alice, "k".repeat(201), "Idem long key");
    expect(errorText(long)).toMatch(
      /^invalid_arguments: _meta "io.support-ext\/idempotency-key": must be 1–200/,
    );
    expect(await ticketsTitled("Idem long key")).toBe(0);
  });

  it("expired keys answer nothing and are swept", async () => {
    await create(alice, "turn-6:call_0", "Idem old call");
    await h.db.query(
      "UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'turn-6:call_0'",
    );
    // Past its 24 hours the key names a new call (an expired row is taken over, not replayed).
    const later = await create(alice, "turn-6:call_0", "Idem new call");
    expect(later.isError).toBeFalsy();
    expect(await ticketsTitled("Idem new call")).toBe(1);
    await h.db.query(
      "UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'turn-6:call_0'",
    );
    expect(await sweepKeys(h.db)).toBeGreaterThanOrEqual(1);
    const { rows } = await h.db.query("SELECT 1 FROM idempotency_keys WHERE key = 'turn-6:call_0'");
    expect(rows).toHaveLength(0);
  });
});
