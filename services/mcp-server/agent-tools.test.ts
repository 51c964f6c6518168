import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditRecord } from "./data/audit-log.js";
import {
  ADMIN,
  errorText,
  type Harness,
  initializeBody,
  startHarness,
  structured,
} from "./testing/harness.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

const READER_TOOLS = ["search_tickets", "get_ticket", "list_tickets", "get_ticket_stats"];
// RFC 8693 §4.1: the current actor (the gateway) outermost, the agent service that ran the agent inside.
const CHAIN = { sub: "mcp-gateway", act: { sub: "agent", agent: "ticket-reader" } };
const STORED_CHAIN = [{ sub: "mcp-gateway" }, { sub: "agent", agent: "ticket-reader" }];

/**
 * An agent whose allow-list is narrower than its user's scopes: the admin holds every scope (and the
 * token carries them all), but the agent may call only the four read tools.
 */
const readerToken = (tools: string[] = READER_TOOLS) =>
  h.token(ADMIN, {
    act: CHAIN,
    authorization_details: [{ type: "agent_tools", agent: "ticket-reader", tools }],
  });

async function auditRows(where: string, params: unknown[] = []) {
  const { rows } = await h.db.query<AuditRecord & Record<string, unknown>>(
    `SELECT user_id, email, actor_sub, actor_agent, actor_chain, tool, outcome, error_code, error
     FROM audit_log WHERE ${where} ORDER BY seq`,
    params,
  );
  return rows;
}

describe("the acting agent's allow-list, decided and audited here", () => {
  it("tools/list shows only tools allowed by scope AND by the agent", async () => {
    const client = await h.connect(await readerToken());
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([...READER_TOOLS].sort());
    // An allow-list naming a tool the scopes do not grant does not show it either.
    const narrow = await h.connect(
      await h.token(ADMIN, {
        scope: "tickets:read",
        act: CHAIN,
        authorization_details: [
          { type: "agent_tools", agent: "ticket-reader", tools: ["get_ticket", "delete_ticket"] },
        ],
      }),
    );
    expect((await narrow.listTools()).tools.map((t) => t.name)).toEqual(["get_ticket"]);
    // The user's own token (no agent) is narrowed by scopes only.
    const own = await h.connect(await h.token(ADMIN));
    expect((await own.listTools()).tools).toHaveLength(13);
  });

  it("refuses a tool outside the list (agent_not_allowed) with exactly one audit row naming the user, chain and agent", async () => {
    const admin = await h.connect(await h.token(ADMIN));
    const ticket = structured<{ ticket: { id: number } }>(
      await admin.callTool({ name: "create_ticket", arguments: { title: "Keep me" } }),
    ).ticket;
    const before = await h.count("SELECT count(*)::int AS n FROM audit_log");

    const client = await h.connect(await readerToken());
    const result = await client.callTool({ name: "delete_ticket", arguments: { ticket_id: ticket.id } });
    expect(errorText(result)).toBe('agent_not_allowed: agent "ticket-reader" may not call delete_ticket');

    expect(await h.count("SELECT count(*)::int AS n FROM audit_log")).toBe(before + 1);
    const [row] = await auditRows("seq > $1", [before]);
    expect(row).toEqual({
      user_id: ADMIN.sub,
      email: ADMIN.email,
      actor_sub: "mcp-gateway",
      actor_agent: "ticket-reader",
      actor_chain: STORED_CHAIN,
      tool: "delete_ticket",
      outcome: "refused",
      error_code: "agent_not_allowed",
      error: 'agent "ticket-reader" may not call delete_ticket',
    });
    // Nothing happened to the ticket.
    expect(
      await h.count("SELECT count(*)::int AS n FROM tickets WHERE id = $1 AND deleted_at IS NULL", [
        ticket.id,
      ]),
    ).toBe(1);
    expect(h.logs.records().some((l) => l.msg === "tool delete_ticket refused: agent_not_allowed")).toBe(
      true,
    );
  });

  it("answers a refused single call as a tool error, not a step-up 403, even when the scope is missing too", async () => {
    // The agent may not delete and the token lacks tickets:delete: no scope would help, so no challenge.
    const token = await h.token(ADMIN, {
      scope: "tickets:read",
      act: CHAIN,
      authorization_details: [{ type: "agent_tools", agent: "ticket-reader", tools: READER_TOOLS }],
    });
    const before = await h.count("SELECT count(*)::int AS n FROM audit_log");
    const res = await h.post(
      {
        jsonrpc: "2.0",
        id: 7,
        method: "tools/call",
        params: { name: "delete_ticket", arguments: { ticket_id: 1 } },
      },
      { authorization: `Bearer ${token}`, "mcp-protocol-version": "2025-11-25" },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("www-authenticate")).toBeNull();
    const body = (await res.json()) as { result: { isError: boolean; content: { text: string }[] } };
    expect(body.result.isError).toBe(true);
    expect(body.result.content[0]?.text).toMatch(/^agent_not_allowed: /);
    expect(await h.count("SELECT count(*)::int AS n FROM audit_log WHERE seq > $1", [before])).toBe(1);
    // A tool the agent may call but the token's scopes don't cover is still the step-up 403.
    const stepUp = await h.post(
      {
        jsonrpc: "2.0",
        id: 8,
        method: "tools/call",
        params: { name: "create_ticket", arguments: { title: "No" } },
      },
      {
        authorization: `Bearer ${await h.token(ADMIN, {
          scope: "tickets:read",
          act: CHAIN,
          authorization_details: [{ type: "agent_tools", agent: "ticket-reader", tools: ["create_ticket"] }],
        })}`,
        "mcp-protocol-version": "2025-11-25",
      },
    );
    expect(stepUp.status).toBe(403);
    expect(stepUp.headers.get("www-authenticate")).toMatch(/insufficient_scope/);
  });

  it("serves the allowed tools, auditing the chain, and logs it on the authenticated line", async () => {
    const before = await h.count("SELECT count(*)::int AS n FROM audit_log");
    const client = await h.connect(await readerToken());
    structured(await client.callTool({ name: "list_tickets", arguments: {} }));
    const rows = await auditRows("seq > $1", [before]);
    expect(rows).toEqual([
      expect.objectContaining({
        tool: "list_tickets",
        outcome: "ok",
        actor_agent: "ticket-reader",
        actor_chain: STORED_CHAIN,
      }),
    ]);
    const line = h.logs
      .records()
      .find((l) => l.msg === `MCP tool authenticated for user ${ADMIN.sub}` && l.agent === "ticket-reader");
    expect(line).toMatchObject({ actor_chain: "mcp-gateway ← agent(ticket-reader)", agent: "ticket-reader" });
    // A user's own token: the same line, without chain fields.
    await (await h.connect(await h.token(ADMIN))).listTools();
    const own = h.logs
      .records()
      .filter((l) => l.msg === `MCP tool authenticated for user ${ADMIN.sub}`)
      .at(-1);
    expect(own).not.toHaveProperty("actor_chain");
    expect(own).not.toHaveProperty("agent");
  });

  it("an empty allow-list lists nothing and refuses everything; the same user through another agent is another session owner", async () => {
    const none = await h.connect(await readerToken([]));
    expect((await none.listTools()).tools).toEqual([]);
    expect(errorText(await none.callTool({ name: "list_tickets", arguments: {} }))).toMatch(
      /^agent_not_allowed: /,
    );

    // A session opened through one chain is not usable through another (the whole chain owns it).
    const init = await h.post(initializeBody(), { authorization: `Bearer ${await readerToken()}` });
    const sid = init.headers.get("mcp-session-id") as string;
    const other = await h.token(ADMIN, {
      act: { sub: "mcp-gateway", act: { sub: "agent", agent: "support-assistant" } },
      authorization_details: [{ type: "agent_tools", agent: "support-assistant", tools: READER_TOOLS }],
    });
    const res = await h.post(
      { jsonrpc: "2.0", id: 2, method: "tools/list" },
      { authorization: `Bearer ${other}`, "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25" },
    );
    expect(res.status).toBe(403);
  });
});
