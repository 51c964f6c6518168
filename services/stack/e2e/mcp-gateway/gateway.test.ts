import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TOOL_NAMES } from "#kit/contract/index.js";
import { sample } from "#kit/testing/prometheus-sample.js";
import { startTestStack, type TestStack } from "../../testing/test-stack.js";

let stack: TestStack;
type Structured = { ticket?: { id?: number; created_by?: string }; id?: number; created_by?: string };
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.close();
});

async function auditRows(userId: string, tool?: string) {
  const { rows } = await stack.mcpDb.query<{
    user_id: string;
    tool: string;
    outcome: string;
    actor_sub: string | null;
    actor_agent: string | null;
    error_code: string | null;
  }>(
    `SELECT user_id, tool, outcome, actor_sub, actor_agent, error_code FROM audit_log
      WHERE user_id = $1 AND ($2::text IS NULL OR tool = $2) ORDER BY id`,
    [userId, tool ?? null],
  );
  return rows;
}

describe("MCP gateway (exchange mode)", () => {
  it("ListTools returns the scoped set for admin (13), support agent (12) and viewer (6)", async () => {
    const gw = stack.gatewayClient();
    const expected = { admin: 13, agent: 12, viewer: 6 } as const;
    for (const role of ["admin", "agent", "viewer"] as const) {
      const { accessToken } = await stack.login(`${role}@company.com`, stack.passwords[role]);
      const { tools } = await gw.listTools({}, bearer(accessToken));
      expect(tools).toHaveLength(expected[role]);
      for (const t of tools) expect(JSON.parse(t.inputSchemaJson)).toMatchObject({ type: "object" });
    }
    const { accessToken } = await stack.login("viewer@company.com", stack.passwords.viewer);
    const names = (await gw.listTools({}, bearer(accessToken))).tools.map((t) => t.name).sort();
    expect(names).toEqual(
      [
        "get_active_integrations",
        "get_ticket",
        "get_ticket_stats",
        "list_integrations",
        "list_tickets",
        "search_tickets",
      ].sort(),
    );
  });

  it("ListTools pages: every tool exactly once across pages, a forged page token is invalid_argument", async () => {
    const gw = stack.gatewayClient();
    const { accessToken } = await stack.login("admin@company.com", stack.passwords.admin);
    const all = (await gw.listTools({}, bearer(accessToken))).tools.map((t) => t.name);
    const paged: string[] = [];
    let pageToken = "";
    let pages = 0;
    do {
      const res = await gw.listTools({ pageSize: 5, pageToken }, bearer(accessToken));
      expect(res.tools.length).toBeLessThanOrEqual(5);
      paged.push(...res.tools.map((t) => t.name));
      pageToken = res.nextPageToken;
      pages++;
    } while (pageToken && pages < 10);
    expect(pages).toBe(3);
    expect(paged).toEqual(all);
    // The MCP server's 60 s for this caller's list, less what has passed since it was asked for.
    const { ttlMs } = await gw.listTools({}, bearer(accessToken));
    expect(ttlMs).toBeGreaterThan(0);
    expect(ttlMs).toBeLessThanOrEqual(60_000);
    const err = await gw
      .listTools({ pageToken: "bm90LWEtdG9rZW4" }, bearer(accessToken))
      .catch((e: unknown) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
  });

  it("CallTool of all 13 tools as admin: each writes an audit row for the admin, acted by the gateway", async () => {
    const admin = await stack.login("admin@company.com", stack.passwords.admin);
    const agent = await stack.login("agent@company.com", stack.passwords.agent);
    const gw = stack.gatewayClient("connect");
    const call = async (name: string, args: Record<string, unknown>) => {
      const res = await gw.callTool({ name, argumentsJson: JSON.stringify(args) }, bearer(admin.accessToken));
      expect(res.isError, `${name}: ${res.text}`).toBe(false);
      return res.structuredContentJson ? (JSON.parse(res.structuredContentJson) as Structured) : {};
    };
    const created = await call("create_ticket", {
      title: "Printer on fire",
      description: "Smoke from tray 2",
      priority: "high",
    });
    const id = created.ticket?.id ?? created.id;
    expect(id).toBeDefined();
    expect(created.ticket?.created_by).toBe(admin.userId);
    await call("get_ticket", { ticket_id: id });
    await call("update_ticket", { ticket_id: id, description: "Smoke from tray 2, now flames" });
    await call("update_ticket_status", { ticket_id: id, status: "in_progress" });
    // The support agent must be known to the MCP server's directory: their first call records them.
    await gw.listTools({}, bearer(agent.accessToken));
    await stack
      .gatewayClient()
      .callTool({ name: "list_tickets", argumentsJson: "{}" }, bearer(agent.accessToken));
    await call("assign_ticket", { ticket_id: id, assignee: "agent@company.com" });
    await call("search_tickets", { query: "printer" });
    await call("list_tickets", {});
    await call("get_ticket_stats", {});
    await call("create_ticket_with_ai", {
      text: "URGENT: the VPN is down for the whole sales team since 9am",
    });
    await call("list_integrations", {});
    await call("get_active_integrations", {});
    await call("get_system_health", {});
    // Destructive: asked first, run with the user's yes (docs/mcp-gateway.md, "Questions to the user").
    const asked = await gw.callTool(
      { name: "delete_ticket", argumentsJson: JSON.stringify({ ticket_id: id, reason: "duplicate" }) },
      bearer(admin.accessToken),
    );
    const [key] = Object.keys(JSON.parse(asked.inputRequired?.inputRequestsJson ?? "{}") as object);
    const deleted = await gw.callTool(
      {
        name: "delete_ticket",
        argumentsJson: JSON.stringify({ ticket_id: id, reason: "duplicate" }),
        inputResponsesJson: JSON.stringify({
          [key as string]: { action: "accept", content: { confirm: true } },
        }),
        requestState: asked.inputRequired?.requestState ?? "",
      },
      bearer(admin.accessToken),
    );
    expect(JSON.parse(deleted.structuredContentJson)).toMatchObject({ deleted: true });

    const rows = await auditRows(admin.userId);
    const tools = new Set(rows.filter((r) => r.outcome === "ok").map((r) => r.tool));
    expect([...tools].sort()).toEqual([...TOOL_NAMES].sort());
    for (const r of rows) {
      expect(r.user_id).toBe(admin.userId);
      expect(r.actor_sub).toBe("mcp-gateway");
    }
  });

  it("the MCP token carries only tool scopes: an admin's audit:read never reaches the MCP server", async () => {
    const admin = await stack.login("admin@company.com", stack.passwords.admin);
    await stack
      .gatewayClient()
      .callTool({ name: "list_tickets", argumentsJson: "{}" }, bearer(admin.accessToken));
    const seen = stack.logs.mcp
      .records()
      .filter((r) => r.user_id === admin.userId && String(r.msg).startsWith("MCP tool authenticated"))
      .map((r) => String(r.scopes));
    expect(seen.length).toBeGreaterThan(0);
    for (const scopes of seen) {
      expect(scopes.split(" ").sort()).toEqual(
        ["integrations:read", "system:read", "tickets:delete", "tickets:read", "tickets:write"].sort(),
      );
    }
  });

  it("a viewer is refused a write with permission_denied, and the refusal is audited", async () => {
    const viewer = await stack.login("viewer@company.com", stack.passwords.viewer);
    const err = await stack
      .gatewayClient()
      .callTool(
        { name: "create_ticket", argumentsJson: JSON.stringify({ title: "x", description: "y" }) },
        bearer(viewer.accessToken),
      )
      .catch((e: unknown) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.PermissionDenied);
    expect((err as ConnectError).rawMessage).toContain("insufficient_scope");
    const rows = await auditRows(viewer.userId, "create_ticket");
    expect(rows.at(-1)).toMatchObject({ outcome: "refused", error_code: "insufficient_scope" });
  });

  it("a caller's tool list is held for the server's ttlMs and asked for again after the server refused a tool for who is calling", async () => {
    const viewer = await stack.login("viewer@company.com", stack.passwords.viewer);
    const gw = stack.gatewayClient();
    const asked = async () => {
      const metrics = await (await fetch(`${stack.gateway.url}/metrics`)).text();
      return sample(metrics, "mcp_client_requests_total", { method: "tools/list" }) ?? 0;
    };
    const before = await asked();
    await gw.listTools({}, bearer(viewer.accessToken));
    await gw.listTools({}, bearer(viewer.accessToken));
    expect((await asked()) - before).toBe(1);
    const refused = await gw
      .callTool(
        { name: "create_ticket", argumentsJson: JSON.stringify({ title: "x" }) },
        bearer(viewer.accessToken),
      )
      .catch((e: unknown) => ConnectError.from(e));
    expect((refused as ConnectError).code).toBe(Code.PermissionDenied);
    const { ttlMs } = await gw.listTools({}, bearer(viewer.accessToken));
    expect((await asked()) - before).toBe(2);
    expect(ttlMs).toBeGreaterThan(0);
    // A missing ticket is not a refusal of the tool: the list stays held.
    await gw
      .callTool(
        { name: "get_ticket", argumentsJson: JSON.stringify({ ticket_id: 99999999 }) },
        bearer(viewer.accessToken),
      )
      .catch(() => undefined);
    await gw.listTools({}, bearer(viewer.accessToken));
    expect((await asked()) - before).toBe(2);
  });

  it("bad input maps to invalid_argument, unknown tools and tickets to not_found", async () => {
    const admin = await stack.login("admin@company.com", stack.passwords.admin);
    const gw = stack.gatewayClient();
    const codeOf = (name: string, argumentsJson: string) =>
      gw
        .callTool({ name, argumentsJson }, bearer(admin.accessToken))
        .then(() => "ok")
        .catch((e: unknown) => Code[ConnectError.from(e).code]);
    expect(await codeOf("create_ticket", "{not json")).toBe("InvalidArgument");
    expect(await codeOf("create_ticket", "[1,2]")).toBe("InvalidArgument");
    expect(await codeOf("create_ticket", JSON.stringify({ title: 42 }))).toBe("InvalidArgument");
    expect(await codeOf("update_ticket_status", JSON.stringify({ ticket_id: 1, status: "exploded" }))).toBe(
      "InvalidArgument",
    );
    expect(await codeOf("no_such_tool", "{}")).toBe("NotFound");
    expect(await codeOf("get_ticket", JSON.stringify({ ticket_id: 99999999 }))).toBe("NotFound");
    expect(await codeOf("", "{}")).toBe("InvalidArgument");
  });

  it("warm calls reuse one client and one exchanged token per principal, and hold no MCP session (2026-07-28)", async () => {
    const admin = await stack.login("admin@company.com", stack.passwords.admin);
    const gw = stack.gatewayClient();
    await gw.callTool({ name: "list_tickets", argumentsJson: "{}" }, bearer(admin.accessToken));
    const exchangesBefore = stack.gateway.tokenSource.exchanges;
    const sessionsBefore = stack.gateway.pool.size;
    for (let i = 0; i < 20; i++)
      await gw.callTool({ name: "list_tickets", argumentsJson: "{}" }, bearer(admin.accessToken));
    expect(stack.gateway.pool.size).toBe(sessionsBefore);
    expect(stack.gateway.tokenSource.exchanges).toBe(exchangesBefore);
    // The default negotiates 2026-07-28 with our MCP server: stateless, nothing held per principal there.
    expect(stack.mcp()?.activeSessions()).toBe(0);
  });

  it("no token ever appears in any service's log", async () => {
    const admin = await stack.login("admin@company.com", stack.passwords.admin);
    await stack
      .gatewayClient()
      .callTool({ name: "list_tickets", argumentsJson: "{}" }, bearer(admin.accessToken));
    for (const capture of Object.values(stack.logs)) {
      const text = capture.lines.join("\n");
      expect(text).not.toContain(admin.accessToken);
      expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\./);
      expect(text).not.toContain(stack.config.GATEWAY_CLIENT_SECRET);
    }
  });
});
