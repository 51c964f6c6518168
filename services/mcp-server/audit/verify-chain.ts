import type { Queryable } from "../../kit/db/index.js";
import { type AuditHead, readAuditHeadOrUndefined } from "../data/audit-head.js";
import { CHAINED_COLUMNS, type ChainedContent, chainHash, GENESIS_HASH } from "./chain-hash.js";

export type ChainProblemKind =
  | "edited"
  | "deleted"
  | "inserted"
  | "broken_link"
  | "head_mismatch"
  | "rewritten"
  | "bad_checkpoint";

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
  /** What the witness said (`verifyWithWitness`); absent when it was not asked. */
  readonly witness?: WitnessStatus;
}

/** Rows after the witnessed checkpoint: appended since, not yet countersigned. */
export interface Unwitnessed {
  readonly from: number;
  readonly to: number;
}

/** The comparison with the identity service's newest checkpoint (docs/mcp-server.md, "Witnessed checkpoints"). */
export type WitnessStatus =
  | {
      readonly state: "checked";
      readonly seq: number;
      readonly hash: string;
      readonly at: Date;
      readonly reason: string;
      readonly witnessId: number;
      readonly unwitnessed?: Unwitnessed;
    }
  | { readonly state: "none"; readonly unwitnessed?: Unwitnessed }
  | { readonly state: "unreachable"; readonly detail: string };

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
 * a consistent chain. Only a head kept elsewhere shows that: the witness's checkpoint
 * (`verifyWithWitness`), or an earlier head passed as `knownHead`.
 *
 * It only reads: nothing is sealed or repaired, whatever it finds.
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

  // A deleted head row is a finding, not a crash: walk the rows and report it at the end.
  const firstHead = (await readAuditHeadOrUndefined(q)) ?? {
    seq: Number.MAX_SAFE_INTEGER,
    hash: null,
    legacyRows: 0,
  };
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
  const storedHead = await readAuditHeadOrUndefined(q);
  // Without its row the head is taken to be where the rows end, and reported missing.
  const head: AuditHead = storedHead ?? { seq: last.seq, hash: last.hash, legacyRows: 0 };
  if (storedHead === undefined) {
    report({
      kind: "head_mismatch",
      detail:
        "audit_head has no row: the chain's head was deleted (the server appends nothing until it is back)",
    });
  }
  // Appended while we walked: committed together with the head we just read.
  if (last.seq < head.seq) await walk(head.seq);

  if (storedHead !== undefined && head.hash === null) {
    report({
      kind: "head_mismatch",
      detail:
        head.legacyRows > 0 && head.legacyRows === head.seq
          ? `audit_head.hash is NULL for ${head.legacyRows} row(s): unsealed. Nothing seals it at open or verify; rows older than the chain are sealed only by npm run audit -- --seal-legacy, which refuses a chain the witness has seen`
          : "audit_head.hash is NULL: the head was unsealed",
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
  const witness = r.witness ? formatWitness(r.witness) : [];
  if (r.problemCount === 0) {
    const known = r.knownHead ? `; earlier head ${r.knownHead.hash} found in it` : "";
    return [`${r.chainRows} rows, chain intact, head ${head}${known}`, ...witness]
      .map((l) => `${l}\n`)
      .join("");
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
    // At least one space after the kind, aligned as before for the short ones.
    lines.push(`  ${p.kind.padEnd(12)} ${where ? `${where}: ` : ""}${p.detail}`);
  }
  if (r.problemCount > r.problems.length) lines.push(`  … and ${r.problemCount - r.problems.length} more`);
  lines.push(...witness);
  return `${lines.join("\n")}\n`;
}

const rowsOf = (u: Unwitnessed) => `${u.to - u.from + 1} row(s) (seq ${u.from}..${u.to})`;

/** The witness's part of the report: what was compared, and what is not covered yet. */
function formatWitness(w: WitnessStatus): string[] {
  switch (w.state) {
    case "unreachable":
      return [
        `witness UNREACHABLE: ${w.detail}`,
        "  the chain was checked against itself only: a table rewritten with its hashes recomputed, or cut short with its head moved back, would not show",
      ];
    case "none":
      return [
        `witness: it holds no checkpoint of this chain yet${w.unwitnessed ? `; not yet witnessed: ${rowsOf(w.unwitnessed)}` : ""}`,
      ];
    case "checked":
      return [
        `witness: checkpoint seq ${w.seq} (${w.reason} at ${w.at.toISOString()}, witness entry ${w.witnessId}) ${w.seq === 0 ? "(an empty chain)" : `hash ${w.hash}`}`,
        w.unwitnessed
          ? `not yet witnessed: ${rowsOf(w.unwitnessed)} after seq ${w.seq}`
          : "every row is witnessed",
      ];
  }
}
