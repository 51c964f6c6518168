import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Database, Queryable, Transaction } from "#kit/db/index.js";
import { firstLine, MESSAGE_COLUMNS, type MessageRow, type NewMessage, TITLE_MAX } from "./thread-store.js";
import {
  admitRun,
  forgetPassedCounts,
  limitsOn,
  type RunKind,
  recordRun,
  type UserGate,
} from "./turn-limits.js";
import { TURN_STALE_MS } from "./turn-timing.js";
import { inLimitedTransaction, lockUser } from "./user-lock.js";

export { TURN_HEARTBEAT_MS, TURN_STALE_MS } from "./turn-timing.js";

/** A turn as stored: its two messages and what running it again needs. */
export interface TurnRow {
  readonly message_id: string;
  readonly user_message_id: string;
  readonly thread_id: string;
  readonly request_id: string;
  readonly input: string;
  readonly owner: string;
  readonly interrupted: boolean;
  readonly finished: boolean;
  /** The owner's heartbeat is older than TURN_STALE_MS: its process is gone. */
  readonly stale: boolean;
}

/** A question of a turn: a tool call waiting for the user's yes (docs/chat.md, "Confirmation before destruction"). */
export interface ConfirmationRow {
  readonly id: string;
  readonly message_id: string;
  readonly tool_call_id: string;
  readonly tool_name: string;
  readonly arguments_json: string;
  readonly arguments_summary: string;
  readonly question: string;
  readonly action: string;
  /** The agent's ConfirmationRequired.resume_state, base64. */
  readonly resume_state: string;
  /** NULL until answered. */
  readonly confirmed: boolean | null;
  readonly answered_by: string | null;
}

export interface NewConfirmation {
  readonly id: string;
  readonly toolCallId: string;
  readonly toolName: string;
  readonly argumentsJson: string;
  readonly argumentsSummary: string;
  readonly question: string;
  readonly action: string;
  readonly resumeState: Uint8Array;
}

const CONFIRMATION_COLUMNS = `c.id, c.message_id, c.tool_call_id, c.tool_name, c.arguments_json, c.arguments_summary,
  c.question, c.action, c.resume_state, c.confirmed, c.answered_by`;

/** What the agent said so far, written while the turn runs (status stays 'pending'). */
export interface TurnProgress {
  readonly content: string;
  readonly toolCalls: readonly unknown[];
}

const TURN_COLUMNS = `message_id, user_message_id, thread_id, request_id, input, owner,
  interrupted_at IS NOT NULL AS interrupted, finished_at IS NOT NULL AS finished,
  heartbeat_at < now() - make_interval(secs => ${TURN_STALE_MS / 1000}) AS stale`;

/**
 * Opens a turn (`TurnStore.begin`): $1 user message id, $2 assistant message id, $3 thread, $4
 * request id, $5 input, $6 owner, $7 title. The turn names the thread's user (limits per user count
 * by it). Nothing is written when the thread already has the turn of this request and input.
 */
const BEGIN_TURN_SQL = `WITH turn AS (
     INSERT INTO turns (message_id, user_message_id, thread_id, user_id, request_id, input, input_digest, owner)
     SELECT $2, $1, $3, th.user_id, $4, $5, md5($5), $6 FROM threads th WHERE th.id = $3
     ON CONFLICT (thread_id, request_id, input_digest) DO NOTHING
     RETURNING message_id
   ), inserted AS (
     INSERT INTO messages (id, thread_id, role, content, status)
     SELECT v.id, v.thread_id, v.role, v.content, v.status
       FROM (VALUES (1, $1, $3, 'user', $5, 'complete'), (2, $2, $3, 'assistant', '', 'pending'))
            AS v(n, id, thread_id, role, content, status)
      WHERE EXISTS (SELECT 1 FROM turn)
      ORDER BY v.n
     RETURNING ${MESSAGE_COLUMNS}
   ), thread AS (
     UPDATE threads SET message_count = message_count + 2, updated_at = now(),
       title = CASE WHEN title = '' THEN left($7, ${TITLE_MAX}) ELSE title END
     WHERE id = $3 AND EXISTS (SELECT 1 FROM turn)
   )
   SELECT * FROM inserted`;

/**
 * Durable turns in the chat database. Every statement is keyed by the turn's assistant message id
 * and, where a turn changes hands, conditional on the state it was read in, so two processes can
 * never both run one turn.
 */
export class TurnStore {
  /**
   * The turns this process runs now, counted per turn (a repeat on this process may run one turn
   * twice at once): taken when this process becomes the owner (begin, claim, reopen, answer), given
   * back by `release` when the run ends. What the heartbeat keeps owned; while there is none, the
   * heartbeat writes nothing.
   */
  private readonly running = new Map<string, number>();

  /** `owner`: this process, named once per start. */
  constructor(
    private readonly db: Database,
    readonly owner: string = randomUUID(),
  ) {}

  /** The turn a repeated request names: same thread, same x-request-id, same input (one at most). */
  async findRepeat(threadId: string, requestId: string, input: string): Promise<TurnRow | undefined> {
    const { rows } = await this.db.query<TurnRow & Record<string, unknown>>(
      `SELECT ${TURN_COLUMNS} FROM turns
        WHERE thread_id = $1 AND request_id = $2 AND input_digest = md5($3) AND input = $3`,
      [threadId, requestId, input],
    );
    return rows[0];
  }

  /**
   * Opens a turn: the turn row, the user message and the pending assistant message, and the
   * thread's count and title — one statement, and atomic as a transaction is: a thread never shows
   * a user message whose turn is not recorded. Undefined, with nothing written, when the thread
   * already has a turn for this request id and input (`turns_one_per_request`): another copy of the
   * request opened it first, and this one is its repeat — never refused by a limit. The two messages
   * are one multi-row INSERT, so the user's takes its `seq` first.
   *
   * With `gate`'s limits on (docs/chat.md, "Limits per user"), the user's turns are counted first,
   * under their lock and in the same transaction; a turn over a limit is not written and
   * `UserLimitReached` is thrown. Without, the statement runs alone: one round trip.
   */
  async begin(
    threadId: string,
    requestId: string,
    input: string,
    gate?: UserGate,
  ): Promise<{ userMessage: MessageRow; assistantMessage: MessageRow } | undefined> {
    const userMessageId = randomUUID();
    const assistantMessageId = randomUUID();
    const params = [
      userMessageId,
      assistantMessageId,
      threadId,
      requestId,
      input,
      this.owner,
      firstLine(input),
    ];
    const rows = limitsOn(gate)
      ? await inLimitedTransaction(this.db, async (tx) => {
          lockUser(tx, gate.userId);
          if ((await admitRun(tx, gate, "new", { request: { threadId, requestId, input } })) === "repeat")
            return [];
          const { rows } = await tx.query<MessageRow & Record<string, unknown>>(BEGIN_TURN_SQL, params);
          if (rows.length > 0) recordRun(tx, gate, "new");
          return rows;
        })
      : (await this.db.query<MessageRow & Record<string, unknown>>(BEGIN_TURN_SQL, params)).rows;
    if (rows.length === 0) return undefined;
    const userMessage = rows.find((r) => r.id === userMessageId);
    const assistantMessage = rows.find((r) => r.id === assistantMessageId);
    if (!userMessage || !assistantMessage) throw new Error("opening a turn inserted no messages");
    this.hold(assistantMessageId);
    return { userMessage, assistantMessage };
  }

  /**
   * Runs `change` (a statement taking a turn to run here; true when it took it) under `gate`'s
   * limits as a run of `kind`, when they are on. The user's lock comes first, as everywhere a
   * user's counts are taken (one lock order: no deadlock with a turn being finished meanwhile); then
   * the turn is taken, and only a turn taken is counted — so a repeat that finds its turn running
   * elsewhere counts nothing and is never refused; over a limit the taking is rolled back
   * (`UserLimitReached`).
   */
  private async taking(
    gate: UserGate | undefined,
    kind: RunKind,
    messageId: string,
    change: (q: Queryable) => Promise<boolean>,
  ): Promise<boolean> {
    if (!limitsOn(gate)) return change(this.db);
    return inLimitedTransaction(this.db, async (tx) => {
      lockUser(tx, gate.userId);
      if (!(await change(tx))) return false;
      await admitRun(tx, gate, kind, { messageId });
      recordRun(tx, gate, kind);
      return true;
    });
  }

  /**
   * Whether `claim` could take `turn` as it was read: it is unfinished, no run here holds it, and it
   * was interrupted, its owner is gone, or its owner is this process. A repeat waiting for a turn
   * another live process runs then only reads the turn each time it looks, and tries nothing else.
   */
  mayClaim(turn: TurnRow): boolean {
    return (
      !turn.finished &&
      !this.running.has(turn.message_id) &&
      (turn.interrupted || turn.stale || turn.owner === this.owner)
    );
  }

  /**
   * Takes an interrupted turn, or one whose owner is gone, to run it again here; false when it is
   * finished or still owned by a live process (then the caller waits and looks again). This process
   * is such a process while it runs the turn: a repeat that reaches it then waits for that run,
   * rather than running the turn a second time beside it; a turn of its own that no run here holds
   * any more (its run failed before finishing it) is taken again. Under `gate`'s limits, a turn
   * going on: it must find a place among the user's turns running (`taking`).
   */
  async claim(messageId: string, gate?: UserGate): Promise<boolean> {
    if (this.running.has(messageId)) return false;
    const took = await this.taking(gate, "goes_on", messageId, async (q) => {
      const { rows } = await q.query(
        `UPDATE turns SET owner = $2, heartbeat_at = now(), interrupted_at = NULL
          WHERE message_id = $1 AND finished_at IS NULL
            AND (interrupted_at IS NOT NULL OR owner = $2
                 OR heartbeat_at < now() - make_interval(secs => ${TURN_STALE_MS / 1000}))
          RETURNING message_id`,
        [messageId, this.owner],
      );
      return rows.length > 0;
    });
    if (!took) return false;
    await this.takeOver(messageId);
    return true;
  }

  /**
   * Reopens a finished turn whose outcome is not the whole answer (it ended in an error, or a tool
   * call's outcome was never confirmed) to run it again here, with the same keys; false when
   * another process reopened it first. Under `gate`'s limits, a run of the minute and one more
   * running (`taking`).
   */
  async reopen(messageId: string, gate?: UserGate): Promise<boolean> {
    const took = await this.taking(gate, "again", messageId, async (q) => {
      const { rows } = await q.query(
        `UPDATE turns SET owner = $2, heartbeat_at = now(), interrupted_at = NULL, finished_at = NULL
          WHERE message_id = $1 AND finished_at IS NOT NULL
          RETURNING message_id`,
        [messageId, this.owner],
      );
      return rows.length > 0;
    });
    if (!took) return false;
    await this.takeOver(messageId);
    return true;
  }

  /** Records what the agent said and did so far (tool calls as they start and finish). */
  async progress(messageId: string, progress: TurnProgress): Promise<void> {
    await this.db.query(
      "UPDATE messages SET content = $2, tool_calls = $3::jsonb WHERE id = $1 AND status = 'pending'",
      [messageId, progress.content, JSON.stringify(progress.toolCalls)],
    );
  }

  /**
   * Writes the turn's outcome into its message and closes the turn — with the question a turn
   * stopped at (its message then 'awaiting_confirmation') — in one statement: one round trip,
   * atomic as a transaction is.
   */
  async finish(messageId: string, outcome: NewMessage, confirmation?: NewConfirmation): Promise<MessageRow> {
    const params: unknown[] = [
      messageId,
      outcome.content,
      outcome.status,
      outcome.stopReason ?? null,
      JSON.stringify(outcome.toolCalls ?? []),
      outcome.usage === undefined ? null : JSON.stringify(outcome.usage),
    ];
    if (confirmation) {
      params.push(
        confirmation.id,
        confirmation.toolCallId,
        confirmation.toolName,
        confirmation.argumentsJson,
        confirmation.argumentsSummary,
        confirmation.question,
        confirmation.action,
        Buffer.from(confirmation.resumeState).toString("base64"),
      );
    }
    const { rows } = await this.db.query<MessageRow & Record<string, unknown>>(
      `WITH message AS (
         UPDATE messages SET content = $2, status = $3, stop_reason = $4, tool_calls = $5::jsonb, usage = $6::jsonb
          WHERE id = $1 RETURNING ${MESSAGE_COLUMNS}
       ), turn AS (
         UPDATE turns SET finished_at = now() WHERE message_id = $1
       ), thread AS (
         UPDATE threads SET updated_at = now() WHERE id = (SELECT thread_id FROM message)
       )${
         confirmation
           ? `, question AS (
         INSERT INTO confirmations (id, message_id, tool_call_id, tool_name, arguments_json, arguments_summary,
                                    question, action, resume_state)
         VALUES ($7, $1, $8, $9, $10, $11, $12, $13, $14)
       )`
           : ""
       }
       SELECT * FROM message`,
      params,
    );
    const row = rows[0];
    // Its thread was deleted meanwhile (a run whose owner stalled past TURN_STALE_MS is no longer
    // seen running): the caller is told the thread is gone, not an internal error.
    if (!row) throw new ConnectError(`the thread of turn ${messageId} was deleted`, Code.NotFound);
    return row;
  }

  /** The turn is this process's now: held, and its message pending again (released if that fails). */
  private async takeOver(messageId: string): Promise<void> {
    this.hold(messageId);
    try {
      await this.db.query("UPDATE messages SET status = 'pending' WHERE id = $1", [messageId]);
    } catch (err) {
      this.release(messageId);
      throw err;
    }
  }

  /** This process runs `messageId` (once more). */
  private hold(messageId: string): void {
    this.running.set(messageId, (this.running.get(messageId) ?? 0) + 1);
  }

  /**
   * A run of `messageId` here has ended (its outcome saved or not): once no run of it is left, the
   * heartbeat no longer keeps it owned, and if it is still open another process may take it.
   */
  release(messageId: string): void {
    const runs = (this.running.get(messageId) ?? 0) - 1;
    if (runs > 0) this.running.set(messageId, runs);
    else this.running.delete(messageId);
  }

  /**
   * Keeps the turns this process runs owned (one statement for all of them); no statement while it
   * runs none, so an idle chat service does not write to its database every second.
   */
  async heartbeat(): Promise<void> {
    if (this.running.size === 0) return;
    // The turns running here only: one released after a failure is left to go stale, so another
    // process (or a repeat) may take it, however busy this process is with other turns.
    await this.db.query(
      `UPDATE turns SET heartbeat_at = now()
        WHERE owner = $1 AND message_id = ANY($2::text[]) AND finished_at IS NULL AND interrupted_at IS NULL`,
      [this.owner, [...this.running.keys()]],
    );
  }

  /**
   * Marks every turn whose process died as interrupted, with a note saying what is confirmed and
   * how to confirm the rest; returns the messages it marked. Runs at start and then periodically,
   * so a turn is never left pending by a crash, whichever process notices first.
   */
  async interruptAbandoned(note: (row: MessageRow) => string): Promise<MessageRow[]> {
    return this.db.transaction(async (tx) => {
      const { rows: abandoned } = await tx.query<{ message_id: string } & Record<string, unknown>>(
        `UPDATE turns SET interrupted_at = now()
          WHERE finished_at IS NULL AND interrupted_at IS NULL AND owner <> $1
            AND heartbeat_at < now() - make_interval(secs => ${TURN_STALE_MS / 1000})
          RETURNING message_id`,
        [this.owner],
      );
      // And the runs and deleted threads' creations every user's window has passed, users gone
      // quiet included (a user's next run forgets their own runs): the ledgers of limits per user
      // hold a minute (turn-limits.ts).
      forgetPassedCounts(tx);
      const marked: MessageRow[] = [];
      for (const { message_id } of abandoned) {
        const { rows } = await tx.query<MessageRow & Record<string, unknown>>(
          `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id = $1`,
          [message_id],
        );
        const row = rows[0];
        if (!row) continue;
        const updated = await tx.query<MessageRow & Record<string, unknown>>(
          `UPDATE messages SET status = 'interrupted', stop_reason = 'error', content = $2
            WHERE id = $1 RETURNING ${MESSAGE_COLUMNS}`,
          [message_id, note(row)],
        );
        if (updated.rows[0]) marked.push(updated.rows[0]);
      }
      return marked;
    });
  }

  /**
   * Whether another process holds an open turn (running, or abandoned and not yet marked): while
   * one does, the keeper sweeps every TURN_STALE_MS; otherwise seldom (`turn-keeper.ts`).
   */
  async othersHoldOpenTurns(): Promise<boolean> {
    const { rows } = await this.db.query<{ open: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM turns
                       WHERE finished_at IS NULL AND interrupted_at IS NULL AND owner <> $1) AS open`,
      [this.owner],
    );
    return rows[0]?.open === true;
  }

  /**
   * A question of a thread, found by the thread's id too (the caller checked the thread is theirs:
   * another user's question is not found), with its turn.
   */
  async confirmation(
    threadId: string,
    confirmationId: string,
  ): Promise<{ confirmation: ConfirmationRow; turn: TurnRow } | undefined> {
    const { rows } = await this.db.query<ConfirmationRow & Record<string, unknown>>(
      `SELECT ${CONFIRMATION_COLUMNS} FROM confirmations c JOIN turns t ON t.message_id = c.message_id
        WHERE c.id = $1 AND t.thread_id = $2`,
      [confirmationId, threadId],
    );
    const confirmation = rows[0];
    if (!confirmation) return undefined;
    const turn = await this.turnOf(confirmation.message_id);
    return turn ? { confirmation, turn } : undefined;
  }

  async turnOf(messageId: string): Promise<TurnRow | undefined> {
    const { rows } = await this.db.query<TurnRow & Record<string, unknown>>(
      `SELECT ${TURN_COLUMNS} FROM turns WHERE message_id = $1`,
      [messageId],
    );
    return rows[0];
  }

  /**
   * Records the user's answer and reopens the turn to go on here, in one transaction; false when
   * the question was answered already (a second click, another process): then nothing changes.
   */
  async answer(
    confirmation: ConfirmationRow,
    confirmed: boolean,
    userId: string,
    gate?: UserGate,
  ): Promise<boolean> {
    const answering = async (tx: Transaction) => {
      // The user's lock first, as everywhere a user's counts are taken (`taking`).
      if (limitsOn(gate)) lockUser(tx, gate.userId);
      // Then the turn, before its question: the order a thread's deletion takes them in (thread,
      // turns, then what cascades from them), so an answer and a deletion wait for each other
      // instead of deadlocking (40P01, seen 14 times in 40 rounds with the question first).
      const { rows: turn } = await tx.query("SELECT 1 FROM turns WHERE message_id = $1 FOR UPDATE", [
        confirmation.message_id,
      ]);
      if (turn.length === 0) return false;
      const { rows } = await tx.query(
        `UPDATE confirmations SET confirmed = $2, answered_by = $3, answered_at = now()
          WHERE id = $1 AND confirmed IS NULL RETURNING id`,
        [confirmation.id, confirmed, userId],
      );
      if (rows.length === 0) return false;
      await tx.query(
        `UPDATE turns SET owner = $2, heartbeat_at = now(), interrupted_at = NULL, finished_at = NULL
          WHERE message_id = $1`,
        [confirmation.message_id, this.owner],
      );
      // The agent runs again (docs/chat.md, "Limits per user"): a run of the minute and one more
      // running; over a limit the answer is rolled back with the rest, and the question stays open.
      if (limitsOn(gate)) {
        await admitRun(tx, gate, "again", { messageId: confirmation.message_id });
        recordRun(tx, gate, "again");
      }
      await tx.query("UPDATE messages SET status = 'pending' WHERE id = $1", [confirmation.message_id]);
      return true;
    };
    const reopened = limitsOn(gate)
      ? await inLimitedTransaction(this.db, answering)
      : await this.db.transaction(answering);
    // Held once committed: the turn goes on here.
    if (reopened) this.hold(confirmation.message_id);
    return reopened;
  }

  /** A turn's newest question (its current one), answered or not. */
  async latestConfirmation(messageId: string): Promise<ConfirmationRow | undefined> {
    const { rows } = await this.db.query<ConfirmationRow & Record<string, unknown>>(
      `SELECT ${CONFIRMATION_COLUMNS} FROM confirmations c WHERE c.message_id = $1
        ORDER BY c.created_at DESC LIMIT 1`,
      [messageId],
    );
    return rows[0];
  }

  /** The questions still waiting for an answer, by message id (a message shows its own). */
  async openConfirmations(messageIds: readonly string[]): Promise<Map<string, ConfirmationRow>> {
    const open = new Map<string, ConfirmationRow>();
    if (messageIds.length === 0) return open;
    const { rows } = await this.db.query<ConfirmationRow & Record<string, unknown>>(
      `SELECT ${CONFIRMATION_COLUMNS} FROM confirmations c
        WHERE c.message_id = ANY($1::text[]) AND c.confirmed IS NULL ORDER BY c.created_at`,
      [messageIds],
    );
    for (const row of rows) open.set(row.message_id, row);
    return open;
  }

  /** The tool calls a turn's assistant message recorded, as stored (`toolCallToJson`). */
  async recordedCalls(messageId: string): Promise<unknown[]> {
    const { rows } = await this.db.query<{ tool_calls: unknown[] }>(
      "SELECT tool_calls FROM messages WHERE id = $1",
      [messageId],
    );
    return rows[0]?.tool_calls ?? [];
  }

  /** The two messages of a turn (a repeat that finished is answered with them). */
  async messagesOf(turn: TurnRow): Promise<{ userMessage?: MessageRow; assistantMessage?: MessageRow }> {
    const { rows } = await this.db.query<MessageRow & Record<string, unknown>>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id = $1 OR id = $2`,
      [turn.user_message_id, turn.message_id],
    );
    return {
      userMessage: rows.find((r) => r.id === turn.user_message_id),
      assistantMessage: rows.find((r) => r.id === turn.message_id),
    };
  }
}
