import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "#kit/db/index.js";
import { type TestDatabase, testBackends } from "#kit/db/testing/test-backends.js";
import { captureLogs } from "#kit/testing/log-capture.js";
import { CHAT_MIGRATIONS } from "../../data/migrations.js";
import type { AgentClient } from "../agent-client.js";
import { ThreadStore } from "../thread-store.js";
import { TurnStore } from "../turn-store.js";
import { NO_USER_LIMITS } from "../user-limits.js";
import { openTurn } from "./open-turn.js";
import { RepeatWaiters } from "./repeat-waiters.js";
import type { TurnDeps } from "./turn-events.js";

/**
 * Repeats waiting for a turn another live process runs (docs/chat.md, "Limits per user"): each
 * holds its call open and reads the turn every REPEAT_POLL_MS, so a user has at most as many
 * waiting in a process as they may run turns at once; the one past that is refused at once, and
 * those admitted get the turn's answer when it finishes.
 */
describe("waiting repeats per user", () => {
  it("takes places up to the bound, refuses the next, and gives a place back once (0: no bound)", () => {
    const waiters = new RepeatWaiters(2);
    const leaveA = waiters.enter("u");
    waiters.enter("u");
    expect(() => waiters.enter("u")).toThrow(/user limit reached: waiting_repeats/);
    waiters.enter("someone else");
    leaveA();
    leaveA(); // once only: the place is not given back twice
    waiters.enter("u");
    expect(() => waiters.enter("u")).toThrow();
    const unbounded = new RepeatWaiters(0);
    for (let i = 0; i < 100; i++) unbounded.enter("u");
  });
});

describe.each(testBackends("chat", CHAT_MIGRATIONS))("repeats of a running turn on $name", (backend) => {
  let handle: TestDatabase;
  let db: Database;

  beforeAll(async () => {
    handle = await backend.open();
    db = handle.db;
  });
  afterAll(async () => {
    await handle?.close();
  });

  it("the user's third copy of a message another process runs is refused; the two waiting get its answer", async () => {
    const threads = new ThreadStore(db);
    const thread = await threads.create("repeat-user", "support-assistant", "");
    // The turn runs in another process (a live owner: its own store, heartbeat fresh).
    const owner = new TurnStore(db);
    const begun = await owner.begin(thread.id, "req-1", "list tickets");
    const messageId = begun?.assistantMessage.id ?? "";
    const logs = captureLogs("chat");
    const repeatWaiters = new RepeatWaiters(2);
    const deps: TurnDeps = {
      threads,
      turns: new TurnStore(db),
      agents: {} as AgentClient, // never called: a repeat only waits or reads
      logger: logs.logger,
      limits: { ...NO_USER_LIMITS, openTurns: 2 },
      repeatWaiters,
    };
    const copy = () =>
      openTurn(deps, "repeat-user", thread.id, "req-1", "list tickets", new AbortController().signal);
    const waiting = [copy(), copy()];
    // Both take their places once they have looked and found the turn running (a generous
    // deadline: a busy machine).
    for (let i = 0; repeatWaiters.waitingOf("repeat-user") < 2; i++) {
      if (i > 600) throw new Error("the two copies never waited");
      await new Promise((r) => setTimeout(r, 50));
    }
    const third = await copy().then(
      () => undefined,
      (err: unknown) => ConnectError.from(err),
    );
    expect(third?.code).toBe(Code.ResourceExhausted);
    expect(third?.rawMessage).toBe(
      "too many repeats waiting for messages under way: at most 2 at once; try again in 2 s",
    );
    expect(logs.records().filter((r) => r.msg === "user limit reached")).toMatchObject([
      { user_id: "repeat-user", limit: "waiting_repeats", allowed: 2 },
    ]);
    await owner.finish(messageId, { role: "assistant", content: "Two open tickets.", status: "complete" });
    owner.release(messageId);
    const answered = await Promise.all(waiting);
    expect(answered.map((o) => o.kind)).toEqual(["finished", "finished"]);
    expect(repeatWaiters.waitingOf("repeat-user")).toBe(0);
    // Their places are given back: the next copy is answered from storage at once.
    expect((await copy()).kind).toBe("finished");
  });
});
