import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "#kit/db/index.js";
import { type TestDatabase, testBackends } from "#kit/db/testing/test-backends.js";
import { CHAT_MIGRATIONS } from "../data/migrations.js";
import { stopAtQuestion } from "./testing/stop-at-question.js";
import { ThreadStore } from "./thread-store.js";
import { TurnStore } from "./turn-store.js";
import { NO_USER_LIMITS, UserLimitReached } from "./user-limits.js";

/**
 * Renaming and deleting a thread (docs/chat.md, "Renaming and deleting a thread"): only the owner's,
 * never while one of its turns runs, with everything of it gone, and still counted among the
 * user's threads of the minute.
 */
const done = { role: "assistant", content: "done", status: "complete" } as const;

describe.each(testBackends("chat", CHAT_MIGRATIONS))("deleting a thread on $name", (backend) => {
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

  const rowsOf = async (table: string, threadId: string) =>
    (
      await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE thread_id = $1`, [
        threadId,
      ])
    ).rows[0]?.n;

  it("is refused while a turn runs, done once it finished, and takes its messages and turns along", async () => {
    const thread = await threads.create("del-user", "support-assistant", "");
    const turns = new TurnStore(db);
    const begun = await turns.begin(thread.id, "r1", "show me ticket 1");
    const messageId = begun?.assistantMessage.id ?? "";
    expect(await threads.delete("someone-else", thread.id)).toBe("not_found");
    expect(await threads.delete("del-user", thread.id)).toBe("running");
    await turns.finish(messageId, done);
    turns.release(messageId);
    expect([await rowsOf("messages", thread.id), await rowsOf("turns", thread.id)]).toEqual([2, 1]);

    expect(await threads.delete("del-user", thread.id)).toBe("deleted");
    expect(await threads.get("del-user", thread.id)).toBeUndefined();
    expect([await rowsOf("messages", thread.id), await rowsOf("turns", thread.id)]).toEqual([0, 0]);
    expect(await threads.delete("del-user", thread.id)).toBe("not_found");
  });

  it("an interrupted turn does not hold its thread; one whose owner's heartbeat is fresh does", async () => {
    const thread = await threads.create("del-user-2", "support-assistant", "");
    const turns = new TurnStore(db);
    const begun = await turns.begin(thread.id, "r1", "hello");
    await db.query("UPDATE turns SET interrupted_at = now() WHERE message_id = $1", [
      begun?.assistantMessage.id,
    ]);
    expect(await threads.delete("del-user-2", thread.id)).toBe("deleted");
  });

  it("renames only the owner's thread, cut as at creation", async () => {
    const thread = await threads.create("ren-user", "support-assistant", "before");
    expect(await threads.rename("someone-else", thread.id, "mine")).toBeUndefined();
    const renamed = await threads.rename("ren-user", thread.id, "é".repeat(120));
    expect([...(renamed?.title ?? "")].length).toBe(80);
    expect(renamed?.updated_us).toBe(thread.updated_us);
  });

  it("deleted threads still count among the user's threads of the minute", async () => {
    const limits = { ...NO_USER_LIMITS, threadsPerMinute: 2 };
    for (let i = 0; i < 2; i++) {
      const made = await threads.create("churn-user", "support-assistant", `t${i}`, limits);
      expect(await threads.delete("churn-user", made.id)).toBe("deleted");
    }
    const refused = await threads.create("churn-user", "support-assistant", "t2", limits).catch((e) => e);
    expect(refused).toBeInstanceOf(UserLimitReached);
    await expect(threads.refuseOverLimit("churn-user", limits)).rejects.toBeInstanceOf(UserLimitReached);
    // Once the window has passed, the keeper's sweep forgets them and the user creates again.
    await db.query(
      "UPDATE deleted_threads SET created_at = created_at - interval '61 seconds' WHERE user_id = $1",
      ["churn-user"],
    );
    await new TurnStore(db).interruptAbandoned(() => "");
    const left = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM deleted_threads WHERE user_id = $1",
      ["churn-user"],
    );
    expect(left.rows[0]?.n).toBe(0);
    expect(await threads.create("churn-user", "support-assistant", "t3", limits)).toBeDefined();
  });

  it("a turn opened while the thread is deleted: either it ran first (delete refused) or it finds no thread", async () => {
    for (let round = 0; round < 10; round++) {
      const thread = await threads.create("race-user", "support-assistant", "");
      const turns = new TurnStore(db);
      const [begun, deleted] = await Promise.all([
        turns.begin(thread.id, `r${round}`, "hello").catch((e: unknown) => e),
        threads.delete("race-user", thread.id),
      ]);
      if (deleted === "running") {
        expect(begun).toMatchObject({ assistantMessage: { thread_id: thread.id } });
        continue;
      }
      expect(deleted).toBe("deleted");
      // The turn was not opened: nothing was stored, or its foreign key refused it (23503).
      if (begun !== undefined) expect((begun as { code?: string }).code).toBe("23503");
      expect(await rowsOf("messages", thread.id)).toBe(0);
    }
  });

  it("an answer to a question and a delete of its thread at once: one waits for the other, never a deadlock", async () => {
    const outcomes = new Map<string, number>();
    for (let round = 0; round < 20; round++) {
      const thread = await threads.create("answer-user", "support-assistant", "");
      const turns = new TurnStore(db);
      const begun = await turns.begin(thread.id, `q${round}`, "delete ticket 1");
      const messageId = begun?.assistantMessage.id ?? "";
      const question = await stopAtQuestion(turns, messageId, 1);
      const [answered, deleted] = await Promise.all([
        turns
          .answer(question, true, "answer-user")
          .catch((e: unknown) => `error ${(e as { code?: string }).code}`),
        threads
          .delete("answer-user", thread.id)
          .catch((e: unknown) => `error ${(e as { code?: string }).code}`),
      ]);
      const key = `${answered}/${deleted}`;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      // The answer won (the turn runs again: the delete is refused), or the delete did (nothing to answer).
      expect([
        ["true", "running"],
        ["false", "deleted"],
      ]).toContainEqual([String(answered), deleted]);
      if (answered === true) turns.release(messageId);
    }
    console.log(`answer / delete at once on ${db.kind}: ${JSON.stringify(Object.fromEntries(outcomes))}`);
  });
});
