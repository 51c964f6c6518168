import type { Database } from "#kit/db/index.js";
import { CHAINED_COLUMNS, type ChainedContent, chainHash, GENESIS_HASH } from "./chain-hash.js";

const SEAL_PAGE = 500;

/**
 * Chains the rows written before the chain existed (`npm run audit -- --seal-legacy`): migration
 * 0006 numbered them (`seq` 1..N by id) but cannot hash them (the canonical form is computed here).
 *
 * An explicit operator command, never part of opening, starting or verifying: run automatically it
 * laundered edits (edit a row, set `audit_head.hash` to NULL, and the next open re-sealed the
 * edited table). It refuses unless the table looks exactly as migration 0006 left it — head
 * unsealed, no row carrying a hash — and the caller has confirmed that the witness holds no
 * checkpoint of this chain (`witnessHasCheckpoint`): a chain the witness has seen was sealed before.
 * Returns the number of rows sealed and the new head hash.
 */
export async function sealLegacyRows(
  db: Database,
  witnessHasCheckpoint: boolean,
): Promise<{ rows: number; hash: string }> {
  if (witnessHasCheckpoint) {
    throw new Error(
      "refused: the witness holds checkpoints of this chain, so it was sealed before; this is tampering, not an upgrade",
    );
  }
  return db.transaction(async (tx) => {
    const { rows: heads } = await tx.query<{ seq: number; hash: string | null; legacy_rows: number }>(
      "SELECT seq, hash, legacy_rows FROM audit_head FOR UPDATE",
    );
    const head = heads[0];
    if (!head) throw new Error("refused: audit_head has no row");
    if (head.hash !== null) throw new Error("refused: the chain is sealed already");
    const { rows: hashed } = await tx.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM audit_log WHERE row_hash IS NOT NULL OR prev_hash IS NOT NULL",
    );
    if ((hashed[0]?.n ?? 0) > 0) {
      throw new Error(
        `refused: ${hashed[0]?.n} row(s) already carry hashes, so this is not a table migration 0006 left unsealed`,
      );
    }
    if (head.legacy_rows !== head.seq)
      throw new Error("refused: audit_head.legacy_rows differs from its seq");
    let prev = GENESIS_HASH;
    let after = 0;
    for (;;) {
      const { rows } = await tx.query<ChainedContent & Record<string, unknown>>(
        `SELECT ${CHAINED_COLUMNS.join(", ")} FROM audit_log
         WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT ${SEAL_PAGE}`,
        [after, head.legacy_rows],
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
    return { rows: head.legacy_rows, hash: prev };
  });
}
