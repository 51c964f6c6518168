import type { Transaction } from "#kit/db/index.js";
import { TURN_STALE_MS } from "./turn-timing.js";
import {
  LIMIT_WINDOW_S,
  type LimitReached,
  OPEN_TURNS_RETRY_S,
  UserLimitReached,
  type UserLimits,
} from "./user-limits.js";

/**
 * What a turn's run is to the limits per user (docs/chat.md, "Limits per user"):
 * - `new`: a turn opened — a run of the minute, and one running;
 * - `again`: the agent run again on a turn by the user's call — a repeat of a turn that ended
 *   without its whole answer (the caller went away, an error), or an answer to its question, each
 *   of which may ask again — a run of the minute too, and one running;
 * - `goes_on`: a turn resumed after its chat process died — one running, but no run of the minute
 *   (nothing the user did made it run again).
 */
export type RunKind = "new" | "again" | "goes_on";

/** Whose run, under which limits. */
export interface UserGate {
  readonly userId: string;
  readonly limits: UserLimits;
}

export const limitsOn = (gate: UserGate | undefined): gate is UserGate =>
  gate !== undefined && (gate.limits.turnsPerMinute > 0 || gate.limits.openTurns > 0);

/**
 * The user's runs of the last minute (the ledger `turn_runs`), in how many seconds the one that
 * holds that count at $2 leaves the window, the user's turns running now but $3 (a turn being
 * taken over), and whether the thread $4 already has the turn of request $5 and input $6.
 * `statement_timestamp()`: the transaction began before the wait for the user's lock.
 */
const COUNTS_SQL = `SELECT
   (SELECT count(*) FROM turn_runs
     WHERE user_id = $1 AND started_at > statement_timestamp() - make_interval(secs => ${LIMIT_WINDOW_S}))::int AS runs,
   (SELECT extract(epoch FROM started_at + make_interval(secs => ${LIMIT_WINDOW_S}) - statement_timestamp())::float8
      FROM turn_runs
     WHERE user_id = $1 AND started_at > statement_timestamp() - make_interval(secs => ${LIMIT_WINDOW_S})
     ORDER BY started_at DESC OFFSET greatest($2::int - 1, 0) LIMIT 1) AS runs_retry_s,
   (SELECT count(*) FROM turns
     WHERE user_id = $1 AND finished_at IS NULL AND interrupted_at IS NULL
       AND heartbeat_at >= statement_timestamp() - make_interval(secs => ${TURN_STALE_MS / 1000})
       AND message_id IS DISTINCT FROM $3)::int AS running,
   EXISTS (SELECT 1 FROM turns
            WHERE thread_id = $4 AND request_id = $5 AND input_digest = md5($6) AND input = $6) AS repeat`;

interface Counts {
  readonly runs: number;
  readonly runs_retry_s: number | null;
  readonly running: number;
  readonly repeat: boolean;
}

/**
 * Inside `inUserLock`: refuses (`UserLimitReached`) a run the user's limits do not allow, or says
 * `repeat` when the thread already has this request's turn (a copy of it, opened while this one
 * waited for the lock: its repeat, never refused). Counts only; the run itself is recorded by
 * `recordRun` once the caller made it.
 */
export async function admitRun(
  tx: Transaction,
  gate: UserGate,
  kind: RunKind,
  target: {
    readonly messageId?: string;
    readonly request?: { threadId: string; requestId: string; input: string };
  },
): Promise<"admitted" | "repeat"> {
  const { limits } = gate;
  const { rows } = await tx.query<Counts & Record<string, unknown>>(COUNTS_SQL, [
    gate.userId,
    limits.turnsPerMinute,
    target.messageId ?? null,
    target.request?.threadId ?? null,
    target.request?.requestId ?? null,
    target.request?.input ?? null,
  ]);
  const counts = rows[0];
  if (!counts) throw new Error("counting a user's turns returned no row");
  if (counts.repeat) return "repeat";
  const reached = limitReached(counts, limits, kind);
  if (reached) throw new UserLimitReached(reached);
  return "admitted";
}

function limitReached(counts: Counts, limits: UserLimits, kind: RunKind): LimitReached | undefined {
  if (kind !== "goes_on" && limits.turnsPerMinute > 0 && counts.runs >= limits.turnsPerMinute) {
    return {
      limit: "turns_per_minute",
      allowed: limits.turnsPerMinute,
      retryAfterSec: counts.runs_retry_s ?? LIMIT_WINDOW_S,
    };
  }
  if (limits.openTurns > 0 && counts.running >= limits.openTurns) {
    return { limit: "open_turns", allowed: limits.openTurns, retryAfterSec: OPEN_TURNS_RETRY_S };
  }
  return undefined;
}

/**
 * Records a run of the minute (`new`, `again`) in the ledger, and forgets the user's runs the
 * window has passed: the table holds at most a minute of each user's runs (an idle user's last
 * minute stays until their next run). Sent unawaited: the COMMIT follows it.
 */
export function recordRun(tx: Transaction, gate: UserGate, kind: RunKind): void {
  if (kind === "goes_on" || gate.limits.turnsPerMinute === 0) return;
  tx.send(
    `DELETE FROM turn_runs
      WHERE user_id = $1 AND started_at <= statement_timestamp() - make_interval(secs => ${LIMIT_WINDOW_S})`,
    [gate.userId],
  );
  tx.send("INSERT INTO turn_runs (user_id, started_at) VALUES ($1, statement_timestamp())", [gate.userId]);
}

/**
 * Forgets every user's runs, and creations of threads since deleted, that the window has passed
 * (the keeper's sweep; sent unawaited).
 */
export function forgetPassedCounts(tx: Transaction): void {
  tx.send(
    `DELETE FROM turn_runs WHERE started_at <= statement_timestamp() - make_interval(secs => ${LIMIT_WINDOW_S})`,
  );
  tx.send(
    `DELETE FROM deleted_threads WHERE created_at <= statement_timestamp() - make_interval(secs => ${LIMIT_WINDOW_S})`,
  );
}
