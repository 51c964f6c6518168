import type { Database } from "#kit/db/index.js";
import type { Logger } from "#kit/log/index.js";

/** Evicts never-used clients until one more fits; false when the table is full of clients in use. */
export async function makeRoom(db: Database, maxClients: number, logger: Logger): Promise<boolean> {
  const { rows } = await db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM oidc_models WHERE model = 'Client'",
  );
  const stored = rows[0]?.n ?? 0;
  if (stored < maxClients) return true;
  const evicted = await db.query(
    `DELETE FROM oidc_models WHERE model = 'Client' AND id IN (
       SELECT c.id FROM oidc_models c
        WHERE c.model = 'Client' AND NOT EXISTS (
          SELECT 1 FROM oidc_models g WHERE g.model = 'Grant' AND g.payload->>'clientId' = c.id)
        ORDER BY c.created_at, c.id LIMIT $1)
     RETURNING id`,
    [stored - maxClients + 1],
  );
  if (evicted.rows.length > 0) {
    logger.info({ clients: evicted.rows.length }, "never-used oauth clients evicted for a registration");
  }
  return stored - evicted.rows.length < maxClients;
}
