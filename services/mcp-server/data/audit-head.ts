import type { Queryable } from "#kit/db/index.js";

/**
 * The audit chain's head: the one row of `audit_head` (seq and hash of the last audit row). Every
 * append locks it in the transaction that inserts the row, so appends are serialized and each row
 * links to the one committed before it, on PGlite and on PostgreSQL with many connections alike.
 */
export interface AuditHead {
  /** Seq of the last row (0 for an empty chain). */
  readonly seq: number;
  /** `row_hash` of the last row; GENESIS_HASH for an empty chain; null until the rows that existed
   * before the chain (migration 0006) are sealed by `npm run audit -- --seal-legacy`. */
  readonly hash: string | null;
  /** How many rows predate the chain (migration 0006 numbered them). */
  readonly legacyRows: number;
}

interface HeadRow extends Record<string, unknown> {
  seq: number;
  hash: string | null;
  legacy_rows: number;
}

const toHead = (r: HeadRow): AuditHead => ({ seq: r.seq, hash: r.hash, legacyRows: r.legacy_rows });

/** Reads the head without locking (verification, logging); undefined when its row was deleted. */
export async function readAuditHeadOrUndefined(q: Queryable): Promise<AuditHead | undefined> {
  const { rows } = await q.query<HeadRow>("SELECT seq, hash, legacy_rows FROM audit_head");
  return rows[0] ? toHead(rows[0]) : undefined;
}

/** Reads the head without locking; throws when its row was deleted. */
export async function readAuditHead(q: Queryable): Promise<AuditHead> {
  const head = await readAuditHeadOrUndefined(q);
  if (!head) throw new Error(HEAD_MISSING);
  return head;
}

/** Why nothing is appended to a chain without a head row. */
export const HEAD_MISSING = "audit_head has no row: the audit chain's head was removed";
/** Why nothing is appended to a chain whose head has no hash. */
export const HEAD_UNSEALED =
  "audit_head.hash is NULL: the chain is unsealed and nothing is appended to it (npm run audit -- --verify; docs/mcp-server.md)";

/** Why nothing can be appended to a chain whose head is `head` (missing, or without a hash). */
export function appendRefused(head: AuditHead | undefined): Error {
  return new Error(head ? HEAD_UNSEALED : HEAD_MISSING);
}

/**
 * Locks the head for the rest of `tx` and reserves `count` row ids (ascending). Concurrent
 * appenders wait here until `tx` ends; on PostgreSQL the waiter then reads the head as the
 * committed transaction left it.
 *
 * A head without a hash is refused, never sealed here: sealing at append or open is what let an
 * edit be laundered by setting `audit_head.hash` to NULL (docs/mcp-server.md, "Rows older than the
 * chain"). Tool calls then fail until an operator has looked.
 */
export async function lockAuditHead(
  tx: Queryable,
  count = 1,
): Promise<AuditHead & { hash: string; nextIds: number[] }> {
  // One text for any count, with a parameter: a prepared statement on PostgreSQL (kit/db).
  const { rows } = await tx.query<HeadRow & { next_id: number }>(
    `SELECT h.seq, h.hash, h.legacy_rows, nextval(pg_get_serial_sequence('audit_log', 'id')) AS next_id
       FROM audit_head h CROSS JOIN generate_series(1, $1::int) FOR UPDATE OF h`,
    [count],
  );
  const row = rows[0];
  const head = row ? toHead(row) : undefined;
  if (!head || head.hash === null) throw appendRefused(head);
  // Ids follow seq within one append, as they always have (readers order by id).
  const nextIds = rows.map((r) => r.next_id).sort((a, b) => a - b);
  return { ...head, hash: head.hash, nextIds };
}
