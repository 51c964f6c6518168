import type { Database, Queryable } from "../../kit/db/index.js";
import { CHAINED_COLUMNS, type ChainedContent, chainHash, GENESIS_HASH } from "../audit/chain-hash.js";

/**
 * The audit chain's head: the one row of `audit_head` (seq and hash of the last audit row). Every
 * append locks it in the transaction that inserts the row, so appends are serialized and each row
 * links to the one committed before it, on PGlite and on PostgreSQL with many connections alike.
 */
export interface AuditHead {
  /** Seq of the last row (0 for an empty chain). */
  readonly seq: number;
  /** `row_hash` of the last row; GENESIS_HASH for an empty chain; null until the rows that existed
   * before the chain (migration 0006) are sealed. */
  readonly hash: string | null;
  /** How many rows predate the chain (sealed once, at the first open after the upgrade). */
  readonly legacyRows: number;
}

interface HeadRow extends Record<string, unknown> {
  seq: number;
  hash: string | null;
  legacy_rows: number;
}

const toHead = (r: HeadRow): AuditHead => ({ seq: r.seq, hash: r.hash, legacyRows: r.legacy_rows });

/** Reads the head without locking (verification, logging). */
export async function readAuditHead(q: Queryable): Promise<AuditHead> {
  const { rows } = await q.query<HeadRow>("SELECT seq, hash, legacy_rows FROM audit_head");
  if (!rows[0]) throw new Error("audit_head has no row: the audit chain's head was removed");
  return toHead(rows[0]);
}

/**
 * Locks the head for the rest of `tx` and reserves the next row id, sealing the pre-chain rows
 * first if that has not happened yet. Concurrent appenders wait here until `tx` ends; on
 * PostgreSQL the waiter then reads the head as the committed transaction left it.
 */
export async function lockAuditHead(tx: Queryable): Promise<AuditHead & { hash: string; nextId: number }> {
  const { rows } = await tx.query<HeadRow & { next_id: number }>(
    `SELECT seq, hash, legacy_rows, nextval(pg_get_serial_sequence('audit_log', 'id')) AS next_id
     FROM audit_head FOR UPDATE`,
  );
  const row = rows[0];
  if (!row) throw new Error("audit_head has no row: the audit chain's head was removed");
  const head = toHead(row);
  const hash = head.hash ?? (await sealLegacyRows(tx, head));
  return { ...head, hash, nextId: row.next_id };
}

const SEAL_PAGE = 500;

/**
 * Chains the rows written before the chain existed: migration 0006 numbered them (`seq` 1..N by
 * id) but cannot hash them (the canonical form is computed here, in one place). Runs once, under
 * the head's lock; returns the new head hash. What was edited before this ran cannot be detected.
 */
async function sealLegacyRows(tx: Queryable, head: AuditHead): Promise<string> {
  let prev = GENESIS_HASH;
  let after = 0;
  for (;;) {
    const { rows } = await tx.query<ChainedContent & Record<string, unknown>>(
      `SELECT ${CHAINED_COLUMNS.join(", ")} FROM audit_log
       WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT ${SEAL_PAGE}`,
      [after, head.legacyRows],
    );
    if (rows.length === 0) break;
    const sealed = rows.map((r) => {
      const rowHash = chainHash(prev, r);
      const link = { id: r.id, prev_hash: prev, row_hash: rowHash };
      prev = rowHash;
      return link;
    });
    await tx.query(
      `UPDATE audit_log a SET prev_hash = v.prev_hash, row_hash = v.row_hash
       FROM jsonb_to_recordset($1::jsonb) AS v(id bigint, prev_hash text, row_hash text)
       WHERE a.id = v.id`,
      [JSON.stringify(sealed)],
    );
    after = rows[rows.length - 1]?.seq ?? after;
  }
  await tx.query("UPDATE audit_head SET hash = $1", [prev]);
  return prev;
}

/**
 * Seals the pre-chain rows if needed (at open, so the first tool call doesn't) and returns the head.
 * (Sealing reserves one row id it doesn't use: ids may have gaps, `seq` never does.)
 */
export async function sealAuditChain(db: Database): Promise<AuditHead> {
  const head = await readAuditHead(db);
  if (head.hash !== null) return head;
  return db.transaction(async (tx) => {
    const locked = await lockAuditHead(tx);
    return { seq: locked.seq, hash: locked.hash, legacyRows: locked.legacyRows };
  });
}
