import type { Queryable } from "../../kit/db/index.js";
import { type AuditHead, readAuditHead } from "../data/audit-head.js";
import { CHAINED_COLUMNS, type ChainedContent, chainHash, GENESIS_HASH } from "./chain-hash.js";

export type ChainProblemKind =
  | "edited"
  | "deleted"
  | "inserted"
  | "broken_link"
  | "head_mismatch"
  | "rewritten";

export interface ChainProblem {
  readonly kind: ChainProblemKind;
  /** The row concerned (for `deleted`: the row after the gap). */
  readonly id?: number;
  readonly seq?: number;
  readonly detail: string;
}

export interface ChainReport {
  /** Rows that form the chain (seq 1..head, whatever their content). */
  readonly chainRows: number;
  /** Every row looked at, those outside the chain included. */
  readonly rowsExamined: number;
  /** The head as recorded in `audit_head` at the end of the walk. */
  readonly head: AuditHead;
  readonly problems: readonly ChainProblem[];
  /** Problems found; `problems` keeps the first MAX_LISTED. */
  readonly problemCount: number;
  /** An earlier head the caller asked about, and whether it is still a row of the chain. */
  readonly knownHead?: { readonly hash: string; readonly found: boolean };
}

const PAGE = 1_000;
export const MAX_LISTED = 1_000;

type Row = ChainedContent & { prev_hash: string | null; row_hash: string | null } & Record<string, unknown>;

/**
 * Walks the whole audit table in `seq` order and reports every row whose content no longer matches
 * its hash (edited), every gap in `seq` (deleted), every row outside the chain — without a seq, with
 * a repeated seq, or beyond the recorded head (inserted) — and every broken link.
 *
 * No long transaction (on PGlite one would stall the server): rows are read in pages, then the head,
 * then whatever was appended meanwhile. Every append moves the head in the transaction that inserts
 * its row, so a row read before the head that lies beyond it was not appended by this server.
 *
 * The limit: someone who rewrites the whole table and `audit_head`, recomputing every hash, leaves
 * a consistent chain. Only an earlier head kept elsewhere (the server logs it on start and stop;
 * this report prints it) shows that: pass it as `knownHead`.
 */
export async function verifyAuditChain(
  q: Queryable,
  options: { knownHead?: string } = {},
): Promise<ChainReport> {
  const problems: ChainProblem[] = [];
  let problemCount = 0;
  const report = (p: ChainProblem) => {
    problemCount++;
    if (problems.length < MAX_LISTED) problems.push(p);
  };

  const firstHead = await readAuditHead(q);
  let last = { seq: 0, id: undefined as number | undefined, hash: GENESIS_HASH as string | null };
  let chainRows = 0;
  let rowsExamined = 0;
  let knownFound = options.knownHead === GENESIS_HASH;
  // Rows accepted beyond the head read first: the head read at the end decides whether they are real.
  const beyondFirstHead: { id: number; seq: number; hash: string | null; prev: typeof last }[] = [];

  const examine = (r: Row) => {
    rowsExamined++;
    if (r.seq <= last.seq) {
      report({
        kind: "inserted",
        id: r.id,
        seq: r.seq,
        detail: `seq ${r.seq} is already taken by an earlier row`,
      });
      return;
    }
    if (r.row_hash === null || r.prev_hash === null) {
      report({
        kind: "inserted",
        id: r.id,
        seq: r.seq,
        detail: "has a seq but no hash: not written by the chain",
      });
      return;
    }
    if (r.seq > last.seq + 1) {
      const missing = r.seq - last.seq - 1;
      report({
        kind: "deleted",
        id: r.id,
        seq: r.seq,
        detail: `${missing === 1 ? `seq ${last.seq + 1} is` : `seq ${last.seq + 1}..${r.seq - 1} (${missing} rows) are`} missing, between ${last.id === undefined ? "the start" : `row id ${last.id}`} and row id ${r.id}`,
      });
    } else if (r.prev_hash !== last.hash) {
      report({
        kind: "broken_link",
        id: r.id,
        seq: r.seq,
        detail: `its prev_hash does not match the hash of ${last.id === undefined ? "the chain's start" : `row id ${last.id} (seq ${last.seq})`}: that row was replaced, or edited and re-hashed`,
      });
    }
    if (chainHash(r.prev_hash, r) !== r.row_hash) {
      report({ kind: "edited", id: r.id, seq: r.seq, detail: "its content does not match its row_hash" });
    }
    if (r.seq > firstHead.seq) beyondFirstHead.push({ id: r.id, seq: r.seq, hash: r.row_hash, prev: last });
    last = { seq: r.seq, id: r.id, hash: r.row_hash };
    chainRows++;
    if (r.row_hash === options.knownHead) knownFound = true;
  };

  const walk = async (upTo: number | undefined) => {
    let cursor = { seq: last.seq, id: last.id ?? 0 };
    for (;;) {
      const { rows } = await q.query<Row>(
        `SELECT ${CHAINED_COLUMNS.join(", ")}, prev_hash, row_hash FROM audit_log
         WHERE seq IS NOT NULL AND (seq > $1 OR (seq = $1 AND id > $2))${upTo === undefined ? "" : " AND seq <= $3"}
         ORDER BY seq, id LIMIT ${PAGE}`,
        upTo === undefined ? [cursor.seq, cursor.id] : [cursor.seq, cursor.id, upTo],
      );
      for (const r of rows) examine(r);
      const end = rows[rows.length - 1];
      if (!end || rows.length < PAGE) return;
      cursor = { seq: end.seq, id: end.id };
    }
  };

  await walk(undefined);
  const head = await readAuditHead(q);
  // Appended while we walked: committed together with the head we just read.
  if (last.seq < head.seq) await walk(head.seq);

  if (head.hash === null) {
    report({
      kind: "head_mismatch",
      detail: `the ${head.legacyRows} rows older than the chain are not sealed yet (the server seals them when it opens the database)`,
    });
  }
  const forged = beyondFirstHead.filter((r) => r.seq > head.seq);
  for (const r of forged) {
    report({
      kind: "inserted",
      id: r.id,
      seq: r.seq,
      detail: `beyond the chain's recorded head (seq ${head.seq})`,
    });
    chainRows--;
  }
  const end = forged[0]?.prev ?? last;
  if (end.seq < head.seq) {
    report({
      kind: "deleted",
      seq: end.seq + 1,
      detail: `the chain ends at seq ${end.seq} but its head records seq ${head.seq}: the last ${head.seq - end.seq} row(s) are missing`,
    });
  } else if (head.hash !== null && end.hash !== head.hash) {
    report({
      kind: "head_mismatch",
      ...(end.id === undefined ? {} : { id: end.id }),
      seq: end.seq,
      detail: "the last row's hash is not the head recorded in audit_head",
    });
  }

  const { rows: outside } = await q.query<{ id: number } & Record<string, unknown>>(
    `SELECT id FROM audit_log WHERE seq IS NULL ORDER BY id LIMIT ${MAX_LISTED + 1}`,
  );
  const { rows: outsideCount } = await q.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM audit_log WHERE seq IS NULL",
  );
  const unchained = outsideCount[0]?.n ?? 0;
  rowsExamined += unchained;
  for (const r of outside.slice(0, MAX_LISTED)) {
    report({ kind: "inserted", id: r.id, detail: "not in the chain (no seq)" });
  }
  problemCount += Math.max(0, unchained - Math.min(outside.length, MAX_LISTED));

  if (options.knownHead !== undefined && !knownFound) {
    report({
      kind: "rewritten",
      detail: `the earlier head ${options.knownHead} is not a row of this chain: the table was rewritten (or it is not this table's head)`,
    });
  }
  return {
    chainRows,
    rowsExamined,
    head,
    problems,
    problemCount,
    ...(options.knownHead === undefined ? {} : { knownHead: { hash: options.knownHead, found: knownFound } }),
  };
}

/** The report as the CLI prints it: one line when intact, else one line per problem. */
export function formatChainReport(r: ChainReport): string {
  const head = r.head.hash ?? "(unsealed)";
  if (r.problemCount === 0) {
    const known = r.knownHead ? `; earlier head ${r.knownHead.hash} found in it` : "";
    return `${r.chainRows} rows, chain intact, head ${head}${known}\n`;
  }
  const lines = [
    `audit chain NOT intact: ${r.problemCount} problem(s) in ${r.rowsExamined} rows (head seq ${r.head.seq} ${head})`,
  ];
  for (const p of r.problems) {
    const where = [
      p.id === undefined ? undefined : `row id ${p.id}`,
      p.seq === undefined ? undefined : `seq ${p.seq}`,
    ]
      .filter(Boolean)
      .join(", ");
    lines.push(`  ${p.kind.padEnd(13)}${where ? `${where}: ` : ""}${p.detail}`);
  }
  if (r.problemCount > r.problems.length) lines.push(`  … and ${r.problemCount - r.problems.length} more`);
  return `${lines.join("\n")}\n`;
}
