import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "#kit/db/index.js";
import { type TestDatabase, testBackends } from "#kit/db/testing/test-backends.js";
import { CHAT_MIGRATIONS } from "../data/migrations.js";
import {
  firstLine,
  type MessageRole,
  type ThreadCursor,
  type ThreadRow,
  ThreadStore,
  TITLE_MAX,
} from "./thread-store.js";

/**
 * Threads and messages (docs/chat.md) on PGlite and on DATABASE_URL's PostgreSQL: a thread is
 * reachable by its owner only, a user's threads page newest first by a keyset that neither skips nor
 * repeats a thread (even when several share one update time), and a thread's messages page oldest
 * first, the turn's context being its last messages before a point.
 */
describe.each(testBackends("chat", CHAT_MIGRATIONS))("the thread store on $name", (backend) => {
  let handle: TestDatabase;
  let db: Database;
  let threads: ThreadStore;

  const say = async (threadId: string, role: MessageRole, content: string) => {
    const { rows } = await db.query<{ seq: number }>(
      "INSERT INTO messages (id, thread_id, role, content, status) VALUES ($1, $2, $3, $4, 'complete') RETURNING seq",
      [randomUUID(), threadId, role, content],
    );
    return rows[0]?.seq as number;
  };

  /** Every page of `userId`'s threads, `limit` at a time, as ChatService.ListThreads walks them. */
  const allPages = async (userId: string, limit: number, agentId?: string) => {
    const pages: string[][] = [];
    let after: ThreadCursor | undefined;
    for (;;) {
      const rows = await threads.list(userId, { limit, after, agentId });
      const page = rows.slice(0, limit);
      pages.push(page.map((t) => t.id));
      const last = page.at(-1);
      if (rows.length <= limit || !last) return pages;
      after = { updatedUs: last.updated_us, id: last.id };
    }
  };

  beforeAll(async () => {
    handle = await backend.open();
    db = handle.db;
    threads = new ThreadStore(db);
  });
  afterAll(async () => {
    await handle?.close();
  });

  it("creates a thread with no messages, its title cut to TITLE_MAX", async () => {
    const thread = await threads.create("u-create", "support-assistant", "x".repeat(TITLE_MAX + 20));
    expect(thread).toMatchObject({ user_id: "u-create", agent_id: "support-assistant", message_count: 0 });
    expect(thread.title).toBe("x".repeat(TITLE_MAX));
    expect(await threads.get("u-create", thread.id)).toEqual(thread);
    // Characters, not UTF-16 units: an emoji at the cut is kept whole, never halved.
    const emoji = await threads.create("u-create", "support-assistant", `${"x".repeat(TITLE_MAX - 1)}😀yy`);
    expect(emoji.title).toBe(`${"x".repeat(TITLE_MAX - 1)}😀`);
  });

  it("shows a thread to its owner only: another user's is answered like one that does not exist", async () => {
    const thread = await threads.create("u-owner", "support-assistant", "mine");
    expect(await threads.get("u-other", thread.id)).toBeUndefined();
    expect(await threads.get("u-owner", randomUUID())).toBeUndefined();
    expect((await threads.list("u-other", { limit: 10 })).map((t) => t.id)).not.toContain(thread.id);
  });

  it("lists a user's threads newest first, of one agent when asked", async () => {
    const made: ThreadRow[] = [];
    for (const [i, agent] of ["a1", "a2", "a1"].entries()) {
      made.push(await threads.create("u-list", agent, `t${i}`));
      await new Promise((r) => setTimeout(r, 2));
    }
    // Touching the oldest makes it the newest.
    await db.query("UPDATE threads SET updated_at = now() + interval '1 second' WHERE id = $1", [
      made[0]?.id,
    ]);
    const ids = (await threads.list("u-list", { limit: 10 })).map((t) => t.id);
    expect(ids).toEqual([made[0]?.id, made[2]?.id, made[1]?.id]);
    expect((await threads.list("u-list", { limit: 10, agentId: "a1" })).map((t) => t.id)).toEqual([
      made[0]?.id,
      made[2]?.id,
    ]);
  });

  it("reads one row past the page, so the caller knows whether another page exists", async () => {
    for (let i = 0; i < 3; i++) await threads.create("u-peek", "a", `t${i}`);
    expect(await threads.list("u-peek", { limit: 2 })).toHaveLength(3);
    expect(await threads.list("u-peek", { limit: 3 })).toHaveLength(3);
  });

  it("pages through threads sharing one update time without skipping or repeating any", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await threads.create("u-ties", "a", `t${i}`)).id);
    await db.query(
      "UPDATE threads SET updated_at = timestamptz '2030-01-01 00:00:00.123456+00' WHERE user_id = 'u-ties'",
    );
    const pages = await allPages("u-ties", 3);
    expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
    expect(pages.flat()).toEqual([...ids].sort().reverse());
  });

  it("pages by the exact microsecond: threads a fraction of a millisecond apart keep their order", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await threads.create("u-micro", "a", `t${i}`)).id);
    for (const [i, id] of ids.entries()) {
      await db.query(
        "UPDATE threads SET updated_at = timestamptz '2030-01-01 00:00:00.000100+00' + $2 * interval '1 microsecond' WHERE id = $1",
        [id, i],
      );
    }
    expect((await allPages("u-micro", 1)).flat()).toEqual([...ids].reverse());
  });

  it("pages a thread's messages oldest first, after a given one", async () => {
    const thread = await threads.create("u-msgs", "a", "");
    const seqs: number[] = [];
    for (let i = 0; i < 5; i++) seqs.push(await say(thread.id, i % 2 ? "assistant" : "user", `m${i}`));
    const first = await threads.messages(thread.id, { limit: 2 });
    expect(first.map((m) => m.content)).toEqual(["m0", "m1", "m2"]);
    const next = await threads.messages(thread.id, { afterSeq: seqs[1], limit: 2 });
    expect(next.map((m) => m.content)).toEqual(["m2", "m3", "m4"]);
    const last = await threads.messages(thread.id, { afterSeq: seqs[3], limit: 2 });
    expect(last.map((m) => m.content)).toEqual(["m4"]);
    // Another thread's messages never appear.
    const other = await threads.create("u-msgs", "a", "");
    await say(other.id, "user", "elsewhere");
    expect((await threads.messages(thread.id, { limit: 100 })).map((m) => m.content)).not.toContain(
      "elsewhere",
    );
  });

  it("gives a turn the last messages before its own, oldest first", async () => {
    const thread = await threads.create("u-recent", "a", "");
    const seqs: number[] = [];
    for (let i = 0; i < 6; i++) seqs.push(await say(thread.id, "user", `m${i}`));
    expect((await threads.recent(thread.id, 3)).map((m) => m.content)).toEqual(["m3", "m4", "m5"]);
    expect((await threads.recent(thread.id, 3, seqs[4])).map((m) => m.content)).toEqual(["m1", "m2", "m3"]);
    expect((await threads.recent(thread.id, 10, seqs[2])).map((m) => m.content)).toEqual(["m0", "m1"]);
    expect(await threads.recent(thread.id, 3, seqs[0])).toEqual([]);
  });

  it("titles a thread by the first non-blank line of its first message", () => {
    expect(firstLine("  printer jammed  \r\nsince Monday")).toBe("printer jammed");
    expect(firstLine("\n\n  second line is first\nthird")).toBe("second line is first");
    expect(firstLine("   ")).toBe("");
  });
});
