import type { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "#kit/config/index.js";
import { ADMIN, type Harness, initializeBody, startHarness, structured } from "./testing/harness.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { AUTH_DEV_ANONYMOUS: "1" } });
});
afterAll(() => h.close());

describe("AUTH_DEV_ANONYMOUS=1 (docs/mcp-server.md, Development fallback)", () => {
  it("warns at start-up", () => {
    const startup = h.logs.records().find((l) => String(l.msg).startsWith("AUTH_DEV_ANONYMOUS=1"));
    expect(startup).toMatchObject({ level: "warn", principal: "dev-anonymous" });
  });

  it("lets token-less calls through as the read-only dev principal, warning on each, audited as anonymous", async () => {
    const client = await h.connect(undefined);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([
      "get_active_integrations",
      "get_ticket",
      "get_ticket_stats",
      "list_integrations",
      "list_tickets",
      "search_tickets",
    ]);
    const mark = h.logs.lines.length;
    expect(structured(await client.callTool({ name: "list_integrations", arguments: {} }))).toHaveProperty(
      "integrations",
    );
    const warnings = h.logs
      .records()
      .slice(mark)
      .filter(
        (l) =>
          l.msg ===
          "MCP request without Authorization header runs as the development principal dev-anonymous (AUTH_DEV_ANONYMOUS=1)",
      );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: "warn", user_id: "dev-anonymous" });

    const err = (await client
      .callTool({ name: "create_ticket", arguments: { title: "Anonymous write" } })
      .catch((e: unknown) => e)) as StreamableHTTPError;
    expect(err.code).toBe(403);
    expect(await h.count("SELECT count(*) AS n FROM tickets")).toBe(0);

    const { rows } = await h.db.query<{ tool: string; user_id: string; anonymous: boolean; outcome: string }>(
      "SELECT tool, user_id, anonymous, outcome FROM audit_log ORDER BY id",
    );
    expect(rows).toEqual([
      { tool: "list_integrations", user_id: "dev-anonymous", anonymous: true, outcome: "ok" },
      { tool: "create_ticket", user_id: "dev-anonymous", anonymous: true, outcome: "refused" },
    ]);
  });

  it("still refuses a token that is present but bad", async () => {
    const expired = await h.issuer.mint(
      { sub: ADMIN.sub, email: ADMIN.email, aud: h.server.resource },
      { expiresIn: -60 },
    );
    const res = await h.post(initializeBody(), { authorization: `Bearer ${expired}` });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ reason: "expired" });
    expect((await h.post(initializeBody(), { authorization: "Bearer not-a-jwt" })).status).toBe(401);
  });

  it("does not downgrade a real user: a good token is still that user with their scopes", async () => {
    const admin = await h.connect(await h.token(ADMIN));
    expect((await admin.listTools()).tools).toHaveLength(13);
    const out = structured(
      await admin.callTool({ name: "create_ticket", arguments: { title: "Real user write" } }),
    ) as {
      ticket: { created_by: string };
    };
    expect(out.ticket.created_by).toBe(ADMIN.sub);
  });

  it("is off by default and refused with NODE_ENV=production", () => {
    expect(parseConfig({}).AUTH_DEV_ANONYMOUS).toBe(false);
    expect(() => parseConfig({ AUTH_DEV_ANONYMOUS: "1", NODE_ENV: "production" })).toThrow(ConfigError);
  });
});
