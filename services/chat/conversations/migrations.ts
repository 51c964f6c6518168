import type { Migration } from "#kit/db/index.js";

/**
 * Threads and messages in the chat database. A thread belongs to a user of the identity service,
 * named by id: users live in that service's database, so there is no foreign key (a user removed
 * there loses their sessions at once; their threads stay readable by no one). Append new
 * migrations; never edit one that has shipped.
 */
export const CONVERSATION_MIGRATIONS: readonly Migration[] = [
  {
    id: "conversations_0001_threads_and_messages",
    // `seq` orders a thread's messages (ids are random) and is the keyset of ListMessages;
    // (user_id, updated_at, id) is the keyset of ListThreads, newest first. A message's tool calls
    // and usage are the agent contract's own JSON (protobuf JSON of agent.v1.ToolCall / Usage).
    sql: `
      CREATE TABLE threads (
        id text PRIMARY KEY,
        user_id text NOT NULL,
        agent_id text NOT NULL,
        title text NOT NULL DEFAULT '',
        message_count integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX threads_by_user ON threads (user_id, updated_at DESC, id DESC);
      CREATE TABLE messages (
        id text PRIMARY KEY,
        thread_id text NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
        seq bigserial NOT NULL,
        role text NOT NULL CHECK (role IN ('user', 'assistant')),
        content text NOT NULL,
        status text NOT NULL CHECK (status IN ('complete', 'partial', 'failed')),
        stop_reason text,
        tool_calls jsonb NOT NULL DEFAULT '[]',
        usage jsonb,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE UNIQUE INDEX messages_by_thread ON messages (thread_id, seq);`,
  },
  {
    // A chat database made before the identity service held users in its own tables and a
    // foreign key from threads to them; those tables are no longer written (docs/identity.md).
    id: "conversations_0002_users_in_identity_service",
    sql: "ALTER TABLE threads DROP CONSTRAINT IF EXISTS threads_user_id_fkey;",
  },
  {
    // A turn is durable (docs/chat.md, "A turn that survives a crash"): its assistant message is
    // written first as 'pending' and updated as tool calls happen; `turns` keeps what resuming it
    // needs (the request id its idempotency keys come from, the input) and which chat process owns
    // it (a heartbeat per process; a stale one means the process died and the turn may be taken).
    id: "conversations_0003_durable_turns",
    sql: `
      ALTER TABLE messages DROP CONSTRAINT IF EXISTS messages_status_check;
      ALTER TABLE messages ADD CONSTRAINT messages_status_check
        CHECK (status IN ('complete', 'partial', 'failed', 'pending', 'interrupted'));
      CREATE TABLE turns (
        message_id text PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
        thread_id text NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
        user_message_id text NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
        request_id text NOT NULL,
        input text NOT NULL,
        owner text NOT NULL,
        heartbeat_at timestamptz NOT NULL DEFAULT now(),
        interrupted_at timestamptz,
        finished_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX turns_by_request ON turns (thread_id, request_id);
      CREATE INDEX turns_open ON turns (heartbeat_at) WHERE finished_at IS NULL;`,
  },
  {
    // Confirmation before destruction (docs/chat.md): a turn stops when a tool call waits for the
    // user's yes. Its message is 'awaiting_confirmation' and its turn closed (no process runs it,
    // so none is interrupted); the question and where the agent stopped (`resume_state`, the
    // agent's opaque bytes, base64) are kept here with the answer: which, who gave it, when. A
    // turn may ask several times; the newest row is its current question. The answer and the
    // turn's reopening are one transaction, so a question is answered — and its turn goes on — once.
    id: "conversations_0004_confirmations",
    sql: `
      ALTER TABLE messages DROP CONSTRAINT IF EXISTS messages_status_check;
      ALTER TABLE messages ADD CONSTRAINT messages_status_check
        CHECK (status IN ('complete', 'partial', 'failed', 'pending', 'interrupted', 'awaiting_confirmation'));
      CREATE TABLE confirmations (
        id text PRIMARY KEY,
        message_id text NOT NULL REFERENCES turns (message_id) ON DELETE CASCADE,
        tool_call_id text NOT NULL,
        tool_name text NOT NULL,
        arguments_json text NOT NULL,
        arguments_summary text NOT NULL,
        question text NOT NULL,
        action text NOT NULL,
        resume_state text NOT NULL,
        confirmed boolean,
        answered_by text,
        answered_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp()
      );
      CREATE INDEX confirmations_by_message ON confirmations (message_id, created_at);`,
  },
  {
    // One turn per repeat (docs/chat.md, "A turn"): the same message sent again on a thread with
    // the same x-request-id — a client's retry, a second tab — while the first was still being
    // opened could open a turn of its own, each running the agent: a real model's writes were then
    // made once per copy. Opening a turn now inserts nothing when its (thread, request id, input)
    // already has one, so the copies wait for that turn as any repeat does. The key is the input's
    // digest (an input is up to 8,000 characters, more than a B-tree entry may hold). Turns opened
    // before: the newest of each — the one a repeat found — takes the key, older copies keep NULL,
    // which conflicts with nothing.
    id: "conversations_0005_one_turn_per_request",
    sql: `
      ALTER TABLE turns ADD COLUMN input_digest text;
      UPDATE turns t SET input_digest = md5(t.input)
       WHERE NOT EXISTS (
         SELECT 1 FROM turns n
          WHERE n.thread_id = t.thread_id AND n.request_id = t.request_id AND n.input = t.input
            AND (n.created_at, n.message_id) > (t.created_at, t.message_id));
      CREATE UNIQUE INDEX turns_one_per_request ON turns (thread_id, request_id, input_digest);
      DROP INDEX turns_by_request;`,
  },
  {
    // Limits per user (docs/chat.md): `turn_runs` is the ledger of the runs a user started — turns
    // opened and turns run again by their repeat — each kept a minute (the next run of that user
    // deletes theirs that are older). Turns running at once are counted by their user among the
    // unfinished ones, new threads by their user's of the last minute: each an index range of that
    // user alone. A turn names its user (its thread's, written when the turn is opened); turns
    // opened before take it from their thread. NULL stays allowed, so a replica still on the
    // previous version keeps opening turns during a rolling upgrade (those carry no user and are
    // not counted).
    id: "conversations_0006_limits_per_user",
    sql: `
      CREATE TABLE turn_runs (
        user_id text NOT NULL,
        started_at timestamptz NOT NULL
      );
      CREATE INDEX turn_runs_by_user ON turn_runs (user_id, started_at);
      ALTER TABLE turns ADD COLUMN user_id text;
      UPDATE turns t SET user_id = th.user_id FROM threads th WHERE th.id = t.thread_id;
      CREATE INDEX turns_running_by_user ON turns (user_id) WHERE finished_at IS NULL;
      CREATE INDEX threads_by_user_created ON threads (user_id, created_at);`,
  },
  {
    // DeleteThread (docs/chat.md, "Renaming and deleting a thread"): a thread deleted within a
    // minute of its creation leaves its creation here, so deleting threads frees no place among
    // the user's threads of the minute. Kept a minute, like turn_runs.
    id: "conversations_0007_deleted_threads",
    sql: `
      CREATE TABLE deleted_threads (
        user_id text NOT NULL,
        created_at timestamptz NOT NULL
      );
      CREATE INDEX deleted_threads_by_user ON deleted_threads (user_id, created_at);`,
  },
];
