import type { PlainParam, Queryable, Transaction } from "#kit/db/index.js";
import {
  type ChainedContent,
  chainedTextAroundPosition,
  chainHash,
  OPTIONAL_CHAINED_COLUMNS,
  REQUIRED_CHAINED_COLUMNS,
} from "../audit/chain-hash.js";
import { HEAD_MISSING, HEAD_UNSEALED, lockAuditHead } from "./audit-head.js";
import { Where } from "./where.js";

export type AuditOutcome = "ok" | "error" | "refused";

/** One link of the delegation chain as an audit row stores it (current actor first). */
export interface AuditActor {
  sub: string;
  agent?: string;
}

/** One tool decision, allowed or refused (docs/mcp-server.md, "Audit trail"). */
export interface AuditEntry {
  userId: string;
  email: string | null;
  /** The current actor (outermost `act`). */
  actorSub: string | null;
  /** The acting agent (the first link of the chain that names one). */
  actorAgent: string | null;
  /** The whole verified chain, current actor first; empty for a user's own token. */
  actorChain: AuditActor[];
  anonymous: boolean;
  tool: string;
  /** Already redacted and size-capped. */
  arguments: unknown;
  outcome: AuditOutcome;
  errorCode: string | null;
  error: string | null;
  durationMs: number;
  traceId: string | null;
  requestId: string | null;
  sessionId: string | null;
  /** A confirmed destructive call: the user who said yes, and when the answer arrived (docs/mcp-server.md, "Confirmation before destruction"). */
  confirmedBy?: string | null;
  confirmedAt?: Date | null;
}

/** Where the chain ends: the last row's seq and hash (`audit_head`). */
export interface ChainPosition {
  readonly seq: number;
  readonly hash: string;
}

/**
 * Appends one row to the hash chain inside `tx` (a ticket change and its row commit together), in
 * one statement sent unawaited with the COMMIT behind it (kit/db `Transaction.send`): it locks the
 * head, takes the row's id and seq under the lock, hashes the row onto the head — SHA-256 of the
 * head's hash ‖ the text `chainHash` covers, which this process cut around the id and seq
 * (audit/chain-hash.ts `chainedTextAroundPosition`), so the database computes exactly the hash
 * `npm run audit -- --verify` recomputes — inserts it and moves the head. The head stays locked
 * until `tx` ends, as with `appendAuditEntries`, but no answer comes back to this process while it
 * is: every write in every process waits for the head, and holds it for this statement and the
 * COMMIT only, both run by the server one after the other (docs/mcp-server.md, "Tamper evidence
 * (hash chain)"). An append that would write nothing (the head missing or unsealed), or a row id
 * past 2^53 − 1 that readers could not read (kit/db), fails in the database, which aborts `tx`:
 * the transaction rejects with the reason and nothing of it is committed.
 */
export function appendAuditEntry(tx: Transaction, e: AuditEntry): void {
  // id and seq are placeholders here: the statement decides both under the lock.
  const row = chainedContent(e, 0, 0, new Date());
  const text = chainedTextAroundPosition(row);
  const values = rowParams(row, "", "");
  tx.send(APPEND_ONE, [
    text.prefix,
    text.middle,
    text.suffix,
    ...POSITIONED_COLUMNS.map((column) => plainParam(values[INSERTED_COLUMNS.indexOf(column)])),
    HEAD_UNSEALED,
    HEAD_MISSING,
    ID_PAST_SAFE_INTEGER,
  ]);
}

const ID_PAST_SAFE_INTEGER =
  'audit_log id past 2^53 - 1: a row its readers could not read is not written (docs/architecture.md, "Data")';

/** A row value as `Transaction.send` takes it: a timestamp as ISO 8601 text, the same instant. */
function plainParam(value: unknown): PlainParam {
  if (value instanceof Date) return value.toISOString();
  if (value === null || typeof value === "string" || typeof value === "number" || typeof value === "boolean")
    return value;
  throw new TypeError(`audit row value of type ${typeof value}`);
}

/**
 * Appends `entries`, in order, to the hash chain inside `tx`: lock the head (reserving one row id
 * per entry), hash each row's content with the previous row's hash, then insert every row and move
 * the head in one statement. `at` is set here, not by the database, so the hash can cover it.
 * Several rows in one call are the audit's group commit (audit/group-commit.ts): one lock, one
 * statement and one commit for many calls' rows, each row still linked to the one before it.
 * Returns the head as the lock found it and as this append left it.
 */
export async function appendAuditEntries(
  tx: Queryable,
  entries: readonly AuditEntry[],
): Promise<{ found: ChainPosition; written: ChainPosition }> {
  const head = await lockAuditHead(tx, entries.length);
  const found = { seq: head.seq, hash: head.hash };
  if (entries.length === 0) return { found, written: found };
  const chained = chainRows(entries, found, head.nextIds, 3, false);
  await tx.query(
    `WITH moved AS (UPDATE audit_head SET seq = $1, hash = $2)
     INSERT INTO audit_log (${INSERTED_COLUMNS.join(", ")})
     VALUES ${chained.values}`,
    [chained.end.seq, chained.end.hash, ...chained.params],
  );
  return { found, written: chained.end };
}

/**
 * Appends `entries` after `expected` in one statement of its own — no BEGIN, no lock held across
 * round trips, no COMMIT — if and only if the chain's head is still `expected`; otherwise writes
 * nothing (docs/mcp-server.md, "Tamper evidence (hash chain)"). The head's UPDATE is the
 * compare-and-set: on PostgreSQL a concurrent appender holding the head makes it wait, and it then
 * re-checks its condition against the row that appender committed. A head set to NULL never
 * matches, so an unsealed chain still stops appends (the locking path refuses it).
 *
 * `ids` are row ids already taken from the table's sequence, one per entry, ascending. Returns
 * the new head, or undefined when the head had moved and nothing was written.
 */
export async function appendAuditEntriesAfter(
  q: Queryable,
  entries: readonly AuditEntry[],
  expected: ChainPosition,
  ids: readonly number[],
): Promise<ChainPosition | undefined> {
  if (entries.length === 0) return expected;
  const chained = chainRows(entries, expected, ids, 5, true);
  const { rowCount } = await q.query(
    `WITH moved AS (UPDATE audit_head SET seq = $1, hash = $2 WHERE seq = $3 AND hash = $4 RETURNING 1)
     INSERT INTO audit_log (${INSERTED_COLUMNS.join(", ")})
     SELECT * FROM (VALUES ${chained.values}) AS v
      WHERE EXISTS (SELECT 1 FROM moved)`,
    [chained.end.seq, chained.end.hash, expected.seq, expected.hash, ...chained.params],
  );
  return rowCount === entries.length ? chained.end : undefined;
}

/**
 * The VALUES rows of `entries` hashed onto `start`, their placeholders numbered from
 * `firstPlaceholder`. `typed` casts every placeholder to its column's type, which a VALUES list
 * under SELECT needs (an INSERT's own VALUES takes the columns' types).
 */
function chainRows(
  entries: readonly AuditEntry[],
  start: ChainPosition,
  ids: readonly number[],
  firstPlaceholder: number,
  typed: boolean,
): { values: string; params: unknown[]; end: ChainPosition } {
  if (ids.length < entries.length) throw new Error("audit append: fewer row ids than rows");
  const at = new Date();
  const casts = typed ? TYPED_PLACEHOLDERS : ROW_PLACEHOLDERS;
  let prev = start.hash;
  const params: unknown[] = [];
  const rows: string[] = [];
  for (const [i, e] of entries.entries()) {
    const content = chainedContent(e, ids[i] as number, start.seq + i + 1, at);
    const rowHash = chainHash(prev, content);
    const n = params.length + firstPlaceholder;
    rows.push(`(${casts.map((cast, k) => `$${n + k}${cast}`).join(", ")})`);
    params.push(...rowParams(content, rowHash, prev));
    prev = rowHash;
  }
  return {
    values: rows.join(",\n            "),
    params,
    end: { seq: start.seq + entries.length, hash: prev },
  };
}

/** Columns of an inserted row, in the order of `rowParams`. */
const INSERTED_COLUMNS = [
  ...REQUIRED_CHAINED_COLUMNS,
  "row_hash",
  "prev_hash",
  ...OPTIONAL_CHAINED_COLUMNS,
] as const;
/** The JSON columns take their text as jsonb; every other placeholder takes its column's type. */
const ROW_PLACEHOLDERS = INSERTED_COLUMNS.map((c) =>
  c === "actor_chain" || c === "arguments" ? "::jsonb" : "",
);
/** Each inserted column's type (migrations 0004, 0006, 0008), for a VALUES list under SELECT. */
const COLUMN_TYPES: Record<(typeof INSERTED_COLUMNS)[number], string> = {
  id: "bigint",
  seq: "bigint",
  at: "timestamptz",
  user_id: "text",
  email: "text",
  actor_sub: "text",
  actor_agent: "text",
  actor_chain: "jsonb",
  anonymous: "boolean",
  tool: "text",
  arguments: "jsonb",
  outcome: "text",
  error_code: "text",
  error: "text",
  duration_ms: "double precision",
  trace_id: "text",
  request_id: "text",
  session_id: "text",
  row_hash: "text",
  prev_hash: "text",
  confirmed_by: "text",
  confirmed_at: "timestamptz",
};
const TYPED_PLACEHOLDERS = INSERTED_COLUMNS.map((c) => `::${COLUMN_TYPES[c]}`);

/** The inserted columns this process decides; id, seq and both hashes are decided under the lock. */
const POSITIONED_COLUMNS = INSERTED_COLUMNS.filter(
  (c) => c !== "id" && c !== "seq" && c !== "row_hash" && c !== "prev_hash",
);

/** The first of the three reasons `appendAuditEntry` passes after the row's columns. */
const REFUSAL_PLACEHOLDER = POSITIONED_COLUMNS.length + 4;

/**
 * `appendAuditEntry`'s statement: one UPDATE moves the head, and is the only access to it, so a
 * writer that waited for the head computes its SET from the head as the writer before it committed
 * it (READ COMMITTED re-evaluates an UPDATE against the newest row). The row's id is taken from the
 * sequence inside the hash ($1–$3: the text around the id and seq) and read back with `currval` in
 * RETURNING, which runs after the row is updated; `prev_hash` keeps the hash moved from
 * (migration 0009). A head without a hash matches nothing: no row, and then the last SELECT fails
 * the statement with the reason (migration 0010), as it does for an id readers could not read.
 */
const APPEND_ONE = `WITH moved AS (
    UPDATE audit_head SET
      seq = seq + 1,
      prev_hash = hash,
      hash = encode(sha256(convert_to(
        hash || $1::text || nextval(pg_get_serial_sequence('audit_log', 'id'))::text || $2::text || (seq + 1)::text || $3::text,
        'UTF8')), 'hex')
    WHERE hash IS NOT NULL
    RETURNING seq, hash AS row_hash, prev_hash, currval(pg_get_serial_sequence('audit_log', 'id')) AS id
  ), appended AS (
    INSERT INTO audit_log (id, seq, row_hash, prev_hash, ${POSITIONED_COLUMNS.join(", ")})
    SELECT moved.id, moved.seq, moved.row_hash, moved.prev_hash, ${POSITIONED_COLUMNS.map(
      (c, i) => `$${i + 4}::${COLUMN_TYPES[c]}`,
    ).join(", ")}
      FROM moved
    RETURNING id
  )
  SELECT CASE
    WHEN NOT EXISTS (SELECT 1 FROM appended)
      THEN audit_append_refused($${REFUSAL_PLACEHOLDER}::text, $${REFUSAL_PLACEHOLDER + 1}::text)
    WHEN (SELECT id FROM appended) > ${Number.MAX_SAFE_INTEGER} THEN audit_append_refused($${REFUSAL_PLACEHOLDER + 2}::text)
  END AS refused`;

function chainedContent(e: AuditEntry, id: number, seq: number, at: Date): ChainedContent {
  return {
    id,
    seq,
    at,
    user_id: e.userId,
    email: e.email,
    actor_sub: e.actorSub,
    actor_agent: e.actorAgent,
    actor_chain: e.actorChain,
    anonymous: e.anonymous,
    tool: e.tool,
    // Hash what jsonb will hold: JSON.stringify drops undefined members and turns -0 into 0.
    arguments: JSON.parse(JSON.stringify(e.arguments ?? {})),
    outcome: e.outcome,
    error_code: e.errorCode,
    error: e.error,
    duration_ms: e.durationMs,
    trace_id: e.traceId,
    request_id: e.requestId,
    session_id: e.sessionId,
    confirmed_by: e.confirmedBy ?? null,
    confirmed_at: e.confirmedAt ?? null,
  };
}

function rowParams(c: ChainedContent, rowHash: string, prevHash: string): unknown[] {
  return [
    c.id,
    c.seq,
    c.at,
    c.user_id,
    c.email,
    c.actor_sub,
    c.actor_agent,
    JSON.stringify(c.actor_chain),
    c.anonymous,
    c.tool,
    JSON.stringify(c.arguments),
    c.outcome,
    c.error_code,
    c.error,
    c.duration_ms,
    c.trace_id,
    c.request_id,
    c.session_id,
    rowHash,
    prevHash,
    c.confirmed_by ?? null,
    c.confirmed_at ?? null,
  ];
}

/** An audit row as read back (admin endpoint, `npm run audit`). */
export interface AuditRecord {
  id: number;
  at: string;
  user_id: string;
  email: string | null;
  actor_sub: string | null;
  actor_agent: string | null;
  actor_chain: AuditActor[];
  anonymous: boolean;
  tool: string;
  arguments: unknown;
  outcome: AuditOutcome;
  error_code: string | null;
  error: string | null;
  duration_ms: number;
  trace_id: string | null;
  request_id: string | null;
  session_id: string | null;
  /** Who confirmed a destructive call (user id), and when; null on every other row. */
  confirmed_by: string | null;
  confirmed_at: string | null;
  /** Position in the hash chain (contiguous from 1). */
  seq: number | null;
  prev_hash: string | null;
  row_hash: string | null;
}

export interface AuditQuery {
  /** A user id or an email (case-insensitive). */
  user?: string;
  since?: Date;
  until?: Date;
  tool?: string;
  outcome?: AuditOutcome;
  traceId?: string;
  limit: number;
}

export const AUDIT_QUERY_MAX_LIMIT = 1000;

/**
 * Newest first; the chain's rows only (seq 1 to the head): a row outside it — no seq, one below 1,
 * or beyond the head — was not written by the chain, and is shown by `npm run audit -- --verify`
 * as inserted, never listed as a record of what someone did.
 */
export async function queryAuditLog(q: Queryable, f: AuditQuery): Promise<AuditRecord[]> {
  const w = new Where();
  w.add("seq >= 1 AND seq <= (SELECT seq FROM audit_head)");
  if (f.user !== undefined) w.add("(user_id = ? OR lower(email) = lower(?))", f.user, f.user);
  if (f.since) w.add("at >= ?", f.since);
  if (f.until) w.add("at < ?", f.until);
  if (f.tool !== undefined) w.add("tool = ?", f.tool);
  if (f.outcome !== undefined) w.add("outcome = ?", f.outcome);
  if (f.traceId !== undefined) w.add("trace_id = ?", f.traceId);
  const limit = Math.min(Math.max(1, f.limit), AUDIT_QUERY_MAX_LIMIT);
  const { rows } = await q.query<
    Omit<AuditRecord, "at" | "confirmed_at"> & { at: Date; confirmed_at: Date | null }
  >(
    `SELECT id, at, user_id, email, actor_sub, actor_agent, actor_chain, anonymous, tool, arguments, outcome,
            error_code, error, duration_ms, trace_id, request_id, session_id, confirmed_by, confirmed_at,
            seq, prev_hash, row_hash
     FROM audit_log ${w} ORDER BY at DESC, id DESC LIMIT ${w.param(limit)}`,
    w.params,
  );
  return rows.map((r) => ({
    ...r,
    at: r.at.toISOString(),
    confirmed_at: r.confirmed_at?.toISOString() ?? null,
  }));
}
