import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { Database } from "#kit/db/index.js";
import { type TestDatabase, testBackends } from "#kit/db/testing/test-backends.js";
import { captureLogs } from "#kit/testing/log-capture.js";
import { CHAT_MIGRATIONS } from "../data/migrations.js";
import type { MessageRow } from "./thread-store.js";
import { ThreadStore } from "./thread-store.js";
import { interruptionNote, QUIET_SWEEP_TICKS, startTurnKeeper } from "./turn-keeper.js";
import { TURN_HEARTBEAT_MS, TURN_STALE_MS, TurnStore } from "./turn-store.js";

/** A turn opened by `store`; every spec here opens each request once. */
async function opened(store: TurnStore, threadId: string, requestId: string, input: string) {
  const begun = await store.begin(threadId, requestId, input);
  if (!begun) throw new Error(`${requestId}: the turn was already open`);
  return begun;
}
/** Conditions are awaited, never timed: generous for a busy 2-core machine. */
const SLOW_MACHINE = { timeout: 15_000 };

/**
 * The chat process's keeper of turns (docs/chat.md, "A turn that survives a crash") on PGlite and on
 * DATABASE_URL's PostgreSQL: at start it marks the turns of dead processes interrupted, saying what
 * is confirmed; it keeps its own turns owned with a heartbeat and sweeps again every TURN_STALE_MS;
 * a failing beat or sweep is logged, never thrown; stop ends both. Only the intervals are faked
 * (the database keeps real time); a dead process is one whose heartbeat the test moves into the past.
 */
const call = (name: string, status: string) => ({ name, status });

describe.each(testBackends("chat", CHAT_MIGRATIONS))("the turn keeper on $name", (backend) => {
  let handle: TestDatabase;
  let db: Database;
  let threads: ThreadStore;
  const stops: (() => Promise<void>)[] = [];

  /** A pending turn of `owner`, with these tool calls so far. */
  const openTurn = async (owner: TurnStore, toolCalls: unknown[] = [], content = "") => {
    const thread = await threads.create("u1", "support-assistant", "");
    const { assistantMessage } = await opened(owner, thread.id, `req-${thread.id}`, "close my tickets");
    await owner.progress(assistantMessage.id, { content, toolCalls });
    return assistantMessage.id;
  };
  const beatLongAgo = (messageId: string) =>
    db.query("UPDATE turns SET heartbeat_at = now() - interval '1 hour' WHERE message_id = $1", [messageId]);
  const statusOf = async (messageId: string) =>
    (await db.query<{ status: string }>("SELECT status FROM messages WHERE id = $1", [messageId])).rows[0]
      ?.status;
  const beatAgeMs = async (messageId: string) =>
    (
      await db.query<{ ms: number }>(
        "SELECT (extract(epoch FROM now() - heartbeat_at) * 1000)::int AS ms FROM turns WHERE message_id = $1",
        [messageId],
      )
    ).rows[0]?.ms as number;

  beforeAll(async () => {
    handle = await backend.open();
    db = handle.db;
    threads = new ThreadStore(db);
  });
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
    vi.useRealTimers();
  });
  afterAll(async () => {
    await handle?.close();
  });

  it("interrupts a dead process's turn at start, with what is confirmed, and logs it", async () => {
    const dead = new TurnStore(db);
    const abandoned = await openTurn(dead, [
      call("create_ticket", "TOOL_CALL_STATUS_SUCCEEDED"),
      call("assign_ticket", "TOOL_CALL_STATUS_RUNNING"),
    ]);
    await beatLongAgo(abandoned);
    const alive = await openTurn(new TurnStore(db)); // another live process's: left alone
    const mine = new TurnStore(db);
    const own = await openTurn(mine);
    await beatLongAgo(own); // our own turn is never ours to interrupt
    const logs = captureLogs("chat");
    stops.push((await startTurnKeeper(mine, logs.logger)).stop);

    expect(await statusOf(abandoned)).toBe("interrupted");
    expect(await statusOf(alive)).toBe("pending");
    expect(await statusOf(own)).toBe("pending");
    const { rows } = await db.query<{ content: string }>("SELECT content FROM messages WHERE id = $1", [
      abandoned,
    ]);
    expect(rows[0]?.content).toContain("Done: create_ticket.");
    expect(rows[0]?.content).toContain("Not confirmed yet: assign_ticket.");
    const logged = logs
      .records()
      .filter((r) => r.msg === "turn interrupted by a stopped chat process: marked for resumption");
    expect(logged).toEqual([expect.objectContaining({ message_id: abandoned, tool_calls: 2 })]);
  });

  it("beats for its own turns every TURN_HEARTBEAT_MS, and sweeps again every TURN_STALE_MS, until stopped", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const mine = new TurnStore(db);
    const own = await openTurn(mine);
    const keeper = await startTurnKeeper(mine, captureLogs("chat").logger);
    stops.push(keeper.stop);

    await beatLongAgo(own);
    vi.advanceTimersByTime(TURN_HEARTBEAT_MS);
    await expect.poll(() => beatAgeMs(own), SLOW_MACHINE).toBeLessThan(60_000);

    const dead = new TurnStore(db);
    const abandoned = await openTurn(dead);
    await beatLongAgo(abandoned);
    vi.advanceTimersByTime(TURN_STALE_MS - TURN_HEARTBEAT_MS);
    await expect.poll(() => statusOf(abandoned), SLOW_MACHINE).toBe("interrupted");

    // Beats already under way land before the stop returns; none after it.
    await keeper.stop();
    await beatLongAgo(own);
    const late = await openTurn(new TurnStore(db));
    await beatLongAgo(late);
    vi.advanceTimersByTime(10 * TURN_STALE_MS);
    await new Promise((r) => setTimeout(r, 100));
    expect(await beatAgeMs(own)).toBeGreaterThanOrEqual(60_000);
    expect(await statusOf(late)).toBe("pending");
  });

  it("while no other process holds an open turn it sweeps once in QUIET_SWEEP_TICKS, and it beats only while it runs a turn", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    await db.query("UPDATE turns SET finished_at = now() WHERE finished_at IS NULL");
    const mine = new TurnStore(db);
    let sweeps = 0;
    const sweep = mine.interruptAbandoned.bind(mine);
    mine.interruptAbandoned = (note: (row: MessageRow) => string) => {
      sweeps += 1;
      return sweep(note);
    };
    const query = vi.spyOn(db, "query");
    const beats = () =>
      query.mock.calls.filter(([sql]) => String(sql).startsWith("UPDATE turns SET heartbeat_at")).length;
    stops.push((await startTurnKeeper(mine, captureLogs("chat").logger)).stop);
    const settle = () => new Promise((r) => setTimeout(r, 50));
    const ticks = async (n: number) => {
      for (let i = 0; i < n; i++) {
        vi.advanceTimersByTime(TURN_STALE_MS);
        await settle();
      }
    };

    // Quiet: no sweep until the QUIET_SWEEP_TICKS-th tick, and no heartbeat statement at all.
    await ticks(QUIET_SWEEP_TICKS - 1);
    expect({ sweeps, beats: beats() }).toEqual({ sweeps: 1, beats: 0 });
    await ticks(1);
    await expect.poll(() => sweeps, SLOW_MACHINE).toBe(2);

    // Another process opens a turn: the next quiet sweep sees it, then every tick sweeps.
    await openTurn(new TurnStore(db));
    await ticks(QUIET_SWEEP_TICKS);
    await expect.poll(() => sweeps, SLOW_MACHINE).toBe(3);
    await ticks(2);
    await expect.poll(() => sweeps, SLOW_MACHINE).toBe(5);

    // A turn of its own: beaten every TURN_HEARTBEAT_MS until its run is over, then no more.
    const own = await openTurn(mine);
    vi.advanceTimersByTime(TURN_HEARTBEAT_MS);
    await expect.poll(beats, SLOW_MACHINE).toBe(1);
    await mine.finish(own, { role: "assistant", content: "done", status: "complete" });
    mine.release(own);
    vi.advanceTimersByTime(5 * TURN_HEARTBEAT_MS);
    await settle();
    expect(beats()).toBe(1);
    query.mockRestore();
  });

  it("beats for a turn however this process came to run it — reopened by the user's answer, reopened again by a repeat — until its last run here is released", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const mine = new TurnStore(db);
    const query = vi.spyOn(db, "query");
    const beats = () =>
      query.mock.calls.filter(([sql]) => String(sql).startsWith("UPDATE turns SET heartbeat_at")).length;
    stops.push((await startTurnKeeper(mine, captureLogs("chat").logger)).stop);
    const beatsOnNextTick = async () => {
      const before = beats();
      vi.advanceTimersByTime(TURN_HEARTBEAT_MS);
      await new Promise((r) => setTimeout(r, 50));
      return beats() > before;
    };

    // A turn that stopped at a question: its run here is over, so nothing is beaten.
    const thread = await threads.create("u1", "support-assistant", "");
    const { assistantMessage } = await opened(mine, thread.id, "req-confirm", "delete ticket 4");
    const question = {
      id: `q-${thread.id}`,
      toolCallId: "call-1",
      toolName: "delete_ticket",
      argumentsJson: '{"ticket_id":4}',
      argumentsSummary: "ticket 4",
      question: "Delete ticket #4?",
      action: "delete",
      resumeState: new Uint8Array([1]),
    };
    await mine.finish(
      assistantMessage.id,
      { role: "assistant", content: "", status: "awaiting_confirmation" },
      question,
    );
    mine.release(assistantMessage.id);
    expect(await beatsOnNextTick()).toBe(false);

    // The user answers: the turn goes on here, and is beaten.
    const found = await mine.confirmation(thread.id, question.id);
    if (!found) throw new Error("the question is not stored");
    expect(await mine.answer(found.confirmation, true, "u1")).toBe(true);
    expect(await beatsOnNextTick()).toBe(true);

    // A repeat of the answer reaching this process while it runs the turn waits for that run.
    expect(await mine.claim(assistantMessage.id)).toBe(false);
    // The run saved an incomplete outcome and a repeat reopened the turn before that run let go:
    // two runs here; the first to end leaves the other beaten.
    await mine.finish(assistantMessage.id, { role: "assistant", content: "", status: "failed" });
    expect(await mine.reopen(assistantMessage.id)).toBe(true);
    mine.release(assistantMessage.id);
    expect(await beatsOnNextTick()).toBe(true);
    mine.release(assistantMessage.id);
    expect(await beatsOnNextTick()).toBe(false);

    // Released but still open (its run failed here): not kept owned while another turn runs,
    // so it goes stale and another process may take it.
    await beatLongAgo(assistantMessage.id);
    const other = await openTurn(mine);
    await beatLongAgo(other);
    expect(await beatsOnNextTick()).toBe(true);
    await expect.poll(() => beatAgeMs(other), SLOW_MACHINE).toBeLessThan(60_000);
    expect(await beatAgeMs(assistantMessage.id)).toBeGreaterThanOrEqual(60_000);
    query.mockRestore();
  });

  it("logs a failed beat or sweep and goes on", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const failing = new TurnStore(db);
    await openTurn(new TurnStore(db)); // another process's open turn: a sweep on every tick
    let sweeps = 0;
    failing.heartbeat = () => Promise.reject(new Error("database away"));
    const sweep = failing.interruptAbandoned.bind(failing);
    failing.interruptAbandoned = (note: (row: MessageRow) => string) =>
      ++sweeps === 1 ? sweep(note) : Promise.reject(new Error("database away"));
    const logs = captureLogs("chat");
    stops.push((await startTurnKeeper(failing, logs.logger)).stop);
    vi.advanceTimersByTime(TURN_STALE_MS);
    await expect
      .poll(() => logs.records().map((r) => r.msg))
      .toEqual(expect.arrayContaining(["turn heartbeat failed", "interrupted-turn sweep failed"]));
    vi.advanceTimersByTime(TURN_STALE_MS);
    await expect.poll(() => sweeps, SLOW_MACHINE).toBe(3);
  });
});

describe("the interruption note", () => {
  const row = (content: string, toolCalls: unknown[]) => ({ content, tool_calls: toolCalls }) as MessageRow;

  it("keeps what was said and sorts the calls into done, failed and not confirmed", () => {
    const note = interruptionNote(
      row("  Closing your tickets…  ", [
        call("close_ticket", "TOOL_CALL_STATUS_SUCCEEDED"),
        call("notify", "TOOL_CALL_STATUS_FAILED"),
        call("assign_ticket", "TOOL_CALL_STATUS_RUNNING"),
        { name: "reopen_ticket" },
      ]),
    );
    expect(note).toBe(
      [
        "Closing your tickets…",
        "This turn was interrupted: the chat service stopped while it ran. Done: close_ticket. " +
          "Not done (failed): notify. Not confirmed yet: assign_ticket, reopen_ticket. " +
          "Send the same message again to resume it: nothing is done twice.",
      ].join("\n\n"),
    );
  });

  it("says only that the turn was interrupted when nothing was said or called", () => {
    expect(interruptionNote(row("  ", []))).toBe(
      "This turn was interrupted: the chat service stopped while it ran. Send the same message again to resume it: nothing is done twice.",
    );
  });
});
