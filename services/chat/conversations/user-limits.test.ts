import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "#kit/db/index.js";
import { type TestDatabase, testBackends } from "#kit/db/testing/test-backends.js";
import { CHAT_MIGRATIONS } from "../data/migrations.js";
import { ThreadStore } from "./thread-store.js";
import { TurnStore } from "./turn-store.js";
import {
  LIMIT_WINDOW_S,
  limitReachedError,
  NO_USER_LIMITS,
  UserLimitReached,
  type UserLimits,
} from "./user-limits.js";

/**
 * Limits per user (docs/chat.md): counted in chat's database under the user's lock, so copies of
 * a request, replicas and concurrent calls all count the same turns; a refused turn or thread
 * leaves nothing behind, and a repeat of a turn is never refused.
 */
const limits = (l: Partial<UserLimits>): UserLimits => ({ ...NO_USER_LIMITS, ...l });

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
    const perMinute = limits({ turnsPerMinute: 3 });
    const thread = await threads.create("rate-user", "support-assistant", "");
    const other = await threads.create("rate-user", "support-assistant", "");
    for (const [i, t] of [thread, thread, other].entries()) {
      const begun = await turns.begin(t.id, `req-${i}`, `message ${i}`, perMinute);
      expect(begun).toBeDefined();
      await turns.finish(begun?.assistantMessage.id ?? "", {
        role: "assistant",
        content: "done",
        status: "complete",
      });
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
    expect(await turns.begin(theirs.id, "req-0", "message 0", perMinute)).toBeDefined();
    // Without limits the same user opens on.
    expect(await turns.begin(thread.id, "req-3", "message 3")).toBeDefined();
  });

  it("turns per minute under concurrency: of 8 turns begun at once by one user, 3 open", async () => {
    const perMinute = limits({ turnsPerMinute: 3 });
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
    const running = limits({ openTurns: 2 });
    const turns = new TurnStore(db);
    const thread = await threads.create("open-user", "support-assistant", "");
    const first = await turns.begin(thread.id, "open-1", "one", running);
    const second = await turns.begin(thread.id, "open-2", "two", running);
    const refused = await refusal(turns.begin(thread.id, "open-3", "three", running));
    expect(refused.reached).toMatchObject({ limit: "open_turns", allowed: 2 });
    await turns.finish(first?.assistantMessage.id ?? "", {
      role: "assistant",
      content: "done",
      status: "complete",
    });
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
    expect(err.rawMessage).toBe("too many new messages: at most 60 a minute; try again in 13 s");
    expect(err.metadata.get("retry-after")).toBe("13");
    expect(
      limitReachedError({ limit: "open_turns", allowed: 8, retryAfterSec: 0 }).metadata.get("retry-after"),
    ).toBe("1");
  });
});
