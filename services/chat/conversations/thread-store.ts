import { randomUUID } from "node:crypto";
import type { Database, Queryable } from "#kit/db/index.js";
import { TURN_STALE_MS } from "./turn-timing.js";
import { LIMIT_WINDOW_S, NO_USER_LIMITS, UserLimitReached, type UserLimits } from "./user-limits.js";
import { atReadCommitted, inLimitedTransaction, lockUser } from "./user-lock.js";

export interface ThreadRow {
  readonly id: string;
  readonly user_id: string;
  readonly agent_id: string;
  readonly title: string;
  readonly message_count: number;
  readonly created_at: Date;
  readonly updated_at: Date;
  /** updated_at in whole microseconds since the epoch: the exact keyset value (a Date keeps ms only). */
  readonly updated_us: number;
}

export type MessageRole = "user" | "assistant";
/**
 * pending: its turn is running; interrupted: its chat process died mid-turn; awaiting_confirmation:
 * a tool call waits for the user's yes (turn-store.ts).
 */
export type MessageStatus =
  | "complete"
  | "partial"
  | "failed"
  | "pending"
  | "interrupted"
  | "awaiting_confirmation";

export interface MessageRow {
  readonly id: string;
  readonly thread_id: string;
  readonly seq: number;
  readonly role: MessageRole;
  readonly content: string;
  readonly status: MessageStatus;
  readonly stop_reason: string | null;
  /** protobuf JSON of agent.v1.ToolCall, as the agent reported them. */
  readonly tool_calls: unknown[];
  /** protobuf JSON of agent.v1.Usage. */
  readonly usage: unknown;
  readonly created_at: Date;
}

export interface NewMessage {
  readonly role: MessageRole;
  readonly content: string;
  readonly status: MessageStatus;
  readonly stopReason?: string;
  readonly toolCalls?: readonly unknown[];
  readonly usage?: unknown;
}

/** Where the next page of a user's threads starts (newest first). */
export interface ThreadCursor {
  readonly updatedUs: number;
  readonly id: string;
}

const THREAD_COLUMNS = `id, user_id, agent_id, title, message_count, created_at, updated_at,
  (extract(epoch FROM updated_at) * 1000000)::int8 AS updated_us`;
export const MESSAGE_COLUMNS =
  "id, thread_id, seq, role, content, status, stop_reason, tool_calls, usage, created_at";
export const TITLE_MAX = 80;

/**
 * A new thread ($1 id, $2 user, $3 agent, $4 title), created when this statement runs — after any
 * wait for the user's lock, as the window it is counted in is measured (not at the transaction's
 * start, as `now()` would be). Its title is cut in characters by PostgreSQL, as a turn's first
 * line is (turn-store.ts): a JS slice counts UTF-16 units and could halve an emoji.
 */
const CREATE_THREAD_SQL = `INSERT INTO threads (id, user_id, agent_id, title, created_at, updated_at)
   VALUES ($1, $2, $3, left($4, ${TITLE_MAX}), statement_timestamp(), statement_timestamp())
   RETURNING ${THREAD_COLUMNS}`;

/**
 * The user $1's threads of the last minute, and in how many seconds the one that holds that count
 * at $2 leaves the window. `statement_timestamp()`: the transaction began before the lock's wait.
 */
const RECENT_THREADS_SQL = `WITH recent AS (
     SELECT created_at FROM threads
      WHERE user_id = $1 AND created_at > statement_timestamp() - make_interval(secs => ${LIMIT_WINDOW_S})
     UNION ALL
     SELECT created_at FROM deleted_threads
      WHERE user_id = $1 AND created_at > statement_timestamp() - make_interval(secs => ${LIMIT_WINDOW_S})
   )
   SELECT (SELECT count(*) FROM recent)::int AS threads,
     (SELECT extract(epoch FROM created_at + make_interval(secs => ${LIMIT_WINDOW_S}) - statement_timestamp())::float8
        FROM recent ORDER BY created_at DESC OFFSET greatest($2::int - 1, 0) LIMIT 1) AS retry_s`;

/**
 * Threads and messages. Every read of a thread is by (user, thread) — there is no way to reach
 * another user's thread through this store, so "not yours" and "does not exist" are one answer.
 */
export class ThreadStore {
  constructor(private readonly db: Database) {}

  /**
   * A new thread of `userId`. With a threads-per-minute limit (docs/chat.md, "Limits per user"), the
   * user's threads of the last minute are counted first, under their lock and in the same
   * transaction; one over the limit is not written and `UserLimitReached` is thrown.
   */
  async create(userId: string, agentId: string, title: string, limits = NO_USER_LIMITS): Promise<ThreadRow> {
    const params = [randomUUID(), userId, agentId, title];
    const created = async (q: Queryable) => {
      const row = (await q.query<ThreadRow & Record<string, unknown>>(CREATE_THREAD_SQL, params)).rows[0];
      if (!row) throw new Error("creating a thread inserted no row");
      return row;
    };
    if (limits.threadsPerMinute === 0) return created(this.db);
    return inLimitedTransaction(this.db, async (tx) => {
      lockUser(tx, userId);
      await refuseOverThreadLimit(tx, userId, limits);
      return created(tx);
    });
  }

  /**
   * Throws `UserLimitReached` if `userId` is already at the threads-per-minute limit, read without
   * the user's lock: a cheap early refusal, so a user past the limit costs no call elsewhere before
   * `create`, which counts again under the lock and decides.
   */
  async refuseOverLimit(userId: string, limits: UserLimits): Promise<void> {
    if (limits.threadsPerMinute > 0) await refuseOverThreadLimit(this.db, userId, limits);
  }

  /** Gives the user's thread a new title (cut as at creation); its place in the list is kept. */
  async rename(userId: string, threadId: string, title: string): Promise<ThreadRow | undefined> {
    const { rows } = await this.db.query<ThreadRow & Record<string, unknown>>(
      `UPDATE threads SET title = left($3, ${TITLE_MAX}) WHERE id = $1 AND user_id = $2
        RETURNING ${THREAD_COLUMNS}`,
      [threadId, userId, title],
    );
    return rows[0];
  }

  /**
   * Deletes the user's thread with its messages, turns and questions (cascade), unless one of its
   * turns is running. The thread's row is locked first: a turn being opened on it meanwhile either
   * committed before (and is seen running here) or fails its foreign key after. Its turns are locked
   * next, so one being taken over elsewhere is either seen running or no longer there to take; an
   * answer to a question takes its turn before the question (turn-store.ts `answer`), the same
   * order, so the two wait for each other rather than deadlock.
   */
  async delete(userId: string, threadId: string): Promise<"deleted" | "not_found" | "running"> {
    return this.db.transaction(async (tx) => {
      // Each statement below must see what a turn taken meanwhile committed.
      atReadCommitted(tx);
      const { rows } = await tx.query<{ id: string }>(
        "SELECT id FROM threads WHERE id = $1 AND user_id = $2 FOR UPDATE",
        [threadId, userId],
      );
      if (rows.length === 0) return "not_found";
      // Every turn of the thread, locked, and read as its last change left it: a turn being taken
      // over meanwhile is waited for and then seen running.
      const { rows: turns } = await tx.query<{ running: boolean }>(
        `SELECT (finished_at IS NULL AND interrupted_at IS NULL
                 AND heartbeat_at >= now() - make_interval(secs => ${TURN_STALE_MS / 1000})) AS running
           FROM turns WHERE thread_id = $1 FOR UPDATE`,
        [threadId],
      );
      if (turns.some((t) => t.running)) return "running";
      tx.send(
        `INSERT INTO deleted_threads (user_id, created_at)
         SELECT user_id, created_at FROM threads
          WHERE id = $1 AND created_at > statement_timestamp() - make_interval(secs => ${LIMIT_WINDOW_S})`,
        [threadId],
      );
      tx.send("DELETE FROM threads WHERE id = $1", [threadId]);
      return "deleted";
    });
  }

  async get(userId: string, threadId: string): Promise<ThreadRow | undefined> {
    const { rows } = await this.db.query<ThreadRow & Record<string, unknown>>(
      `SELECT ${THREAD_COLUMNS} FROM threads WHERE id = $1 AND user_id = $2`,
      [threadId, userId],
    );
    return rows[0];
  }

  /** Newest first; `limit + 1` rows are read so the caller knows whether a next page exists. */
  async list(
    userId: string,
    options: { agentId?: string; after?: ThreadCursor; limit: number },
  ): Promise<ThreadRow[]> {
    const { rows } = await this.db.query<ThreadRow & Record<string, unknown>>(
      `SELECT ${THREAD_COLUMNS} FROM threads
        WHERE user_id = $1
          AND ($2::text IS NULL OR agent_id = $2)
          AND ($3::int8 IS NULL OR (updated_at, id) < (timestamptz 'epoch' + $3::int8 * interval '1 microsecond', $4::text))
        ORDER BY updated_at DESC, id DESC
        LIMIT $5`,
      [
        userId,
        options.agentId ?? null,
        options.after?.updatedUs ?? null,
        options.after?.id ?? null,
        options.limit + 1,
      ],
    );
    return rows;
  }

  /** Oldest first, after message `afterSeq`; `limit + 1` rows (see list). */
  async messages(threadId: string, options: { afterSeq?: number; limit: number }): Promise<MessageRow[]> {
    const { rows } = await this.db.query<MessageRow & Record<string, unknown>>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages
        WHERE thread_id = $1 AND ($2::int8 IS NULL OR seq > $2)
        ORDER BY seq LIMIT $3`,
      [threadId, options.afterSeq ?? null, options.limit + 1],
    );
    return rows;
  }

  /** The last `limit` messages before message `beforeSeq` (or of all), oldest first: a turn's context. */
  async recent(threadId: string, limit: number, beforeSeq?: number): Promise<MessageRow[]> {
    const { rows } = await this.db.query<MessageRow & Record<string, unknown>>(
      `SELECT * FROM (SELECT ${MESSAGE_COLUMNS} FROM messages
          WHERE thread_id = $1 AND ($3::int8 IS NULL OR seq < $3) ORDER BY seq DESC LIMIT $2) AS last
        ORDER BY seq`,
      [threadId, limit, beforeSeq ?? null],
    );
    return rows;
  }
}

export function firstLine(text: string): string {
  return text.trim().split(/\r?\n/, 1)[0]?.trim() ?? "";
}

async function refuseOverThreadLimit(q: Queryable, userId: string, limits: UserLimits): Promise<void> {
  const { rows } = await q.query<{ threads: number; retry_s: number | null }>(RECENT_THREADS_SQL, [
    userId,
    limits.threadsPerMinute,
  ]);
  const recent = rows[0];
  if (recent && recent.threads >= limits.threadsPerMinute) {
    throw new UserLimitReached({
      limit: "threads_per_minute",
      allowed: limits.threadsPerMinute,
      retryAfterSec: recent.retry_s ?? LIMIT_WINDOW_S,
    });
  }
}
