import type { Logger } from "#kit/log/index.js";
import type { MessageRow } from "./thread-store.js";
import { TURN_HEARTBEAT_MS, TURN_STALE_MS, type TurnStore } from "./turn-store.js";

/**
 * While no other process holds an open turn, the sweep runs once in this many TURN_STALE_MS ticks
 * (a minute) instead of on each: a quiet stack does not query its database every few seconds, and
 * a turn abandoned meanwhile is still marked within a minute (its user's repeat resumes it at once).
 */
export const QUIET_SWEEP_TICKS = 12;

/**
 * Keeps this process's turns owned and repairs the turns of processes that died (docs/chat.md,
 * "A turn that survives a crash"): a heartbeat every TURN_HEARTBEAT_MS while it runs turns, and a
 * sweep — at start, then every TURN_STALE_MS while another process holds an open turn, else every
 * QUIET_SWEEP_TICKS of those — that marks every abandoned turn interrupted, saying which tool calls
 * are confirmed and which are not yet. The chat service holds no user credential at rest, so it
 * cannot ask the tools as the user by itself: the user's repeat of the message (same x-request-id)
 * resumes the turn with the same idempotency keys, and the MCP server answers each key with what
 * really happened.
 */
export async function startTurnKeeper(turns: TurnStore, logger: Logger): Promise<{ stop(): Promise<void> }> {
  // Unknown until a sweep says otherwise (a failed sweep too): sweep on every tick.
  let othersOpen = true;
  let quietTicks = 0;
  const sweep = async () => {
    othersOpen = true;
    const marked = await turns.interruptAbandoned(interruptionNote);
    for (const m of marked) {
      logger.warn(
        { thread_id: m.thread_id, message_id: m.id, tool_calls: m.tool_calls.length },
        "turn interrupted by a stopped chat process: marked for resumption",
      );
    }
    othersOpen = await turns.othersHoldOpenTurns();
  };
  const tick = () => {
    quietTicks += 1;
    if (!othersOpen && quietTicks < QUIET_SWEEP_TICKS) return;
    quietTicks = 0;
    track(sweep(), "interrupted-turn sweep failed");
  };
  await sweep();
  // Writes under way: a stop waits for them, so none lands after it (the database closes next).
  const inFlight = new Set<Promise<void>>();
  const track = (write: Promise<unknown>, failure: string) => {
    const done = write.then(
      () => undefined,
      (err: unknown) => logger.warn({ err }, failure),
    );
    inFlight.add(done);
    void done.finally(() => inFlight.delete(done));
  };
  const beat = setInterval(() => track(turns.heartbeat(), "turn heartbeat failed"), TURN_HEARTBEAT_MS);
  const sweeper = setInterval(tick, TURN_STALE_MS);
  beat.unref();
  sweeper.unref();
  return {
    async stop() {
      clearInterval(beat);
      clearInterval(sweeper);
      await Promise.all(inFlight);
    },
  };
}

interface StoredCall {
  readonly name?: string;
  readonly status?: string;
}

/** The interrupted message's text: what was said, what is confirmed, what is not, and what to do. */
export function interruptionNote(row: MessageRow): string {
  const calls = row.tool_calls as StoredCall[];
  const done = calls.filter((c) => c.status === "TOOL_CALL_STATUS_SUCCEEDED").map((c) => c.name);
  const failed = calls.filter((c) => c.status === "TOOL_CALL_STATUS_FAILED").map((c) => c.name);
  const open = calls
    .filter((c) => c.status !== "TOOL_CALL_STATUS_SUCCEEDED" && c.status !== "TOOL_CALL_STATUS_FAILED")
    .map((c) => c.name);
  const lines = [
    "This turn was interrupted: the chat service stopped while it ran.",
    done.length > 0 ? `Done: ${done.join(", ")}.` : "",
    failed.length > 0 ? `Not done (failed): ${failed.join(", ")}.` : "",
    open.length > 0 ? `Not confirmed yet: ${open.join(", ")}.` : "",
    "Send the same message again to resume it: nothing is done twice.",
  ];
  const said = row.content.trim();
  return [said, lines.filter(Boolean).join(" ")].filter(Boolean).join("\n\n");
}
