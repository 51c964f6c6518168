import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AGENT_SCOPES, type Harness, startHarness, structured, type TestUser } from "./testing/harness.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

const USERS: TestUser[] = Array.from({ length: 50 }, (_, i) => ({
  sub: `u-concurrent-${String(i).padStart(2, "0")}`,
  email: `user${i}@company.com`,
  roles: ["support_agent"],
  scope: AGENT_SCOPES,
}));

describe("50 concurrent clients as 50 different users", () => {
  it("every ticket and every audit row names its own creator, and the server keeps serving", async () => {
    const clients: Client[] = await Promise.all(USERS.map(async (u) => h.connect(await h.token(u))));
    // All at once, several calls each, interleaved on the server.
    const results = await Promise.all(
      USERS.map(async (u, i) => {
        const client = clients[i] as Client;
        const created = [];
        for (let n = 0; n < 3; n++) {
          const out = structured(
            await client.callTool({
              name: "create_ticket",
              arguments: { title: `Ticket ${n} of ${u.sub}`, description: `by ${u.email}` },
            }),
          ) as { ticket: { id: number; title: string; created_by: string } };
          created.push(out.ticket);
        }
        const seenAs = structured(
          await client.callTool({ name: "list_tickets", arguments: { created_by: "me", limit: 100 } }),
        ) as {
          tickets: { created_by: string }[];
        };
        return { u, created, seenAs };
      }),
    );

    for (const { u, created, seenAs } of results) {
      for (const t of created) expect(t.created_by).toBe(u.sub);
      expect(seenAs.tickets).toHaveLength(3);
      expect(seenAs.tickets.every((t) => t.created_by === u.sub)).toBe(true);
    }

    // The database agrees: each title names the user recorded as its creator.
    const { rows: tickets } = await h.db.query<{ title: string; created_by: string; updated_by: string }>(
      "SELECT title, created_by, updated_by FROM tickets",
    );
    expect(tickets).toHaveLength(150);
    for (const t of tickets) {
      expect(t.title.endsWith(` of ${t.created_by}`)).toBe(true);
      expect(t.updated_by).toBe(t.created_by);
    }
    // …and so does the audit trail: each create_ticket row's user made that very call.
    const { rows: audit } = await h.db.query<{
      user_id: string;
      email: string;
      arguments: { title: string; description: string };
    }>("SELECT user_id, email, arguments FROM audit_log WHERE tool = 'create_ticket' AND outcome = 'ok'");
    expect(audit).toHaveLength(150);
    for (const a of audit) {
      expect(a.arguments.title.endsWith(` of ${a.user_id}`)).toBe(true);
      expect(a.arguments.description).toBe(`by ${a.email}`);
    }
    const perUser = await h.db.query<{ user_id: string; n: number }>(
      "SELECT user_id, count(*) AS n FROM audit_log GROUP BY user_id ORDER BY user_id",
    );
    expect(perUser.rows).toEqual(USERS.map((u) => ({ user_id: u.sub, n: 4 })));

    const health = structured(
      await (clients[0] as Client).callTool({ name: "get_system_health", arguments: {} }),
    );
    expect(health).toMatchObject({ status: "ok", sessions: { active: 50 } });
  });
});
