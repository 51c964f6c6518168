import type { Queryable } from "../../kit/db/index.js";
import { type ChainedContent, chainHash } from "../audit/chain-hash.js";
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
 * Appends one row to the hash chain, inside `tx` (a ticket change and its row commit together):
 * lock the head, hash the row's content with the previous row's hash, insert the row and move the
 * head in one statement. `at` is set here, not by the database, so the hash can cover it.
 */
export async function appendAuditEntry(tx: Queryable, e: AuditEntry): Promise<void> {
  const head = await lockAuditHead(tx);
  const content: ChainedContent = {
    id: head.nextId,
    seq: head.seq + 1,
    at: new Date(),
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
  const rowHash = chainHash(head.hash, content);
  await tx.query(
    `WITH moved AS (UPDATE audit_head SET seq = $2, hash = $19)
     INSERT INTO audit_log (id, seq, at, user_id, email, actor_sub, actor_agent, actor_chain, anonymous, tool,
                            arguments, outcome, error_code, error, duration_ms, trace_id, request_id, session_id,
                            row_hash, prev_hash, confirmed_by, confirmed_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11::jsonb, $12, $13, $14, $15, $16, $17, $18, $19, $20,
             $21, $22)`,
    [
      content.id,
      content.seq,
      content.at,
      content.user_id,
      content.email,
      content.actor_sub,
      content.actor_agent,
      JSON.stringify(content.actor_chain),
      content.anonymous,
      content.tool,
      JSON.stringify(content.arguments),
      content.outcome,
      content.error_code,
      content.error,
      content.duration_ms,
      content.trace_id,
      content.request_id,
      content.session_id,
      rowHash,
      head.hash,
      content.confirmed_by,
      content.confirmed_at,
    ],
  );
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
