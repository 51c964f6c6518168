import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditRecord } from "./data/audit-log.js";
import { ADMIN, AGENT, type Harness, startHarness, structured, VIEWER } from "./testing/harness.js";
import { runAuditCli } from "./testing/run-audit-cli.js";

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ serverOwnsDatabase: true });
  const agent = await h.connect(
    await h.token(AGENT, { act: { sub: "mcp-gateway", agent: "support-assistant" } }),
  );
  structured(
    await agent.callTool({
      name: "create_ticket",
      arguments: {
        title: "Audit me",
        description: "token eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl inside",
      },
    }),
  );
  structured(await agent.callTool({ name: "list_tickets", arguments: {} }));
  // Refused and invalid calls are audited too, with secrets by name removed and big values capped.
  await agent.callTool({
    name: "create_ticket",
    arguments: { title: "x", password: "hunter2", api_key: "sk-live-123" },
  });
  await agent.callTool({
    name: "create_ticket",
    arguments: { title: "Huge", description: "d".repeat(20_000) },
  });
  const viewer = await h.connect(await h.token(VIEWER));
  await viewer.callTool({ name: "delete_ticket", arguments: { ticket_id: 1 } }).catch(() => undefined);
});
afterAll(() => h.close());

async function readAudit(token: string | undefined, query: string) {
  return fetch(`${h.server.url}/admin/audit${query}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
}

describe("audit trail", () => {
  it("lets an admin read it over HTTP, filtered by user and time, newest first", async () => {
    const res = await readAudit(await h.token(ADMIN), `?user=${AGENT.email}&since=1h`);
    expect(res.status).toBe(200);
    const { entries } = (await res.json()) as { entries: AuditRecord[] };
    expect(entries.map((e) => [e.tool, e.outcome, e.error_code])).toEqual([
      ["create_ticket", "error", "invalid_arguments"],
      ["create_ticket", "error", "invalid_arguments"],
      ["list_tickets", "ok", null],
      ["create_ticket", "ok", null],
    ]);
    for (const e of entries) {
      expect(e).toMatchObject({
        user_id: AGENT.sub,
        email: AGENT.email,
        actor_sub: "mcp-gateway",
        actor_agent: "support-assistant",
        anonymous: false,
      });
      expect(e.trace_id).toMatch(/^[0-9a-f]{32}$/);
      expect(e.session_id).toMatch(/^[0-9a-f-]{36}$/);
    }
    const refused = (await (await readAudit(await h.token(ADMIN), "?outcome=refused")).json()) as {
      entries: AuditRecord[];
    };
    expect(refused.entries).toHaveLength(1);
    expect(refused.entries[0]).toMatchObject({
      user_id: VIEWER.sub,
      tool: "delete_ticket",
      error_code: "insufficient_scope",
    });
    const future = (await (await readAudit(await h.token(ADMIN), "?since=2999-01-01")).json()) as {
      count: number;
    };
    expect(future.count).toBe(0);
  });

  it("redacts secrets and caps sizes in the stored arguments", async () => {
    // This harness's server owns its (PGlite) database, so read the rows through the admin path.
    const res = await readAudit(await h.token(ADMIN), "?tool=create_ticket");
    const rows = ((await res.json()) as { entries: AuditRecord[] }).entries.reverse();
    const [ok, secret, huge] = rows.map((r) => r.arguments as Record<string, unknown>);
    expect(ok?.description).toBe("token [REDACTED] inside");
    expect(secret).toEqual({ title: "x", password: "[REDACTED]", api_key: "[REDACTED]" });
    expect(JSON.stringify(huge).length).toBeLessThanOrEqual(4_096);
    expect(String(huge?.description)).toMatch(/…\[\+19000 chars\]$/);
    expect(JSON.stringify(rows)).not.toContain("hunter2");
  });

  it("refuses non-admins (403 insufficient_scope) and anonymous callers (401)", async () => {
    const viewer = await readAudit(await h.token(VIEWER), "");
    expect(viewer.status).toBe(403);
    expect(viewer.headers.get("www-authenticate")).toMatch(
      /^Bearer error="insufficient_scope", scope="audit:read"/,
    );
    const agentWithAuditScope = await readAudit(
      await h.token(AGENT, { scope: "tickets:read audit:read" }),
      "?limit=1",
    );
    expect(agentWithAuditScope.status).toBe(200);
    const none = await readAudit(undefined, "");
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toContain("resource_metadata=");
  });

  it("lets the admin role read only on a token that is not delegated; the audit:read scope travels", async () => {
    const act = { sub: "mcp-gateway", agent: "support-assistant" };
    // An admin's own token, without the scope: the role is enough.
    expect((await readAudit(await h.token(ADMIN, { scope: "tickets:read" }), "?limit=1")).status).toBe(200);
    // Someone acting for an admin does not borrow the role.
    const delegated = await readAudit(await h.token(ADMIN, { scope: "tickets:read", act }), "?limit=1");
    expect(delegated.status).toBe(403);
    expect(await delegated.json()).toMatchObject({ error: "insufficient_scope", scope: "audit:read" });
    // A delegated token that was given the scope may read (the exchange only narrows scopes).
    expect((await readAudit(await h.token(ADMIN, { scope: "audit:read", act }), "?limit=1")).status).toBe(
      200,
    );
  });

  it("rejects a bad filter with a clear message", async () => {
    const res = await readAudit(await h.token(ADMIN), "?since=yesterday-ish");
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error_description: 'since: expected an ISO 8601 time or an age like 24h, got "yesterday-ish"',
    });
  });

  const cli = (args: string[]) =>
    runAuditCli([...args, ...(h.schema ? ["--schema", h.schema] : [])], {
      DATA_DIR: h.config.DATA_DIR,
      DATABASE_URL: h.config.DATABASE_URL,
    });

  it.skipIf(process.env.DATABASE_URL)(
    "npm run audit does not open embedded PGlite while the server holds it, and points to the running server",
    async () => {
      const out = await cli(["--user", AGENT.sub]);
      expect(out.code).toBe(2);
      expect(out.stderr).toMatch(
        /the MCP server \(pid \d+\) has the embedded database .* open .*--email <admin email>.*\/admin\/audit/,
      );
    },
  );

  it("npm run audit reads the trail once the server has stopped", { timeout: 120_000 }, async () => {
    await h.server.close();
    const json = await cli(["--user", AGENT.email, "--since", "1h", "--json"]);
    expect(json.stderr).toBe("");
    const rows = json.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as AuditRecord);
    expect(rows.map((r) => r.tool)).toEqual([
      "create_ticket",
      "create_ticket",
      "list_tickets",
      "create_ticket",
    ]);
    expect(rows.every((r) => r.user_id === AGENT.sub)).toBe(true);
    const table = await cli(["--outcome", "refused"]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^seq\s+at\s+user\s+email\s+actor chain\s+tool\s+outcome/);
    expect(table.stdout).toContain(`${VIEWER.sub}  viewer@company.com`);
    expect(table.stdout).toContain("1 row(s)");
    const bad = await cli(["--outcome", "maybe"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^outcome: expected one of ok, error, refused/);
  });
});
