import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "#kit/db/index.js";
import { type TestDatabase, testBackends } from "#kit/db/testing/test-backends.js";
import { CHAT_MIGRATIONS } from "../data/migrations.js";
import { ThreadStore } from "./thread-store.js";
import { interruptionNote } from "./turn-keeper.js";
import { TURN_STALE_MS, TurnStore } from "./turn-store.js";

/** A turn opened by `store`; every spec here opens each request once. */
async function opened(store: TurnStore, threadId: string, requestId: string, input: string) {
  const begun = await store.begin(threadId, requestId, input);
  if (!begun) throw new Error(`${requestId}: the turn was already open`);
  return begun;
}
/**
 * Durable turns (docs/chat.md, "A turn that survives a crash"): a turn is stored before it runs,
 * one process at a time may run it, a dead process's turn is interrupted by whoever sweeps first,
 * and a repeat of it resumes it rather than starting another.
 */
const pastStale = () => new Promise((r) => setTimeout(r, TURN_STALE_MS + 500));

describe.each(testBackends("chat", CHAT_MIGRATIONS))("durable turns on $name", (backend) => {
  let handle: TestDatabase;
  let db: Database;
  let threads: ThreadStore;

  beforeAll(async () => {
    handle = await backend.open();
    db = handle.db;
    threads = new ThreadStore(db);
  });
  afterAll(async () => {
    await handle?.close();
  });

  it("stores the user message and a pending answer before the agent runs; a repeat finds the turn", async () => {
    const turns = new TurnStore(db);
    const thread = await threads.create("u1", "support-assistant", "");
    const { userMessage, assistantMessage } = await opened(turns, thread.id, "req-1", "printer jammed");
    expect([userMessage.role, assistantMessage.role, assistantMessage.status]).toEqual([
      "user",
      "assistant",
      "pending",
    ]);
    expect((await threads.get("u1", thread.id))?.message_count).toBe(2);
    expect((await threads.get("u1", thread.id))?.title).toBe("printer jammed");
    const repeat = await turns.findRepeat(thread.id, "req-1", "printer jammed");
    expect(repeat).toMatchObject({ message_id: assistantMessage.id, finished: false, stale: false });
    // Another input under the same request id is another turn.
    expect(await turns.findRepeat(thread.id, "req-1", "monitor flickers")).toBeUndefined();
    // Nobody takes a turn a live process runs, this process included (a repeat waits for the run);
    // once no run here holds it (its run failed before finishing it), the owner takes it again.
    expect(await turns.claim(assistantMessage.id)).toBe(false);
    expect(await new TurnStore(db).claim(assistantMessage.id)).toBe(false);
    turns.release(assistantMessage.id);
    expect(await turns.claim(assistantMessage.id)).toBe(true);
    expect(await new TurnStore(db).claim(assistantMessage.id)).toBe(false);
    const done = await turns.finish(assistantMessage.id, {
      role: "assistant",
      content: "Created ticket #1.",
      status: "complete",
      stopReason: "STOP_REASON_COMPLETED",
    });
    expect(done.status).toBe("complete");
    expect(await turns.findRepeat(thread.id, "req-1", "printer jammed")).toMatchObject({ finished: true });
    expect(await new TurnStore(db).claim(assistantMessage.id)).toBe(false);
  });

  it("a dead owner's turn is interrupted with what is confirmed, then resumed by one process only", async () => {
    const dead = new TurnStore(db);
    const thread = await threads.create("u2", "support-assistant", "");
    const { assistantMessage } = await opened(dead, thread.id, "req-2", "create two tickets");
    await dead.progress(assistantMessage.id, {
      content: "",
      toolCalls: [
        { id: "c0", name: "create_ticket", status: "TOOL_CALL_STATUS_SUCCEEDED" },
        { id: "c1", name: "create_ticket", status: "TOOL_CALL_STATUS_RUNNING" },
      ],
    });
    const restarted = new TurnStore(db);
    // The owner's heartbeat is fresh: nothing is interrupted yet.
    expect(await restarted.interruptAbandoned(interruptionNote)).toEqual([]);
    await pastStale();
    const marked = await restarted.interruptAbandoned(interruptionNote);
    expect(marked.map((m) => [m.id, m.status])).toEqual([[assistantMessage.id, "interrupted"]]);
    expect(marked[0]?.content).toContain("Done: create_ticket.");
    expect(marked[0]?.content).toContain("Not confirmed yet: create_ticket.");
    // Swept once: a second sweep (another replica) finds nothing more.
    expect(await new TurnStore(db).interruptAbandoned(interruptionNote)).toEqual([]);
    // The user's repeat resumes it: one claimant wins.
    const claims = await Promise.all([
      restarted.claim(assistantMessage.id),
      new TurnStore(db).claim(assistantMessage.id),
    ]);
    expect(claims.filter(Boolean)).toHaveLength(1);
    const [message] = await threads.messages(thread.id, { afterSeq: assistantMessage.seq - 1, limit: 1 });
    expect(message?.status).toBe("pending");
  }, 30_000);

  it("a turn that finished without its whole answer is reopened by one process only", async () => {
    const turns = new TurnStore(db);
    const thread = await threads.create("u4", "support-assistant", "");
    const { assistantMessage } = await opened(turns, thread.id, "req-4", "create a ticket");
    await turns.finish(assistantMessage.id, {
      role: "assistant",
      content: "",
      status: "failed",
      stopReason: "STOP_REASON_ERROR",
      toolCalls: [{ id: "c0", name: "create_ticket", status: "TOOL_CALL_STATUS_RUNNING" }],
    });
    const reopened = await Promise.all([
      new TurnStore(db).reopen(assistantMessage.id),
      turns.reopen(assistantMessage.id),
    ]);
    expect(reopened.filter(Boolean)).toHaveLength(1);
    expect(await turns.findRepeat(thread.id, "req-4", "create a ticket")).toMatchObject({ finished: false });
  });

  it("a live owner's heartbeat keeps its turn from being swept", async () => {
    const live = new TurnStore(db);
    const thread = await threads.create("u3", "support-assistant", "");
    const { assistantMessage } = await opened(live, thread.id, "req-3", "show ticket 1");
    const beat = setInterval(() => void live.heartbeat(), 1_000);
    try {
      await pastStale();
      // (The previous test's resumed turn has no live owner: it may be swept here, this one not.)
      const swept = await new TurnStore(db).interruptAbandoned(interruptionNote);
      expect(swept.map((m) => m.id)).not.toContain(assistantMessage.id);
      expect(await new TurnStore(db).claim(assistantMessage.id)).toBe(false);
    } finally {
      clearInterval(beat);
    }
  }, 30_000);

  it("copies of one request opened at once open one turn; the others write nothing and find it", async () => {
    const thread = await threads.create("u5", "support-assistant", "");
    const stores = Array.from({ length: 8 }, () => new TurnStore(db));
    const begun = await Promise.all(
      stores.map((s) => s.begin(thread.id, "req-copies", "create a ticket: VPN down")),
    );
    const winners = begun.filter((b) => b !== undefined);
    expect(winners).toHaveLength(1);
    const { rows } = await db.query<{ role: string }>(
      "SELECT role FROM messages WHERE thread_id = $1 ORDER BY seq",
      [thread.id],
    );
    expect(rows.map((r) => r.role)).toEqual(["user", "assistant"]);
    expect((await threads.get("u5", thread.id))?.message_count).toBe(2);
    expect(await stores[0]?.findRepeat(thread.id, "req-copies", "create a ticket: VPN down")).toMatchObject({
      message_id: winners[0]?.assistantMessage.id,
    });
    // The same request id with another input is another turn, as before.
    expect(await stores[1]?.begin(thread.id, "req-copies", "create a ticket: printer")).toBeDefined();
  });
});

/** A chat database as it was before `conversations_0005_one_turn_per_request`, and the migrations since. */
const ONE_TURN_AT = CHAT_MIGRATIONS.findIndex((m) => m.id === "conversations_0005_one_turn_per_request");
const BEFORE_ONE_TURN = CHAT_MIGRATIONS.slice(0, ONE_TURN_AT);
const SINCE_ONE_TURN = CHAT_MIGRATIONS.slice(ONE_TURN_AT);

describe.each(testBackends("chat", BEFORE_ONE_TURN))(
  "upgrading turns opened twice by the race, on $name",
  (backend) => {
    it("keeps both, gives the newest the key a repeat finds, and a copy sent now opens nothing", async () => {
      const handle = await backend.open();
      try {
        const { db } = handle;
        const thread = await new ThreadStore(db).create("u6", "support-assistant", "");
        // Two turns of one request, as two copies opened them side by side before the unique key.
        for (const [n, message] of ["older", "newer"].entries()) {
          await db.query(
            `WITH m AS (
             INSERT INTO messages (id, thread_id, role, content, status)
             VALUES ($1 || '-user', $2, 'user', 'create a ticket', 'complete'), ($1, $2, 'assistant', '', 'failed')
           )
           INSERT INTO turns (message_id, user_message_id, thread_id, request_id, input, owner, finished_at, created_at)
           VALUES ($1, $1 || '-user', $2, 'req-race', 'create a ticket', 'gone', now(), now() + make_interval(secs => $3))`,
            [message, thread.id, n],
          );
        }
        await db.transaction(async (tx) => {
          for (const migration of SINCE_ONE_TURN) {
            for (const statement of migration.sql.split(";").filter((t) => t.trim() !== "")) {
              await tx.query(statement);
            }
          }
        });
        const turns = new TurnStore(db);
        expect(await turns.findRepeat(thread.id, "req-race", "create a ticket")).toMatchObject({
          message_id: "newer",
        });
        expect(await turns.begin(thread.id, "req-race", "create a ticket")).toBeUndefined();
        const { rows } = await db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM turns WHERE thread_id = $1",
          [thread.id],
        );
        expect(rows[0]?.n).toBe(2);
        // `conversations_0006_limits_per_user`: turns opened before name their thread's user.
        const owners = await db.query<{ user_id: string | null }>(
          "SELECT DISTINCT user_id FROM turns WHERE thread_id = $1",
          [thread.id],
        );
        expect(owners.rows).toEqual([{ user_id: "u6" }]);
      } finally {
        await handle.close();
      }
    });
  },
);
