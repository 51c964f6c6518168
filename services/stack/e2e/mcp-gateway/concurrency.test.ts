import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "#services/identity/passwords/password-hash.js";
import { startTestStack, type TestStack } from "../../testing/test-stack.js";

const USERS = 100;
const PASSWORD = "concurrency-test-password";
let stack: TestStack;

beforeAll(async () => {
  // The point here is attribution under interleaving, not latency: on the embedded database 100
  // first calls queue behind each other's writes for seconds, so the gateway's bounds are widened.
  stack = await startTestStack({ LOG_LEVEL: "info", MCP_CONNECT_TIMEOUT: "60s", MCP_CALL_TIMEOUT: "60s" });
  // 100 real users in the identity provider's database. One low-cost scrypt hash shared by all
  // (hashes carry their own cost parameters), so 100 real logins stay quick.
  const hash = await hashPassword(PASSWORD, { N: 2 ** 10, r: 8, p: 1 });
  await stack.identity.database.transaction(async (tx) => {
    for (let i = 0; i < USERS; i++) {
      const id = randomUUID();
      await tx.query("INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $3, $4)", [
        id,
        `user${i}@company.com`,
        `User ${i}`,
        hash,
      ]);
      await tx.query("INSERT INTO user_roles (user_id, role) VALUES ($1, 'support_agent')", [id]);
    }
  });
}, 120_000);
afterAll(async () => {
  await stack?.close();
});

describe("100 concurrent callers as different users on one gateway", () => {
  it("every result and every audit row belongs to its caller", async () => {
    const callers = await Promise.all(
      Array.from({ length: USERS }, async (_, i) => ({
        i,
        ...(await stack.login(`user${i}@company.com`, PASSWORD)),
      })),
    );
    expect(new Set(callers.map((c) => c.userId)).size).toBe(USERS);
    const gw = stack.gatewayClient();
    const ROUNDS = 3;
    // Interleaved: each caller creates, reads back and lists its tickets, all callers at once.
    const results = await Promise.all(
      callers.map(async (c) => {
        const headers = { authorization: `Bearer ${c.accessToken}` };
        const mine: { id: number; created_by: string; title: string }[] = [];
        for (let r = 0; r < ROUNDS; r++) {
          const title = `ticket of user${c.i} round ${r}`;
          const created = await gw.callTool(
            {
              name: "create_ticket",
              argumentsJson: JSON.stringify({ title, description: `by ${c.userId}` }),
            },
            { headers },
          );
          const ticket = (
            JSON.parse(created.structuredContentJson) as {
              ticket: { id: number; created_by: string; title: string };
            }
          ).ticket;
          mine.push(ticket);
          const read = await gw.callTool(
            { name: "get_ticket", argumentsJson: JSON.stringify({ ticket_id: ticket.id }) },
            { headers },
          );
          expect((JSON.parse(read.structuredContentJson) as { ticket: { title: string } }).ticket.title).toBe(
            title,
          );
        }
        return { caller: c, mine };
      }),
    );

    let misattributed = 0;
    for (const { caller, mine } of results) {
      for (const t of mine) {
        if (t.created_by !== caller.userId || !t.title.startsWith(`ticket of user${caller.i} `))
          misattributed++;
      }
    }
    expect(misattributed).toBe(0);

    // The database agrees: every ticket's creator is the user named in its title.
    const ids = new Map(callers.map((c) => [c.userId, c.i]));
    const { rows: tickets } = await stack.mcpDb.query<{ title: string; created_by: string }>(
      "SELECT title, created_by FROM tickets WHERE title LIKE 'ticket of user%'",
    );
    expect(tickets).toHaveLength(USERS * ROUNDS);
    for (const t of tickets) expect(t.title.startsWith(`ticket of user${ids.get(t.created_by)} `)).toBe(true);

    // And so does the audit trail: one ok row per call, each naming the caller whose ticket it touched.
    const { rows: audit } = await stack.mcpDb.query<{
      user_id: string;
      tool: string;
      outcome: string;
      arguments: unknown;
      actor_sub: string;
    }>(
      "SELECT user_id, tool, outcome, arguments, actor_sub FROM audit_log WHERE tool IN ('create_ticket', 'get_ticket') AND user_id = ANY($1::text[])",
      [[...ids.keys()]],
    );
    expect(audit).toHaveLength(USERS * ROUNDS * 2);
    for (const row of audit) {
      expect(row.outcome).toBe("ok");
      expect(row.actor_sub).toBe("mcp-gateway");
      if (row.tool === "create_ticket") {
        const args = (typeof row.arguments === "string" ? JSON.parse(row.arguments) : row.arguments) as {
          description: string;
        };
        expect(args.description).toBe(`by ${row.user_id}`);
      }
    }
    // One MCP session per principal, no more.
    expect(stack.gateway.pool.size).toBeGreaterThanOrEqual(USERS);
    expect(stack.gateway.pool.size).toBeLessThanOrEqual(USERS + 3);
  }, 180_000);
});
