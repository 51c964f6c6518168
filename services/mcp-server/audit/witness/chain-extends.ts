import type { Queryable } from "#kit/db/index.js";
import { CHAINED_COLUMNS, type ChainedContent, chainHash, GENESIS_HASH } from "../chain-hash.js";

const PAGE = 1_000;

type Row = ChainedContent & { prev_hash: string | null; row_hash: string | null } & Record<string, unknown>;

/**
 * Why the rows up to `head` do not extend the witnessed `anchor` (row `anchor.seq` still carries
 * the witnessed hash, and every row after it links to the one before and matches its own hash), or
 * undefined when they do. Run before each checkpoint on the rows since the last one, so the server
 * never signs a head that does not contain what the witness already holds.
 */
export async function chainExtensionProblem(
  q: Queryable,
  anchor: { readonly seq: number; readonly hash: string },
  head: { readonly seq: number; readonly hash: string },
): Promise<string | undefined> {
  let last = { seq: anchor.seq, hash: anchor.hash };
  if (anchor.seq > 0) {
    const { rows } = await q.query<{ row_hash: string | null }>(
      "SELECT row_hash FROM audit_log WHERE seq = $1",
      [anchor.seq],
    );
    if (rows.length !== 1 || rows[0]?.row_hash !== anchor.hash) {
      return `row seq ${anchor.seq} no longer carries the witnessed hash ${anchor.hash}`;
    }
  } else if (anchor.hash !== GENESIS_HASH) {
    return "the witnessed empty chain has a hash other than the genesis hash";
  }
  while (last.seq < head.seq) {
    const { rows } = await q.query<Row>(
      `SELECT ${CHAINED_COLUMNS.join(", ")}, prev_hash, row_hash FROM audit_log
       WHERE seq > $1 AND seq <= $2 ORDER BY seq, id LIMIT ${PAGE}`,
      [last.seq, head.seq],
    );
    if (rows.length === 0) break;
    for (const r of rows) {
      if (r.seq !== last.seq + 1) return `seq ${last.seq + 1} is missing or repeated (found seq ${r.seq})`;
      if (r.prev_hash !== last.hash) return `row seq ${r.seq} does not link to row seq ${last.seq}`;
      if (r.row_hash === null || chainHash(r.prev_hash, r) !== r.row_hash) {
        return `row seq ${r.seq}'s content does not match its row_hash`;
      }
      last = { seq: r.seq, hash: r.row_hash };
    }
  }
  if (last.seq !== head.seq) return `the chain ends at seq ${last.seq} but its head records seq ${head.seq}`;
  if (last.hash !== head.hash) return "the last row's hash is not the head recorded in audit_head";
  return undefined;
}
