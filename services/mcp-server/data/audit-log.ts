import type { Queryable } from "#kit/db/index.js";
import {
  type ChainedContent,
  chainHash,
  OPTIONAL_CHAINED_COLUMNS,
  REQUIRED_CHAINED_COLUMNS,
} from "../audit/chain-hash.js";
import { lockAuditHead } from "./audit-head.js";
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

/**
 * Appends one row to the hash chain, inside `tx` (a ticket change and its row commit together).
 * See `appendAuditEntries`.
 */
export function appendAuditEntry(tx: Queryable, e: AuditEntry): Promise<void> {
  return appendAuditEntries(tx, [e]);
}

/**
 * Appends `entries`, in order, to the hash chain inside `tx`: lock the head (reserving one row id
 * per entry), hash each row's content with the previous row's hash, then insert every row and move
 * the head in one statement. `at` is set here, not by the database, so the hash can cover it.
 * Several rows in one call are the audit's group commit (audit/group-commit.ts): one lock, one
 * statement and one commit for many calls' rows, each row still linked to the one before it.
 */
export async function appendAuditEntries(tx: Queryable, entries: readonly AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const head = await lockAuditHead(tx, entries.length);
  const at = new Date();
  let prev = head.hash;
  const params: unknown[] = [];
  const rows: string[] = [];
  for (const [i, e] of entries.entries()) {
    const content = chainedContent(e, head.nextIds[i] as number, head.seq + i + 1, at);
    const rowHash = chainHash(prev, content);
    const n = params.length;
    rows.push(`(${ROW_PLACEHOLDERS.map((cast, k) => `$${n + k + 3}${cast}`).join(", ")})`);
    params.push(...rowParams(content, rowHash, prev));
    prev = rowHash;
  }
  await tx.query(
    `WITH moved AS (UPDATE audit_head SET seq = $1, hash = $2)
     INSERT INTO audit_log (${INSERTED_COLUMNS.join(", ")})
     VALUES ${rows.join(",\n            ")}`,
    [head.seq + entries.length, prev, ...params],
  );
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

/** Newest first. */
export async function queryAuditLog(q: Queryable, f: AuditQuery): Promise<AuditRecord[]> {
  const w = new Where();
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
