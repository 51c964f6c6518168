import type { Database } from "#kit/db/index.js";
import { CHAINED_COLUMNS } from "../audit/chain-hash.js";

// Every chained column plus the two hashes: a copy must carry exactly what verification reads.
const COLUMNS = [...CHAINED_COLUMNS, "prev_hash", "row_hash"];
const JSONB = new Set(["actor_chain", "arguments"]);

/**
 * Copies the audit table and its head from one MCP database into another (freshly migrated, empty)
 * one — PGlite or PostgreSQL — so a test can tamper with the copy and run the real CLI on it.
 * Values go through JavaScript and back, as any reader's would: the copy verifies if the original does.
 */
export async function copyAuditTrail(from: Database, to: Database): Promise<number> {
  const { rows } = await from.query(`SELECT ${COLUMNS.join(", ")} FROM audit_log ORDER BY id`);
  const { rows: head } = await from.query<{ seq: number; hash: string; legacy_rows: number }>(
    "SELECT seq, hash, legacy_rows FROM audit_head",
  );
  await to.transaction(async (tx) => {
    for (const r of rows) {
      await tx.query(
        `INSERT INTO audit_log (${COLUMNS.join(", ")}) VALUES (${COLUMNS.map((c, i) => `$${i + 1}${JSONB.has(c) ? "::jsonb" : ""}`).join(", ")})`,
        COLUMNS.map((c) => (JSONB.has(c) ? JSON.stringify(r[c]) : r[c])),
      );
    }
    const h = head[0];
    if (h)
      await tx.query("UPDATE audit_head SET seq = $1, hash = $2, legacy_rows = $3", [
        h.seq,
        h.hash,
        h.legacy_rows,
      ]);
    await tx.query(
      "SELECT setval(pg_get_serial_sequence('audit_log', 'id'), (SELECT coalesce(max(id), 0) + 1 FROM audit_log), false)",
    );
  });
  return rows.length;
}
