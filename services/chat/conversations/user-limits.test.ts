import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "#kit/db/index.js";
import { type TestDatabase, testBackends } from "#kit/db/testing/test-backends.js";
import { CHAT_MIGRATIONS } from "../data/migrations.js";
import { stopAtQuestion } from "./testing/stop-at-question.js";
import { ThreadStore } from "./thread-store.js";
import type { UserGate } from "./turn-limits.js";
import { TurnStore } from "./turn-store.js";
import {
  LIMIT_WINDOW_S,
  limitReachedError,
  NO_USER_LIMITS,
  UserLimitReached,
  type UserLimits,
} from "./user-limits.js";
import { lockUser } from "./user-lock.js";

/**
 * Limits per user (docs/chat.md): counted in chat's database under the user's lock, so copies of
 * a request, replicas and concurrent calls all count the same turns; a refused turn or thread
 * leaves nothing behind, and a repeat of a turn is never refused.
 */
const limits = (l: Partial<UserLimits>): UserLimits => ({ ...NO_USER_LIMITS, ...l });
const gate = (userId: string, l: Partial<UserLimits>): UserGate => ({ userId, limits: limits(l) });
const done = { role: "assistant", content: "done", status: "complete" } as const;
const cut = { role: "assistant", content: "", status: "partial", stopReason: "cancelled" } as const;

async function refusal(p: Promise<unknown>): Promise<UserLimitReached> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof UserLimitReached)) throw new Error(`expected a limit, got ${String(err)}`);
  return err;
}

describe.each(testBackends("chat", CHAT_MIGRATIONS))("limits per user on $name", (backend) => {
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

  const countOf = async (sql: string, params: unknown[]) =>
    (await db.query<{ n: number }>(sql, params)).rows[0]?.n;

  it("turns per minute: the one over the limit is refused with its wait and writes nothing; a repeat still opens", async () => {
    const turns = new TurnStore(db);
    const perMinute = gate("rate-user", { turnsPerMinute: 3 });
    const thread = await threads.create("rate-user", "support-assistant", "");
    const other = await threads.create("rate-user", "support-assistant", "");
    for (const [i, t] of [thread, thread, other].entries()) {
      const begun = await turns.begin(t.id, `req-${i}`, `message ${i}`, perMinute);
      expect(begun).toBeDefined();
      await turns.finish(begun?.assistantMessage.id ?? "", done);
    }
    // Across the user's threads: the fourth turn of the minute, on either thread.
    const refused = await refusal(turns.begin(thread.id, "req-3", "message 3", perMinute));
    expect(refused.reached).toMatchObject({ limit: "turns_per_minute", allowed: 3 });
    expect(refused.reached.retryAfterSec).toBeGreaterThan(0);
    expect(refused.reached.retryAfterSec).toBeLessThanOrEqual(LIMIT_WINDOW_S);
    expect(await countOf("SELECT count(*)::int AS n FROM turns WHERE user_id = $1", ["rate-user"])).toBe(3);
    expect(await countOf("SELECT count(*)::int AS n FROM messages WHERE thread_id = $1", [thread.id])).toBe(
      4,
    );
    expect((await threads.get("rate-user", thread.id))?.message_count).toBe(4);
    // A repeat of a turn already opened is not a new turn: found, never refused.
    expect(await turns.begin(thread.id, "req-0", "message 0", perMinute)).toBeUndefined();
    // Another user is not held back by this one.
    const theirs = await threads.create("other-user", "support-assistant", "");
    expect(
      await turns.begin(theirs.id, "req-0", "message 0", { ...perMinute, userId: "other-user" }),
    ).toBeDefined();
    // Without limits the same user opens on.
    expect(await turns.begin(thread.id, "req-3", "message 3")).toBeDefined();
  });

  it("turns per minute under concurrency: of 8 turns begun at once by one user, 3 open", async () => {
    const perMinute = gate("burst-user", { turnsPerMinute: 3 });
    const own = await Promise.all(
      Array.from({ length: 8 }, () => threads.create("burst-user", "support-assistant", "")),
    );
    // Eight processes (replicas), each its own store, each on its own thread of the same user.
    const results = await Promise.allSettled(
      own.map((t, i) => new TurnStore(db).begin(t.id, `burst-${i}`, "create a ticket", perMinute)),
    );
    const opened = results.filter((r) => r.status === "fulfilled" && r.value !== undefined);
    const refused = results.filter((r) => r.status === "rejected" && r.reason instanceof UserLimitReached);
    expect([opened.length, refused.length]).toEqual([3, 5]);
    expect(await countOf("SELECT count(*)::int AS n FROM turns WHERE user_id = $1", ["burst-user"])).toBe(3);
  });

  it("turns at once: a running turn counts until it finishes; an interrupted or dead one does not", async () => {
    const running = gate("open-user", { openTurns: 2 });
    const turns = new TurnStore(db);
    const thread = await threads.create("open-user", "support-assistant", "");
    const first = await turns.begin(thread.id, "open-1", "one", running);
    const second = await turns.begin(thread.id, "open-2", "two", running);
    const refused = await refusal(turns.begin(thread.id, "open-3", "three", running));
    expect(refused.reached).toMatchObject({ limit: "open_turns", allowed: 2 });
    await turns.finish(first?.assistantMessage.id ?? "", done);
    const third = await turns.begin(thread.id, "open-3", "three", running);
    expect(third).toBeDefined();
    // An interrupted turn waits for a repeat: nothing runs it, so it does not count.
    await db.query("UPDATE turns SET interrupted_at = now() WHERE message_id = $1", [
      second?.assistantMessage.id,
    ]);
    expect(await turns.begin(thread.id, "open-4", "four", running)).toBeDefined();
    // Nor does one whose process is gone (its heartbeat stale).
    await db.query("UPDATE turns SET heartbeat_at = now() - interval '1 hour' WHERE message_id = $1", [
      third?.assistantMessage.id,
    ]);
    expect(await turns.begin(thread.id, "open-5", "five", running)).toBeDefined();
  });

  it("a turn run again by its repeat is a run of the minute: send, go away, send again cannot run the model on and on", async () => {
    const perMinute = gate("again-user", { turnsPerMinute: 3 });
    const turns = new TurnStore(db);
    const thread = await threads.create("again-user", "support-assistant", "");
    const begun = await turns.begin(thread.id, "again-1", "create a ticket", perMinute);
    const messageId = begun?.assistantMessage.id ?? "";
    // The caller goes away: the turn is closed partial; the same message again runs it again.
    for (let run = 2; run <= 3; run++) {
      await turns.finish(messageId, cut);
      turns.release(messageId);
      expect(await turns.reopen(messageId, perMinute)).toBe(true);
    }
    await turns.finish(messageId, cut);
    turns.release(messageId);
    const refused = await refusal(turns.reopen(messageId, perMinute));
    expect(refused.reached).toMatchObject({ limit: "turns_per_minute", allowed: 3 });
    // Refused means not taken: the turn is still closed, for a later repeat to run.
    expect(await turns.findRepeat(thread.id, "again-1", "create a ticket")).toMatchObject({ finished: true });
    // And a new turn is refused too: three runs of the minute, on one turn.
    expect((await refusal(turns.begin(thread.id, "again-2", "other", perMinute))).reached.limit).toBe(
      "turns_per_minute",
    );
  });

  it("a turn going on — resumed after its process died, or after the user's answer — counts among those running", async () => {
    const running = gate("going-on-user", { openTurns: 1 });
    const turns = new TurnStore(db);
    const thread = await threads.create("going-on-user", "support-assistant", "");
    // A turn stopped at a question (finished, not running), and one interrupted by a dead process.
    const asking = await turns.begin(thread.id, "ask", "delete ticket 1", running);
    const askingId = asking?.assistantMessage.id ?? "";
    const question = await stopAtQuestion(turns, askingId, 1);
    const cutShort = await turns.begin(thread.id, "cut", "show ticket 1", running);
    const cutId = cutShort?.assistantMessage.id ?? "";
    await db.query("UPDATE turns SET interrupted_at = now() WHERE message_id = $1", [cutId]);
    turns.release(cutId);
    // One turn running: the resume fills the one place...
    const other = await turns.begin(thread.id, "run", "list tickets", running);
    expect(other).toBeDefined();
    expect((await refusal(new TurnStore(db).claim(cutId, running))).reached.limit).toBe("open_turns");
    // ...and the answer goes on only with a place free; refused, the question stays open.
    expect((await refusal(turns.answer(question, true, "going-on-user", running))).reached.limit).toBe(
      "open_turns",
    );
    expect((await turns.latestConfirmation(askingId))?.confirmed).toBeNull();
    await turns.finish(other?.assistantMessage.id ?? "", done);
    expect(await turns.answer(question, true, "going-on-user", running)).toBe(true);
    // A resume does not use a run of the minute: only the opening did.
    await turns.finish(askingId, done);
    expect(await new TurnStore(db).claim(cutId, running)).toBe(true);
  });

  it("an answer to a question runs the agent again: a run of the minute, so a chain of questions cannot run it on and on", async () => {
    const perMinute = gate("answer-user", { turnsPerMinute: 2 });
    const turns = new TurnStore(db);
    const thread = await threads.create("answer-user", "support-assistant", "");
    const begun = await turns.begin(thread.id, "ask", "delete tickets 1 and 2", perMinute);
    const messageId = begun?.assistantMessage.id ?? "";
    const ask = (n: number) => stopAtQuestion(turns, messageId, n);
    expect(await turns.answer(await ask(1), true, "answer-user", perMinute)).toBe(true);
    const second = await ask(2);
    expect((await refusal(turns.answer(second, false, "answer-user", perMinute))).reached.limit).toBe(
      "turns_per_minute",
    );
    expect((await turns.latestConfirmation(messageId))?.confirmed).toBeNull();
  });

  it("the keeper's sweep forgets every user's runs the window has passed", async () => {
    await db.query(
      `INSERT INTO turn_runs (user_id, started_at) VALUES
         ('quiet-user', now() - interval '2 minutes'), ('quiet-user', now())`,
    );
    await new TurnStore(db).interruptAbandoned(() => "");
    const { rows } = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM turn_runs WHERE user_id = 'quiet-user'",
    );
    expect(rows[0]?.n).toBe(1);
  });

  it("a repeat that finds its turn running elsewhere is never refused: it waits, counting nothing", async () => {
    const running = gate("waiting-user", { openTurns: 1 });
    const thread = await threads.create("waiting-user", "support-assistant", "");
    const owner = new TurnStore(db);
    const begun = await owner.begin(thread.id, "wait", "list tickets", running);
    // Another process's repeat looks while the owner runs it, at the user's limit: not taken, not refused.
    expect(await new TurnStore(db).claim(begun?.assistantMessage.id ?? "", running)).toBe(false);
  });

  it("a lock held past LOCK_WAIT_MS is refused as busy, not waited for; a deployment in another schema is not held", async () => {
    if (db.kind === "pglite") return; // one connection: nothing else can hold the lock meanwhile
    const busy = gate("busy-user", { turnsPerMinute: 5 });
    const thread = await threads.create("busy-user", "support-assistant", "");
    let release = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    let locked = () => {};
    const isLocked = new Promise<void>((r) => {
      locked = r;
    });
    const holder = db.transaction(async (tx) => {
      lockUser(tx, "busy-user");
      await tx.query("SELECT 1");
      locked();
      await held;
    });
    await isLocked;
    try {
      const refused = await refusal(new TurnStore(db).begin(thread.id, "busy", "hello", busy));
      expect(refused.reached).toMatchObject({ limit: "busy", retryAfterSec: 1 });
      // The same user id in another deployment's schema on the same server: its own lock.
      const other = await backend.open();
      try {
        const elsewhere = await new ThreadStore(other.db).create("busy-user", "support-assistant", "");
        expect(await new TurnStore(other.db).begin(elsewhere.id, "busy", "hello", busy)).toBeDefined();
      } finally {
        await other.close();
      }
    } finally {
      release();
      await holder;
    }
    expect(await new TurnStore(db).begin(thread.id, "busy", "hello", busy)).toBeDefined();
  });

  it("threads per minute: the one over is refused and not stored; concurrent creates keep to the limit", async () => {
    const perMinute = limits({ threadsPerMinute: 2 });
    await threads.create("thread-user", "support-assistant", "a", perMinute);
    await threads.create("thread-user", "support-assistant", "b", perMinute);
    const refused = await refusal(threads.create("thread-user", "support-assistant", "c", perMinute));
    expect(refused.reached).toMatchObject({ limit: "threads_per_minute", allowed: 2 });
    expect(refused.reached.retryAfterSec).toBeGreaterThan(0);
    expect((await threads.list("thread-user", { limit: 10 })).map((t) => t.title).sort()).toEqual(["a", "b"]);

    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) =>
        threads.create("thread-burst", "support-assistant", `${i}`, perMinute),
      ),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(2);
    expect(await countOf("SELECT count(*)::int AS n FROM threads WHERE user_id = $1", ["thread-burst"])).toBe(
      2,
    );
  });
});

describe("the refusal a caller gets", () => {
  it("is resource_exhausted with retry-after in whole seconds, at least 1", () => {
    const err = limitReachedError({ limit: "turns_per_minute", allowed: 60, retryAfterSec: 12.2 });
    expect(err).toBeInstanceOf(ConnectError);
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toBe("too many messages: at most 60 a minute; try again in 13 s");
    expect(err.metadata.get("retry-after")).toBe("13");
    expect(
      limitReachedError({ limit: "open_turns", allowed: 8, retryAfterSec: 0 }).metadata.get("retry-after"),
    ).toBe("1");
  });
});
