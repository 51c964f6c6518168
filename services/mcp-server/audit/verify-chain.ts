import type { Queryable } from "#kit/db/index.js";
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

/** The last row of the chain walked so far. */
interface Link {
  readonly seq: number;
  readonly id: number | undefined;
  readonly hash: string | null;
}

/** One verification's running state: what was seen, and what was found. */
interface Walk {
  readonly q: Queryable;
  readonly knownHead: string | undefined;
  readonly problems: ChainProblem[];
  problemCount: number;
  /** The head read before the walk (MAX seq when its row is missing). */
  readonly firstHead: { readonly seq: number };
  last: Link;
  chainRows: number;
  rowsExamined: number;
  knownFound: boolean;
  // Rows accepted beyond the head read first: the head read at the end decides whether they are real.
  readonly beyondFirstHead: { id: number; seq: number; hash: string | null; prev: Link }[];
}

/**
 * Walks the whole audit table in `seq` order and reports every row whose content no longer matches
 * its hash (edited), every gap in `seq` (deleted), every row outside the chain — without a seq, with
 * one below 1, with a repeated seq, or beyond the recorded head (inserted) — and every broken link.
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
  // A deleted head row is a finding, not a crash: walk the rows and report it at the end.
  const firstHead = (await readAuditHeadOrUndefined(q)) ?? { seq: Number.MAX_SAFE_INTEGER };
  const w: Walk = {
    q,
    knownHead: options.knownHead,
    problems: [],
    problemCount: 0,
    firstHead,
    last: { seq: 0, id: undefined, hash: GENESIS_HASH },
    chainRows: 0,
    rowsExamined: 0,
    knownFound: options.knownHead === GENESIS_HASH,
    beyondFirstHead: [],
  };
  await walk(w, undefined);
  const head = await headAfterWalk(w);
  checkChainEnd(w, head);
  await reportUnchained(w);
  if (options.knownHead !== undefined && !w.knownFound) {
    report(w, {
      kind: "rewritten",
      detail: `the earlier head ${options.knownHead} is not a row of this chain: the table was rewritten (or it is not this table's head)`,
    });
  }
  return {
    chainRows: w.chainRows,
    rowsExamined: w.rowsExamined,
    head,
    problems: w.problems,
    problemCount: w.problemCount,
    ...(options.knownHead === undefined
      ? {}
      : { knownHead: { hash: options.knownHead, found: w.knownFound } }),
  };
}

function report(w: Walk, p: ChainProblem): void {
  w.problemCount++;
  if (w.problems.length < MAX_LISTED) w.problems.push(p);
}

/** Examines every chained row after the last one walked, up to `upTo` when given, page by page. */
async function walk(w: Walk, upTo: number | undefined): Promise<void> {
  let cursor = { seq: w.last.seq, id: w.last.id ?? 0 };
  for (;;) {
    const { rows } = await w.q.query<Row>(
      `SELECT ${CHAINED_COLUMNS.join(", ")}, prev_hash, row_hash FROM audit_log
         WHERE seq >= 1 AND (seq > $1 OR (seq = $1 AND id > $2))${upTo === undefined ? "" : " AND seq <= $3"}
         ORDER BY seq, id LIMIT ${PAGE}`,
      upTo === undefined ? [cursor.seq, cursor.id] : [cursor.seq, cursor.id, upTo],
    );
    for (const r of rows) examine(w, r);
    const end = rows[rows.length - 1];
    if (!end || rows.length < PAGE) return;
    cursor = { seq: end.seq, id: end.id };
  }
}

function examine(w: Walk, r: Row): void {
  w.rowsExamined++;
  if (!inTheChain(w, r)) return;
  reportLinkProblem(w, r);
  if (chainHash(r.prev_hash, r) !== r.row_hash) {
    report(w, { kind: "edited", id: r.id, seq: r.seq, detail: "its content does not match its row_hash" });
  }
  if (r.seq > w.firstHead.seq)
    w.beyondFirstHead.push({ id: r.id, seq: r.seq, hash: r.row_hash, prev: w.last });
  w.last = { seq: r.seq, id: r.id, hash: r.row_hash };
  w.chainRows++;
  if (r.row_hash === w.knownHead) w.knownFound = true;
}

/** A row with a repeated seq, or without hashes, is not the chain's: reported inserted. */
function inTheChain(w: Walk, r: Row): r is Row & { prev_hash: string; row_hash: string } {
  const detail =
    r.seq <= w.last.seq
      ? `seq ${r.seq} is already taken by an earlier row`
      : r.row_hash === null || r.prev_hash === null
        ? "has a seq but no hash: not written by the chain"
        : undefined;
  if (detail === undefined) return true;
  report(w, { kind: "inserted", id: r.id, seq: r.seq, detail });
  return false;
}

/** A gap before the row (deleted rows), or a link to something other than the row before it. */
function reportLinkProblem(w: Walk, r: Row): void {
  const { last } = w;
  if (r.seq > last.seq + 1) {
    const missing = r.seq - last.seq - 1;
    report(w, {
      kind: "deleted",
      id: r.id,
      seq: r.seq,
      detail: `${missing === 1 ? `seq ${last.seq + 1} is` : `seq ${last.seq + 1}..${r.seq - 1} (${missing} rows) are`} missing, between ${last.id === undefined ? "the start" : `row id ${last.id}`} and row id ${r.id}`,
    });
  } else if (r.prev_hash !== last.hash) {
    report(w, {
      kind: "broken_link",
      id: r.id,
      seq: r.seq,
      detail: `its prev_hash does not match the hash of ${last.id === undefined ? "the chain's start" : `row id ${last.id} (seq ${last.seq})`}: that row was replaced, or edited and re-hashed`,
    });
  }
}

/** The head read after the walk, and the rows appended meanwhile walked too. */
async function headAfterWalk(w: Walk): Promise<AuditHead> {
  const storedHead = await readAuditHeadOrUndefined(w.q);
  // Without its row the head is taken to be where the rows end, and reported missing.
  const head: AuditHead = storedHead ?? { seq: w.last.seq, hash: w.last.hash, legacyRows: 0 };
  if (storedHead === undefined) {
    report(w, {
      kind: "head_mismatch",
      detail:
        "audit_head has no row: the chain's head was deleted (the server appends nothing until it is back)",
    });
  }
  // Appended while we walked: committed together with the head we just read.
  if (w.last.seq < head.seq) await walk(w, head.seq);
  if (storedHead !== undefined && head.hash === null) {
    report(w, {
      kind: "head_mismatch",
      detail:
        head.legacyRows > 0 && head.legacyRows === head.seq
          ? `audit_head.hash is NULL for ${head.legacyRows} row(s): unsealed. Nothing seals it at open or verify; rows older than the chain are sealed only by npm run audit -- --seal-legacy, which refuses a chain the witness has seen`
          : "audit_head.hash is NULL: the head was unsealed",
    });
  }
  return head;
}

/** Rows beyond the recorded head (forged), and a chain that ends short of its head or elsewhere. */
function checkChainEnd(w: Walk, head: AuditHead): void {
  const forged = w.beyondFirstHead.filter((r) => r.seq > head.seq);
  for (const r of forged) {
    report(w, {
      kind: "inserted",
      id: r.id,
      seq: r.seq,
      detail: `beyond the chain's recorded head (seq ${head.seq})`,
    });
    w.chainRows--;
  }
  const end = forged[0]?.prev ?? w.last;
  if (end.seq < head.seq) {
    report(w, {
      kind: "deleted",
      seq: end.seq + 1,
      detail: `the chain ends at seq ${end.seq} but its head records seq ${head.seq}: the last ${head.seq - end.seq} row(s) are missing`,
    });
  } else if (head.hash !== null && end.hash !== head.hash) {
    report(w, {
      kind: "head_mismatch",
      ...(end.id === undefined ? {} : { id: end.id }),
      seq: end.seq,
      detail: "the last row's hash is not the head recorded in audit_head",
    });
  }
}

/**
 * Rows without a seq, or with one below 1 (the chain counts from 1; the walk starts there): outside
 * the chain, every one counted, the first MAX_LISTED listed.
 */
async function reportUnchained(w: Walk): Promise<void> {
  const { rows: outside } = await w.q.query<{ id: number; seq: number | null } & Record<string, unknown>>(
    `SELECT id, seq FROM audit_log WHERE seq IS NULL OR seq < 1 ORDER BY id LIMIT ${MAX_LISTED + 1}`,
  );
  const { rows: outsideCount } = await w.q.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM audit_log WHERE seq IS NULL OR seq < 1",
  );
  const unchained = outsideCount[0]?.n ?? 0;
  w.rowsExamined += unchained;
  for (const r of outside.slice(0, MAX_LISTED)) {
    report(w, {
      kind: "inserted",
      id: r.id,
      ...(r.seq === null ? {} : { seq: r.seq }),
      detail:
        r.seq === null
          ? "not in the chain (no seq)"
          : `not in the chain (seq ${r.seq}: the chain counts from 1)`,
    });
  }
  w.problemCount += Math.max(0, unchained - Math.min(outside.length, MAX_LISTED));
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
