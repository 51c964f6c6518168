import { Code, ConnectError } from "@connectrpc/connect";
import type { ToolCall } from "#gen/supportext/agent/v1/agent_pb.js";
import type { MessageRow } from "../thread-store.js";
import { toolCallFromJson } from "../to-proto.js";
import { refusedOverLimit } from "../user-limits.js";
import { pauseBeforeLookingAgain } from "./repeat-waiters.js";
import { wholeAnswer } from "./stored-answer.js";
import { gateOf, type TurnDeps } from "./turn-events.js";

export type OpenedTurn =
  | { readonly kind: "new"; readonly userMessage: MessageRow; readonly messageId: string }
  | {
      readonly kind: "resumed";
      readonly userMessage: MessageRow;
      readonly messageId: string;
      /** The tool calls the turn had made, as its message recorded them: the run goes on from them. */
      readonly madeCalls: ToolCall[];
    }
  | { readonly kind: "finished"; readonly userMessage: MessageRow; readonly assistantMessage: MessageRow };

/**
 * A new turn, or the one this request repeats: answered from storage when it finished, waited
 * for while its owner is alive, taken over (resumed) once it is interrupted or its owner is gone.
 * A `new` or `resumed` turn is this process's to run: `driveTurn` gives it back when the run ends
 * (`TurnStore.release`), and whoever fails before that must.
 */
export async function openTurn(
  deps: TurnDeps,
  userId: string,
  threadId: string,
  requestId: string,
  input: string,
  signal: AbortSignal,
): Promise<OpenedTurn> {
  // Every run this call starts counts against the caller's limits (docs/chat.md, "Limits per user").
  const gate = gateOf(deps, userId);
  const limited = <T>(take: () => Promise<T>) => refusedOverLimit(deps.logger, userId, take);
  let turn = await deps.turns.findRepeat(threadId, requestId, input);
  if (!turn) {
    const begun = await limited(() => deps.turns.begin(threadId, requestId, input, gate)).catch(
      (err: unknown) => {
        // 23503 foreign_key_violation: the thread was deleted while the turn was being opened.
        if ((err as { code?: unknown }).code === "23503") throw threadGone(threadId);
        throw err;
      },
    );
    if (begun) return { kind: "new", userMessage: begun.userMessage, messageId: begun.assistantMessage.id };
    // Another copy of this request opened the turn between the look and the insert: this is its repeat.
    turn = await deps.turns.findRepeat(threadId, requestId, input);
    if (!turn) {
      // Or the thread was deleted meanwhile, and nothing could be opened on it.
      if (!(await deps.threads.get(userId, threadId))) throw threadGone(threadId);
      // Only two different inputs with one MD5 digest get here (`turns_one_per_request`).
      throw new ConnectError(
        "x-request-id: already used on this thread for another message; send a new one",
        Code.AlreadyExists,
      );
    }
  }
  // While the turn runs elsewhere this call waits, as one of its user's bounded waiting repeats.
  let leave: (() => void) | undefined;
  try {
    for (;;) {
      if (!turn) throw threadGone(threadId);
      const open = turn;
      if (deps.turns.mayClaim(open) && (await limited(() => deps.turns.claim(open.message_id, gate)))) {
        const claimed = open.message_id;
        try {
          const { userMessage, assistantMessage } = await deps.turns.messagesOf(open);
          if (!userMessage) throw new ConnectError("the repeated turn's message is gone", Code.NotFound);
          return { kind: "resumed", userMessage, messageId: claimed, madeCalls: callsOf(assistantMessage) };
        } catch (err) {
          deps.turns.release(claimed); // never run here
          throw err;
        }
      }
      if (open.finished) {
        const { userMessage, assistantMessage } = await deps.turns.messagesOf(open);
        if (!userMessage || !assistantMessage) {
          throw new ConnectError("the repeated turn's messages are gone", Code.NotFound);
        }
        // A turn waiting for its confirmation is answered with its question, never run again.
        if (wholeAnswer(assistantMessage) || assistantMessage.status === "awaiting_confirmation") {
          return { kind: "finished", userMessage, assistantMessage };
        }
        // It ended without the whole answer (an error, a tool call never confirmed): run it again
        // with the same keys, so what was done is confirmed and what was not is done once.
        // Read before the turn is taken: nothing may fail between taking it and handing it on.
        const madeCalls = callsOf(assistantMessage);
        if (await limited(() => deps.turns.reopen(open.message_id, gate))) {
          return { kind: "resumed", userMessage, messageId: open.message_id, madeCalls };
        }
      }
      if (signal.aborted) throw new ConnectError("the caller went away", Code.Canceled);
      leave ??= await limited(async () => deps.repeatWaiters?.enter(userId));
      await pauseBeforeLookingAgain(signal);
      if (signal.aborted) throw new ConnectError("the caller went away", Code.Canceled);
      turn = await deps.turns.findRepeat(threadId, requestId, input);
    }
  } finally {
    leave?.();
  }
}

function threadGone(threadId: string): ConnectError {
  return new ConnectError(`thread ${threadId} not found`, Code.NotFound);
}

/** The tool calls a turn's assistant message recorded (as they started and finished). */
function callsOf(assistantMessage: MessageRow | undefined): ToolCall[] {
  return (assistantMessage?.tool_calls ?? []).map(toolCallFromJson);
}
