import type { Config } from "#kit/config/index.js";
import type { Database } from "#kit/db/index.js";
import { SAMPLE_TICKET_AUTHOR, SAMPLE_TICKETS } from "./sample-tickets.js";

/**
 * Sample tickets only for `npm start` (NODE_ENV=development, its default): never in production, and
 * not under test (the harnesses run NODE_ENV=test, and many tests count tickets).
 */
export function wantsSampleTickets(config: Pick<Config, "NODE_ENV">): boolean {
  return config.NODE_ENV === "development";
}

/**
 * Seeds the sample tickets into an empty `tickets` table, in one transaction; returns how many it
 * inserted (0 when the table already has rows, deleted ones included). The table lock makes a second
 * replica starting at once wait and then find the rows, so nothing is ever inserted twice. No audit
 * row is written: this is not a user's tool call (docs/mcp-server.md, "Sample tickets").
 */
export async function seedSampleTickets(db: Database): Promise<number> {
  return db.transaction(async (tx) => {
    // SHARE ROW EXCLUSIVE conflicts with itself and with inserts: the emptiness check holds until COMMIT.
    await tx.query("LOCK TABLE tickets IN SHARE ROW EXCLUSIVE MODE");
    const { rows } = await tx.query<{ any: boolean }>("SELECT EXISTS (SELECT 1 FROM tickets) AS any");
    if (rows[0]?.any) return 0;
    for (const t of SAMPLE_TICKETS) {
      // Assignees by email: a seeded user's id is a placeholder until their first token re-keys it.
      await tx.query(
        `INSERT INTO tickets (title, description, status, priority, category, assignee_id, source,
                              created_by, updated_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5,
                 (SELECT id FROM users WHERE lower(email) = lower($6) ORDER BY source = 'token' DESC, id LIMIT 1),
                 'manual', $7, $7,
                 date_trunc('minute', now()) - make_interval(hours => $8::int),
                 date_trunc('minute', now()) - make_interval(hours => $9::int))`,
        [
          t.title,
          t.description,
          t.status,
          t.priority,
          t.category,
          t.assignee,
          SAMPLE_TICKET_AUTHOR,
          t.createdHoursAgo,
          t.updatedHoursAgo,
        ],
      );
    }
    return SAMPLE_TICKETS.length;
  });
}
