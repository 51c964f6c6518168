import type { Queryable } from "#kit/db/index.js";

/**
 * Takes `count` row ids from `audit_log`'s sequence, ascending. An id taken and never used is a
 * gap, as a rolled-back insert leaves one; ids are unique, and the chain's order is `seq`, not id.
 */
export async function reserveAuditIds(q: Queryable, count: number): Promise<number[]> {
  const { rows } = await q.query<{ id: number }>(
    "SELECT nextval(pg_get_serial_sequence('audit_log', 'id')) AS id FROM generate_series(1, $1::int)",
    [count],
  );
  return rows.map((r) => r.id).sort((a, b) => a - b);
}
