import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TOOL_NAMES } from "#kit/contract/index.js";
import { createToolCatalog } from "./mcp/tool-catalog.js";
import {
  ADMIN,
  AGENT,
  errorText,
  type Harness,
  startHarness,
  structured,
  VIEWER,
} from "./testing/harness.js";
import { ALL_TOOLS } from "./tools/all-tools.js";

let h: Harness;
let admin: Client;
const GATEWAY_ACT = { sub: "mcp-gateway", agent: "support-assistant" };

beforeAll(async () => {
  h = await startHarness();
  // It says yes to the question delete_ticket asks (docs/mcp-server.md, "Confirmation before destruction").
  admin = await h.connect(await h.token(ADMIN, { act: GATEWAY_ACT }), { confirm: true });
});
afterAll(() => h.close());

interface TicketOut {
  id: number;
  title: string;
  status: string;
  priority: string;
  category: string;
  assignee: { id: string; email: string } | null;
  created_by: string;
  updated_by: string;
  source: string;
}

const READ_TOOLS = [
  "search_tickets",
  "get_ticket",
  "list_tickets",
  "get_ticket_stats",
  "list_integrations",
  "get_active_integrations",
];

describe("scopes → tools (docs/mcp-server.md)", () => {
  it("each tool needs exactly the scope of the design's table", () => {
    const table: Record<string, string[]> = {
      "tickets:read": ["search_tickets", "get_ticket", "list_tickets", "get_ticket_stats"],
      "tickets:write": [
        "create_ticket",
        "update_ticket",
        "update_ticket_status",
        "assign_ticket",
        "create_ticket_with_ai",
      ],
      "tickets:delete": ["delete_ticket"],
      "integrations:read": ["list_integrations", "get_active_integrations"],
      "system:read": ["get_system_health"],
    };
    const actual: Record<string, string[]> = {};
    const catalog = createToolCatalog(ALL_TOOLS);
    for (const t of ALL_TOOLS) {
      const scope = catalog.scopeOf(t.name) as string;
      actual[scope] = [...(actual[scope] ?? []), t.name];
    }
    for (const names of Object.values(actual)) names.sort();
    for (const names of Object.values(table)) names.sort();
    expect(actual).toEqual(table);
    expect(ALL_TOOLS).toHaveLength(13);
    expect(ALL_TOOLS.map((t) => t.name).sort()).toEqual([...TOOL_NAMES].sort());
  });

  it("tools/list shows an admin all 13 tools, with input and output schemas", async () => {
    const { tools } = await admin.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(ALL_TOOLS.map((t) => t.name).sort());
    for (const t of tools) {
      expect(t.inputSchema.type).toBe("object");
      expect(t.outputSchema?.type).toBe("object");
    }
    const create = tools.find((t) => t.name === "create_ticket");
    expect(create?.inputSchema.properties?.title).toMatchObject({
      type: "string",
      minLength: 3,
      maxLength: 200,
    });
    expect(create?.inputSchema.additionalProperties).toBe(false);
  });

  it("a viewer sees exactly the 6 read tools and is refused the 7 others with insufficient_scope", async () => {
    const viewer = await h.connect(await h.token(VIEWER));
    const { tools } = await viewer.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([...READ_TOOLS].sort());
    const before = await h.count("SELECT count(*) AS n FROM tickets");
    const others = ALL_TOOLS.map((t) => t.name).filter((n) => !READ_TOOLS.includes(n));
    expect(others).toHaveLength(7);
    for (const name of others) {
      const err = (await viewer
        .callTool({ name, arguments: {} })
        .catch((e: unknown) => e)) as StreamableHTTPError;
      expect(err, name).toBeInstanceOf(StreamableHTTPError);
      expect(err.code).toBe(403);
      expect(err.message).toContain(`insufficient_scope: ${name} requires scope`);
    }
    // Refused, audited with the viewer's identity, nothing ran.
    expect(await h.count("SELECT count(*) AS n FROM tickets")).toBe(before);
    const { rows } = await h.db.query<{
      tool: string;
      user_id: string;
      email: string;
      outcome: string;
      error_code: string;
    }>("SELECT tool, user_id, email, outcome, error_code FROM audit_log WHERE user_id = $1 ORDER BY id", [
      VIEWER.sub,
    ]);
    expect(rows.map((r) => r.tool).sort()).toEqual([...others].sort());
    for (const r of rows) {
      expect(r).toMatchObject({
        user_id: VIEWER.sub,
        email: VIEWER.email,
        outcome: "refused",
        error_code: "insufficient_scope",
      });
    }
    // Its read tools work.
    expect(structured(await viewer.callTool({ name: "list_integrations", arguments: {} }))).toHaveProperty(
      "integrations",
    );
  });

  it("the 403 carries a step-up challenge naming the missing scope", async () => {
    const viewerToken = await h.token(VIEWER);
    const init = await h.post(
      {
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } },
      },
      { authorization: `Bearer ${viewerToken}` },
    );
    const sessionId = init.headers.get("mcp-session-id") ?? "";
    const res = await h.post(
      {
        jsonrpc: "2.0",
        id: 7,
        method: "tools/call",
        params: { name: "delete_ticket", arguments: { ticket_id: 1 } },
      },
      {
        authorization: `Bearer ${viewerToken}`,
        "mcp-session-id": sessionId,
        "mcp-protocol-version": "2025-11-25",
      },
    );
    expect(res.status).toBe(403);
    const challenge = res.headers.get("www-authenticate") ?? "";
    expect(challenge).toMatch(/^Bearer error="insufficient_scope", scope="tickets:delete"/);
    expect(challenge).toContain(
      `resource_metadata="${h.server.url}/.well-known/oauth-protected-resource/mcp"`,
    );
    const body = (await res.json()) as { id: number; error: { message: string; data: { scope: string } } };
    expect(body.id).toBe(7);
    expect(body.error.data.scope).toBe("tickets:delete");
  });

  it("a support agent sees 12 tools and may not delete", async () => {
    const agent = await h.connect(await h.token(AGENT));
    const { tools } = await agent.listTools();
    expect(tools).toHaveLength(12);
    expect(tools.map((t) => t.name)).not.toContain("delete_ticket");
    const err = (await agent
      .callTool({ name: "delete_ticket", arguments: { ticket_id: 1 } })
      .catch((e: unknown) => e)) as StreamableHTTPError;
    expect(err.code).toBe(403);
  });
});

describe("every tool, called by an admin through the gateway", () => {
  it("succeeds, and writes one audit row per call naming the admin, the gateway and the agent", async () => {
    const call = async (name: string, args: Record<string, unknown>) =>
      structured(await admin.callTool({ name, arguments: args }));
    const auditBefore = await h.count("SELECT count(*) AS n FROM audit_log WHERE user_id = $1", [ADMIN.sub]);

    const created = (await call("create_ticket", {
      title: "Printer on fire",
      description: "Third floor printer smokes",
      priority: "high",
      category: "hardware",
    })) as { ticket: TicketOut };
    const id = created.ticket.id;
    expect(created.ticket).toMatchObject({
      status: "open",
      priority: "high",
      created_by: ADMIN.sub,
      updated_by: ADMIN.sub,
      source: "manual",
    });

    expect(((await call("get_ticket", { ticket_id: id })) as { ticket: TicketOut }).ticket.title).toBe(
      "Printer on fire",
    );
    const updated = (await call("update_ticket", {
      ticket_id: id,
      priority: "urgent",
      title: "Printer on fire (3rd floor)",
    })) as {
      ticket: TicketOut;
      changed: string[];
    };
    expect(updated.changed.sort()).toEqual(["priority", "title"]);
    expect(updated.ticket.priority).toBe("urgent");
    const moved = (await call("update_ticket_status", { ticket_id: id, status: "in_progress" })) as {
      ticket: TicketOut;
      previous_status: string;
    };
    expect(moved).toMatchObject({ previous_status: "open", ticket: { status: "in_progress" } });
    const assigned = (await call("assign_ticket", { ticket_id: id, assignee: "agent@company.com" })) as {
      ticket: TicketOut;
    };
    expect(assigned.ticket.assignee?.email).toBe("agent@company.com");
    const found = (await call("search_tickets", { query: "printer" })) as {
      total: number;
      tickets: TicketOut[];
    };
    expect(found.tickets.map((t) => t.id)).toContain(id);
    const listed = (await call("list_tickets", { status: "in_progress", order_by: "priority" })) as {
      tickets: TicketOut[];
    };
    expect(listed.tickets.map((t) => t.id)).toContain(id);
    const stats = (await call("get_ticket_stats", {})) as {
      total: number;
      by_status: Record<string, number>;
    };
    expect(stats.by_status.in_progress).toBeGreaterThanOrEqual(1);
    const ai = (await call("create_ticket_with_ai", {
      text: "The VPN is down for the whole office, please fix ASAP",
    })) as {
      ticket: TicketOut;
      triage: { category: string; priority: string; provider: string };
    };
    expect(ai.ticket).toMatchObject({
      category: "network",
      priority: "urgent",
      source: "ai",
      created_by: ADMIN.sub,
    });
    expect(ai.triage.provider).toBe("embedded");
    const integrations = (await call("list_integrations", {})) as {
      integrations: { id: string; enabled: boolean; health: string }[];
    };
    expect(integrations.integrations.map((i) => i.id).sort()).toEqual([
      "email",
      "github",
      "jira",
      "pagerduty",
      "slack",
      "zendesk",
    ]);
    const active = (await call("get_active_integrations", {})) as {
      integrations: { id: string }[];
      unhealthy: string[];
      all_healthy: boolean;
    };
    expect(active.integrations.map((i) => i.id).sort()).toEqual(["email", "jira", "pagerduty", "slack"]);
    expect(active).toMatchObject({ all_healthy: false, unhealthy: ["jira"] });
    const health = (await call("get_system_health", {})) as {
      status: string;
      database: { reachable: boolean; ping_ms: number; kind: string };
      versions: Record<string, string>;
      uptime_seconds: number;
      memory: { rss_bytes: number };
      sessions: { active: number };
    };
    expect(health.status).toBe("ok");
    expect(health.database.reachable).toBe(true);
    expect(health.database.ping_ms).toBeGreaterThan(0);
    expect(health.database.kind).toBe(process.env.DATABASE_URL ? "postgres" : "pglite");
    expect(health.versions).toMatchObject({
      mcp_sdk: "2.4.0",
      node: process.versions.node,
      mcp_protocol: "2026-07-28, 2025-11-25, 2025-06-18, 2025-03-26, 2024-11-05, 2024-10-07",
    });
    expect(health.memory.rss_bytes).toBeGreaterThan(0);
    expect(health.sessions.active).toBeGreaterThanOrEqual(1);
    expect(await call("delete_ticket", { ticket_id: id, reason: "duplicate" })).toEqual({
      ticket_id: id,
      deleted: true,
      mode: "soft",
    });

    // Data, not just success: the rows name the caller from the token.
    const { rows: tickets } = await h.db.query<{
      created_by: string;
      updated_by: string;
      deleted_by: string;
      assignee_id: string;
    }>("SELECT created_by, updated_by, deleted_by, assignee_id FROM tickets WHERE id = $1", [id]);
    expect(tickets[0]).toMatchObject({
      created_by: ADMIN.sub,
      updated_by: ADMIN.sub,
      deleted_by: ADMIN.sub,
      assignee_id: AGENT.sub,
    });
    const { rows: audit } = await h.db.query<{
      tool: string;
      user_id: string;
      email: string;
      actor_sub: string;
      actor_agent: string;
      outcome: string;
      anonymous: boolean;
      trace_id: string;
      session_id: string;
      duration_ms: number;
    }>("SELECT * FROM audit_log WHERE user_id = $1 ORDER BY id", [ADMIN.sub]);
    const rows = audit.slice(auditBefore);
    expect(rows.map((r) => r.tool)).toEqual([
      "create_ticket",
      "get_ticket",
      "update_ticket",
      "update_ticket_status",
      "assign_ticket",
      "search_tickets",
      "list_tickets",
      "get_ticket_stats",
      "create_ticket_with_ai",
      "list_integrations",
      "get_active_integrations",
      "get_system_health",
      "delete_ticket",
    ]);
    for (const r of rows) {
      expect(r).toMatchObject({
        user_id: ADMIN.sub,
        email: ADMIN.email,
        actor_sub: "mcp-gateway",
        actor_agent: "support-assistant",
        outcome: "ok",
        anonymous: false,
        session_id: admin.transport && (admin.transport as { sessionId?: string }).sessionId,
      });
      expect(r.trace_id).toMatch(/^[0-9a-f]{32}$/);
      expect(r.duration_ms).toBeGreaterThanOrEqual(0);
    }
    // The deleted ticket is gone for every tool.
    expect(errorText(await admin.callTool({ name: "get_ticket", arguments: { ticket_id: id } }))).toMatch(
      /^not_found: ticket \d+ does not exist/,
    );
  });

  it("logs the authenticated line and tool lines carrying user, trace and request ids", async () => {
    const records = h.logs.records();
    expect(
      records.some((r) => r.msg === `MCP tool authenticated for user ${ADMIN.sub}` && r.level === "info"),
    ).toBe(true);
    const toolLine = records.find((r) => r.msg === "tool create_ticket ok");
    expect(toolLine).toMatchObject({
      user_id: ADMIN.sub,
      // The delegation chain as the verified token states it (docs/architecture.md).
      actor: "mcp-gateway(support-assistant)",
      tool: "create_ticket",
      outcome: "ok",
    });
    expect(toolLine?.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(typeof toolLine?.request_id).toBe("string");
    expect(h.logs.lines.join("\n")).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ/);
  });
});

describe("ticket behaviour", () => {
  const create = async (title: string, extra: Record<string, unknown> = {}) =>
    (
      (await structured(await admin.callTool({ name: "create_ticket", arguments: { title, ...extra } }))) as {
        ticket: TicketOut;
      }
    ).ticket;

  it("refuses a closed → in_progress jump, allows a reopen, and refuses a no-op", async () => {
    const t = await create("Transition check");
    const status = (s: string) =>
      admin.callTool({ name: "update_ticket_status", arguments: { ticket_id: t.id, status: s } });
    structured(await status("closed"));
    expect(errorText(await status("in_progress"))).toBe(
      `invalid_transition: ticket ${t.id} cannot go from closed to in_progress; from closed it can go to: open`,
    );
    expect(structured(await status("open"))).toMatchObject({
      previous_status: "closed",
      ticket: { status: "open" },
    });
    expect(errorText(await status("open"))).toBe(`invalid_transition: ticket ${t.id} is already open`);
    const { rows } = await h.db.query<{ status: string }>("SELECT status FROM tickets WHERE id = $1", [t.id]);
    expect(rows[0]?.status).toBe("open");
  });

  it('assigns only to known users, by email, id or "me", and unassigns with null', async () => {
    const t = await create("Assignment check");
    const assign = (assignee: string | null) =>
      admin.callTool({ name: "assign_ticket", arguments: { ticket_id: t.id, assignee } });
    expect(errorText(await assign("nobody@example.com"))).toMatch(
      /^unknown_user: no known user "nobody@example.com".*admin@company\.com/,
    );
    expect((structured(await assign("me")) as { ticket: TicketOut }).ticket.assignee?.id).toBe(ADMIN.sub);
    expect((structured(await assign(null)) as { ticket: TicketOut }).ticket.assignee).toBeNull();
    expect(
      (structured(await assign("AGENT@company.com")) as { ticket: TicketOut }).ticket.assignee?.email,
    ).toBe("agent@company.com");
  });

  it("a seeded user's placeholder becomes their real id when their first token arrives, assignments included", async () => {
    // A seeded directory entry nobody has signed in as yet (the three design seeds are all in use
    // by earlier tests of this file).
    await h.db.query(
      "INSERT INTO users (id, email, display_name, source) VALUES ('seed:newhire@company.com', 'newhire@company.com', 'New Hire', 'seed')",
    );
    const t = await create("Re-key check", { assignee: "newhire@company.com" });
    expect(t.assignee?.id).toBe("seed:newhire@company.com");
    const newHire = {
      sub: "u-newhire-0001",
      email: "NewHire@company.com",
      roles: ["viewer"],
      scope: VIEWER.scope,
    };
    const client = await h.connect(await h.token(newHire));
    const seen = structured(
      await client.callTool({ name: "get_ticket", arguments: { ticket_id: t.id } }),
    ) as { ticket: TicketOut };
    expect(seen.ticket.assignee).toEqual({ id: newHire.sub, email: "newhire@company.com", name: "New Hire" });
    expect(await h.count("SELECT count(*) AS n FROM users WHERE lower(email) = 'newhire@company.com'")).toBe(
      1,
    );
    // The design's seeds were claimed the same way by the viewer and agent tokens above.
    const { rows } = await h.db.query<{ id: string; source: string }>(
      "SELECT id, source FROM users WHERE email = 'viewer@company.com'",
    );
    expect(rows).toEqual([{ id: VIEWER.sub, source: "token" }]);
  });

  it("searches title and description with filters and paging, title hits first", async () => {
    const tag = `zebra${Date.now()}`;
    const a = await create(`Alpha ${tag}`, { priority: "low" });
    const b = await create("Beta", { description: `mentions ${tag} in the body`, priority: "high" });
    const c = await create(`Gamma ${tag}`, { priority: "high" });
    const all = structured(await admin.callTool({ name: "search_tickets", arguments: { query: tag } })) as {
      total: number;
      tickets: TicketOut[];
    };
    expect(all.total).toBe(3);
    expect(all.tickets.at(-1)?.id).toBe(b.id);
    const high = structured(
      await admin.callTool({ name: "search_tickets", arguments: { query: tag, priority: "high" } }),
    ) as { tickets: TicketOut[] };
    expect(high.tickets.map((t) => t.id).sort()).toEqual([b.id, c.id].sort());
    const page = structured(
      await admin.callTool({ name: "search_tickets", arguments: { query: tag, limit: 1, offset: 1 } }),
    ) as {
      total: number;
      tickets: TicketOut[];
      limit: number;
    };
    expect(page).toMatchObject({ total: 3, limit: 1 });
    expect(page.tickets).toHaveLength(1);
    expect(
      structured(await admin.callTool({ name: "search_tickets", arguments: { query: `#${a.id}` } })),
    ).toMatchObject({ total: 1 });
    // LIKE wildcards in the query match literally.
    expect(
      structured(await admin.callTool({ name: "search_tickets", arguments: { query: "%" } })),
    ).toMatchObject({ total: 0 });
  });

  it('lists with filters, order and paging, including "me" and unassigned', async () => {
    const mine = await create("Mine to do", { assignee: "me", category: "billing" });
    const byPriority = structured(
      await admin.callTool({
        name: "list_tickets",
        arguments: { order_by: "priority", order: "desc", limit: 100 },
      }),
    ) as { tickets: TicketOut[] };
    const ranks = byPriority.tickets.map((t) => ["low", "medium", "high", "urgent"].indexOf(t.priority));
    expect(ranks).toEqual([...ranks].sort((x, y) => y - x));
    const assignedToMe = structured(
      await admin.callTool({ name: "list_tickets", arguments: { assignee: "me" } }),
    ) as { tickets: TicketOut[] };
    expect(assignedToMe.tickets.map((t) => t.id)).toContain(mine.id);
    expect(assignedToMe.tickets.every((t) => t.assignee?.id === ADMIN.sub)).toBe(true);
    const unassigned = structured(
      await admin.callTool({ name: "list_tickets", arguments: { assignee: "none" } }),
    ) as { tickets: TicketOut[] };
    expect(unassigned.tickets.every((t) => t.assignee === null)).toBe(true);
    const billing = structured(
      await admin.callTool({ name: "list_tickets", arguments: { category: ["billing"], created_by: "me" } }),
    ) as {
      tickets: TicketOut[];
    };
    expect(billing.tickets.map((t) => t.id)).toEqual([mine.id]);
  });

  it("counts tickets by status, priority, category and assignee, zero-filled", async () => {
    const stats = structured(await admin.callTool({ name: "get_ticket_stats", arguments: {} })) as {
      total: number;
      active: number;
      by_status: Record<string, number>;
      by_priority: Record<string, number>;
      by_assignee: { assignee_id: string | null; count: number }[];
    };
    const live = await h.count("SELECT count(*) AS n FROM tickets WHERE deleted_at IS NULL");
    expect(stats.total).toBe(live);
    expect(Object.values(stats.by_status).reduce((a, b) => a + b, 0)).toBe(live);
    expect(Object.keys(stats.by_priority).sort()).toEqual(["high", "low", "medium", "urgent"]);
    expect(stats.by_assignee.reduce((a, b) => a + b.count, 0)).toBe(live);
    const future = structured(
      await admin.callTool({ name: "get_ticket_stats", arguments: { since: "2999-01-01T00:00:00Z" } }),
    );
    expect(future).toMatchObject({ total: 0, since: "2999-01-01T00:00:00.000Z" });
  });

  it("counts every breakdown on one snapshot, so they agree while tickets are being written", async () => {
    let writing = true;
    const writer = (async () => {
      const priorities = ["low", "medium", "high", "urgent"];
      for (let i = 0; writing && i < 400; i++) {
        await h.db.query(
          "INSERT INTO tickets (title, priority, category, created_by, updated_by) VALUES ($1, $2, 'billing', 'x', 'x')",
          [`stats ${i}`, priorities[i % 4]],
        );
      }
    })();
    try {
      for (let i = 0; i < 15; i++) {
        const stats = structured(await admin.callTool({ name: "get_ticket_stats", arguments: {} })) as {
          total: number;
          by_status: Record<string, number>;
          by_priority: Record<string, number>;
          by_category: Record<string, number>;
          by_assignee: { count: number }[];
        };
        const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
        expect([
          sum(Object.values(stats.by_status)),
          sum(Object.values(stats.by_priority)),
          sum(Object.values(stats.by_category)),
          sum(stats.by_assignee.map((a) => a.count)),
        ]).toEqual([stats.total, stats.total, stats.total, stats.total]);
      }
    } finally {
      writing = false;
      await writer;
    }
  });
});
