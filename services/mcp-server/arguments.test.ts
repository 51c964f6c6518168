import * as http from "node:http";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, errorText, type Harness, startHarness, structured } from "./testing/harness.js";

let h: Harness;
let admin: Client;
let existing: number;

beforeAll(async () => {
  h = await startHarness();
  admin = await h.connect(await h.token(ADMIN));
  existing = (
    structured(await admin.callTool({ name: "create_ticket", arguments: { title: "Baseline ticket" } })) as {
      ticket: { id: number };
    }
  ).ticket.id;
});
afterAll(() => h.close());

async function snapshot() {
  const { rows } = await h.db.query<{ n: number; latest: Date | null }>(
    "SELECT count(*) AS n, max(updated_at) AS latest FROM tickets",
  );
  return rows[0];
}

describe("bad arguments are clear tool errors, audited, and change nothing", () => {
  const cases: [string, string, Record<string, unknown>, RegExp][] = [
    [
      "wrong type for an id",
      "get_ticket",
      { ticket_id: "twelve" },
      /^invalid_arguments: ticket_id: Invalid input: expected number, received string$/,
    ],
    [
      "a fractional id",
      "get_ticket",
      { ticket_id: 1.5 },
      /^invalid_arguments: ticket_id: Invalid input: expected int, received number$/,
    ],
    [
      "a negative id",
      "get_ticket",
      { ticket_id: -3 },
      /^invalid_arguments: ticket_id: Too small: expected number to be >0$/,
    ],
    [
      "a missing required field",
      "create_ticket",
      { description: "no title" },
      /^invalid_arguments: title: Invalid input: expected string, received undefined$/,
    ],
    [
      "an oversize title",
      "create_ticket",
      { title: "x".repeat(201) },
      /^invalid_arguments: title: Too big: expected string to have <=200 characters$/,
    ],
    [
      "an oversize description",
      "create_ticket",
      { title: "Long one", description: "y".repeat(5_001) },
      /^invalid_arguments: description: Too big: expected string to have <=5000 characters$/,
    ],
    [
      "a too-short title",
      "create_ticket",
      { title: "  a " },
      /^invalid_arguments: title: Too small: expected string to have >=3 characters$/,
    ],
    [
      "an unknown priority",
      "create_ticket",
      { title: "Valid title", priority: "asap" },
      /^invalid_arguments: priority: Invalid option: expected one of "low"\|"medium"\|"high"\|"urgent"$/,
    ],
    [
      "an unknown status",
      "update_ticket_status",
      { ticket_id: 1, status: "done" },
      /^invalid_arguments: status: Invalid option: expected one of "open"\|"in_progress"\|"waiting"\|"resolved"\|"closed"$/,
    ],
    [
      "an unknown argument",
      "create_ticket",
      { title: "Valid title", priorty: "high" },
      /^invalid_arguments: Unrecognized key: "priorty"$/,
    ],
    [
      "an update that changes nothing",
      "update_ticket",
      { ticket_id: 1 },
      /^invalid_arguments: give at least one of title, description, priority, category$/,
    ],
    [
      "a page size over the limit",
      "list_tickets",
      { limit: 1_000 },
      /^invalid_arguments: limit: Too big: expected number to be <=100$/,
    ],
    [
      "an empty search",
      "search_tickets",
      { query: "   " },
      /^invalid_arguments: query: Too small: expected string to have >=1 characters$/,
    ],
    [
      "a bad date",
      "get_ticket_stats",
      { since: "last tuesday" },
      /^invalid_arguments: since: Invalid ISO datetime$/,
    ],
  ];

  for (const [what, tool, args, message] of cases) {
    it(`${what} (${tool})`, async () => {
      const before = await snapshot();
      expect(errorText(await admin.callTool({ name: tool, arguments: args }))).toMatch(message);
      expect(await snapshot()).toEqual(before);
      const { rows } = await h.db.query<{
        tool: string;
        outcome: string;
        error_code: string;
        error: string;
        user_id: string;
      }>("SELECT tool, outcome, error_code, error, user_id FROM audit_log ORDER BY id DESC LIMIT 1");
      expect(rows[0]).toMatchObject({
        tool,
        outcome: "error",
        error_code: "invalid_arguments",
        user_id: ADMIN.sub,
      });
      // The server is still serving.
      expect(
        structured(await admin.callTool({ name: "get_ticket", arguments: { ticket_id: existing } })),
      ).toHaveProperty("ticket");
    });
  }

  it("a non-object argument list is an invalid-params protocol error, audited", async () => {
    const before = await snapshot();
    const res = await h.post(
      { jsonrpc: "2.0", id: 41, method: "tools/call", params: { name: "get_ticket", arguments: "12" } },
      {
        authorization: `Bearer ${await h.token(ADMIN)}`,
        "mcp-session-id": (admin.transport as { sessionId?: string }).sessionId ?? "",
        "mcp-protocol-version": "2025-11-25",
      },
    );
    expect(await res.json()).toEqual({
      jsonrpc: "2.0",
      id: 41,
      error: { code: -32602, message: "Invalid params: tools/call arguments must be a JSON object" },
    });
    expect(await snapshot()).toEqual(before);
    const { rows } = await h.db.query<{
      tool: string;
      outcome: string;
      error_code: string;
      arguments: unknown;
    }>("SELECT tool, outcome, error_code, arguments FROM audit_log ORDER BY id DESC LIMIT 1");
    expect(rows[0]).toEqual({
      tool: "get_ticket",
      outcome: "error",
      error_code: "invalid_arguments",
      arguments: "12",
    });
  });

  it("text PostgreSQL cannot store is refused or made storable, and every such call is audited and answered", async () => {
    const before = await snapshot();
    const audits = await h.count("SELECT count(*) AS n FROM audit_log");
    // NUL cannot go into a text column: a clear tool error, not a failed INSERT.
    expect(
      errorText(await admin.callTool({ name: "create_ticket", arguments: { title: "ab\u0000cd" } })),
    ).toBe("invalid_arguments: arguments.title contains a control character");
    expect(
      errorText(await admin.callTool({ name: "search_tickets", arguments: { query: "x\u0000" } })),
    ).toMatch(/^invalid_arguments: arguments.query contains a control character/);
    // Nor a lone surrogate (jsonb refuses it) or another control; TAB, LF and CR are free text.
    expect(errorText(await admin.callTool({ name: "search_tickets", arguments: { query: "x\ud800" } }))).toBe(
      "invalid_arguments: arguments.query is not well-formed Unicode",
    );
    expect(
      errorText(await admin.callTool({ name: "search_tickets", arguments: { query: "x\u001b[0m" } })),
    ).toMatch(/^invalid_arguments: arguments.query contains a control character/);
    expect(
      errorText(await admin.callTool({ name: "get_ticket", arguments: { ticket_id: 1, "k\u0000": 1 } })),
    ).toMatch(/^invalid_arguments: Unrecognized key/);
    const unknown = await admin
      .callTool({ name: "no\u0000such_tool", arguments: {} })
      .catch((e: unknown) => e as McpError);
    expect((unknown as McpError).code).toBe(-32602);
    expect(await snapshot()).toEqual(before);
    // An emoji cut in half by the audit's 1000-character cap used to make the row unwritable, so a
    // perfectly good ticket was rolled back and the call went unanswered.
    const emoji = `a${"😀".repeat(600)}`;
    const created = structured(
      await admin.callTool({
        name: "create_ticket",
        arguments: { title: "Emoji report", description: emoji },
      }),
    ) as { ticket: { id: number; description: string } };
    expect(created.ticket.description).toBe(emoji);
    const { rows } = await h.db.query<{ tool: string; outcome: string; error_code: string | null }>(
      "SELECT tool, outcome, error_code FROM audit_log ORDER BY id DESC LIMIT 7",
    );
    expect(rows.reverse()).toEqual([
      { tool: "create_ticket", outcome: "error", error_code: "invalid_arguments" },
      { tool: "search_tickets", outcome: "error", error_code: "invalid_arguments" },
      { tool: "search_tickets", outcome: "error", error_code: "invalid_arguments" },
      { tool: "search_tickets", outcome: "error", error_code: "invalid_arguments" },
      { tool: "get_ticket", outcome: "error", error_code: "invalid_arguments" },
      { tool: "no\ufffdsuch_tool", outcome: "refused", error_code: "unknown_tool" },
      { tool: "create_ticket", outcome: "ok", error_code: null },
    ]);
    expect(await h.count("SELECT count(*) AS n FROM audit_log")).toBe(audits + 7);
  });

  it("a hostile string does not stall the server (the secret scrubber must see bounded text)", async () => {
    // "eyJeyJ…" is quadratic for the scrubber's JWT pattern: 180 KB of it took 12–45 s per call.
    const hostile = "eyJ".repeat(60_000);
    const started = performance.now();
    const results = await Promise.all([
      admin.callTool({ name: "get_ticket", arguments: { ticket_id: existing, note: hostile } }),
      admin.callTool({ name: "get_ticket", arguments: { ticket_id: existing, [hostile]: 1 } }),
      admin.callTool({ name: hostile, arguments: {} }).catch((e: unknown) => e),
    ]);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(errorText(results[0])).toMatch(/^invalid_arguments: Unrecognized key: "note"$/);
    expect(errorText(results[1]).length).toBeLessThan(1_100);
    expect(results[2]).toBeInstanceOf(McpError);
  });

  it("non-object arguments inside a legacy JSON-RPC batch are audited too", async () => {
    const audits = await h.count(
      "SELECT count(*) AS n FROM audit_log WHERE error_code = 'invalid_arguments'",
    );
    const res = await h.post(
      [
        { jsonrpc: "2.0", id: 51, method: "tools/call", params: { name: "get_ticket", arguments: "12" } },
        {
          jsonrpc: "2.0",
          id: 52,
          method: "tools/call",
          params: { name: "get_ticket", arguments: { ticket_id: existing } },
        },
      ],
      { authorization: `Bearer ${await h.token(ADMIN)}`, "mcp-protocol-version": "2025-11-25" },
    );
    expect(res.status).toBe(200);
    const answers = (await res.json()) as { id: number; error?: unknown; result?: unknown }[];
    expect(answers.map((a) => [a.id, a.error !== undefined])).toEqual([
      [51, true],
      [52, false],
    ]);
    expect(await h.count("SELECT count(*) AS n FROM audit_log WHERE error_code = 'invalid_arguments'")).toBe(
      audits + 1,
    );
  });

  it("a missing ticket is not_found for every tool that takes one, and nothing is written", async () => {
    const before = await snapshot();
    const missing = 987_654;
    const calls: [string, Record<string, unknown>][] = [
      ["get_ticket", { ticket_id: missing }],
      ["update_ticket", { ticket_id: missing, title: "Nope" }],
      ["update_ticket_status", { ticket_id: missing, status: "closed" }],
      ["assign_ticket", { ticket_id: missing, assignee: "me" }],
      ["delete_ticket", { ticket_id: missing }],
    ];
    for (const [name, args] of calls) {
      expect(errorText(await admin.callTool({ name, arguments: args })), name).toBe(
        `not_found: ticket ${missing} does not exist (or was deleted)`,
      );
    }
    expect(await snapshot()).toEqual(before);
    const { rows } = await h.db.query<{ tool: string; error_code: string }>(
      "SELECT tool, error_code FROM audit_log ORDER BY id DESC LIMIT 5",
    );
    expect(rows.map((r) => r.error_code)).toEqual(Array(5).fill("not_found"));
  });

  // The refusal comes before the INSERT; the rollback of a written row is the audit-store test below.
  it("a refused change writes nothing (no ticket, an error audit row, no ok row)", async () => {
    const before = await snapshot();
    const result = await admin.callTool({
      name: "create_ticket",
      arguments: { title: "Assign to a stranger", assignee: "stranger@nowhere.example" },
    });
    expect(errorText(result)).toMatch(/^unknown_user: no known user "stranger@nowhere.example"/);
    expect(await snapshot()).toEqual(before);
    expect(await h.count("SELECT count(*) AS n FROM tickets WHERE title = 'Assign to a stranger'")).toBe(0);
    const { rows } = await h.db.query<{ outcome: string; error_code: string }>(
      "SELECT outcome, error_code FROM audit_log WHERE tool = 'create_ticket' ORDER BY id DESC LIMIT 1",
    );
    expect(rows[0]).toEqual({ outcome: "error", error_code: "unknown_user" });
  });

  describe("when the audit store fails (a real trigger on audit_log)", () => {
    beforeAll(async () => {
      await h.db.query(`
        CREATE FUNCTION test_fail_audit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.arguments::text LIKE '%audit-offline%' THEN
            RAISE EXCEPTION 'audit store offline (test trigger)';
          END IF;
          IF NEW.arguments::text LIKE '%audit-refuses-ok%' AND NEW.outcome = 'ok' THEN
            RAISE EXCEPTION 'audit store refuses ok rows (test trigger)';
          END IF;
          RETURN NEW;
        END $$`);
      await h.db.query(
        "CREATE TRIGGER test_fail_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION test_fail_audit()",
      );
    });
    afterAll(async () => {
      await h.db.query("DROP TRIGGER test_fail_audit ON audit_log");
    });

    it("a change whose audit row cannot be written is rolled back: no ticket without its record", async () => {
      const before = await snapshot();
      const result = await admin.callTool({
        name: "create_ticket",
        arguments: { title: "audit-refuses-ok" },
      });
      expect(errorText(result)).toMatch(/^internal_error: the tool failed unexpectedly; see the server log/);
      expect(errorText(result)).not.toContain("test trigger");
      // The INSERT ran inside the transaction and was undone with the failed audit row.
      expect(await h.count("SELECT count(*) AS n FROM tickets WHERE title = 'audit-refuses-ok'")).toBe(0);
      expect(await snapshot()).toEqual(before);
      const { rows } = await h.db.query<{ outcome: string; error_code: string }>(
        "SELECT outcome, error_code FROM audit_log WHERE arguments->>'title' = 'audit-refuses-ok'",
      );
      expect(rows).toEqual([{ outcome: "error", error_code: "internal_error" }]);
    });

    it("a read whose audit row cannot be written is not answered, and the database's message stays in the log", async () => {
      const err = (await admin
        .callTool({ name: "search_tickets", arguments: { query: "audit-offline" } })
        .catch((e: unknown) => e)) as McpError;
      expect(err).toBeInstanceOf(McpError);
      expect(err.code).toBe(-32603);
      expect(err.message).toMatch(/internal_error: the call could not be audited, so it was not answered/);
      expect(err.message).not.toContain("test trigger");
      expect(h.logs.records().some((l) => l.msg === "audit record could not be written")).toBe(true);
      // …and the server still serves.
      expect(
        structured(await admin.callTool({ name: "get_ticket", arguments: { ticket_id: existing } })),
      ).toHaveProperty("ticket");
    });
  });

  it("an unknown tool is a protocol error (MCP spec), audited as refused", async () => {
    const err = (await admin
      .callTool({ name: "drop_all_tables", arguments: {} })
      .catch((e: unknown) => e)) as McpError;
    expect(err).toBeInstanceOf(McpError);
    expect(err.code).toBe(-32602);
    expect(err.message).toContain("Unknown tool: drop_all_tables");
    const { rows } = await h.db.query<{ tool: string; outcome: string; error_code: string }>(
      "SELECT tool, outcome, error_code FROM audit_log ORDER BY id DESC LIMIT 1",
    );
    expect(rows[0]).toEqual({ tool: "drop_all_tables", outcome: "refused", error_code: "unknown_tool" });
  });

  it("refuses an oversized body and malformed JSON at the HTTP layer without crashing", async () => {
    const token = await h.token(ADMIN);
    const big = await h.post(
      {
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name: "create_ticket", arguments: { title: "z".repeat(2 * 1024 * 1024) } },
      },
      { authorization: `Bearer ${token}` },
    );
    expect(big.status).toBe(413);
    const broken = await fetch(h.mcpUrl, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: "{not json",
    });
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as { error: { code: number } }).error.code).toBe(-32700);
    expect(structured(await admin.callTool({ name: "get_system_health", arguments: {} }))).toMatchObject({
      status: "ok",
    });
  });

  it("refuses a body nested deeper than 128 levels as an invalid request (400, -32600) on either revision, and a compressed one 415, and serves on", async () => {
    const token = await h.token(ADMIN);
    const deep = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;
    const bodies = [
      deep(5_000),
      `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_tickets","arguments":{"q":${deep(5_000)}}}}`,
    ];
    for (const version of ["2026-07-28", "2025-11-25"]) {
      for (const body of bodies) {
        const res = await fetch(h.mcpUrl, {
          method: "POST",
          headers: {
            authorization: `Bearer ${token}`,
            "content-type": "application/json",
            accept: "application/json, text/event-stream",
            "mcp-protocol-version": version,
          },
          body,
        });
        expect(res.status).toBe(400);
        const answer = (await res.json()) as { error: { code: number; message: string } };
        expect(answer.error).toMatchObject({ code: -32600 });
        expect(answer.error.message).toContain("deeper than 128 levels");
      }
    }
    // No compressed body: labelled gzip (compressed or not), 415 before it is read.
    const labelled = await fetch(h.mcpUrl, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
        "content-encoding": "gzip",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    expect(labelled.status).toBe(415);
    expect(((await labelled.json()) as { error: { message: string } }).error.message).toMatch(
      /Content-Encoding "gzip"/,
    );
    expect(structured(await admin.callTool({ name: "get_system_health", arguments: {} }))).toMatchObject({
      status: "ok",
    });
  });

  it("counts a chunked body as it arrives (413 without a Content-Length), and outlives a client that hangs up mid-body", async () => {
    const token = await h.token(ADMIN);
    const headers = {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    };
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = http.request(h.mcpUrl, { method: "POST", headers }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      // No Content-Length: the size is only known by counting, chunk by chunk.
      const chunk = "z".repeat(64 * 1024);
      req.write(
        '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"create_ticket","arguments":{"title":"',
      );
      for (let i = 0; i < 40; i++) req.write(chunk);
      req.end('"}}}');
    });
    expect(chunked).toBe(413);

    await new Promise<void>((resolve) => {
      const req = http.request(h.mcpUrl, {
        method: "POST",
        headers: { ...headers, "content-length": "5000" },
      });
      req.on("error", () => resolve());
      req.write('{"jsonrpc":"2.0",');
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 100);
    });
    expect(structured(await admin.callTool({ name: "get_system_health", arguments: {} }))).toMatchObject({
      status: "ok",
    });
  });
});
