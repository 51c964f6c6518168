import type { Queryable } from "../../kit/db/index.js";
import { Where } from "./where.js";

export type AuditOutcome = "ok" | "error" | "refused";

/** One tool call, allowed or refused (brief §5). */
export interface AuditEntry {
  userId: string;
  email: string | null;
  actorSub: string | null;
  actorAgent: string | null;
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
}

export async function insertAuditEntry(q: Queryable, e: AuditEntry): Promise<void> {
  await q.query(
    `INSERT INTO audit_log (user_id, email, actor_sub, actor_agent, anonymous, tool, arguments, outcome,
                            error_code, error, duration_ms, trace_id, request_id, session_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11, $12, $13, $14)`,
    [
      e.userId,
      e.email,
      e.actorSub,
      e.actorAgent,
      e.anonymous,
      e.tool,
      JSON.stringify(e.arguments ?? {}),
      e.outcome,
      e.errorCode,
      e.error,
      e.durationMs,
      e.traceId,
      e.requestId,
      e.sessionId,
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
  const { rows } = await q.query<Omit<AuditRecord, "at"> & { at: Date }>(
    `SELECT id, at, user_id, email, actor_sub, actor_agent, anonymous, tool, arguments, outcome, error_code, error,
            duration_ms, trace_id, request_id, session_id
     FROM audit_log ${w} ORDER BY at DESC, id DESC LIMIT ${w.param(limit)}`,
    w.params,
  );
  return rows.map((r) => ({ ...r, at: r.at.toISOString() }));
}
