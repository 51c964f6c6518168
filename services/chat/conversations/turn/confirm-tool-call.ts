import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { requirePrincipal } from "#kit/propagation/index.js";
import type { ThreadRow } from "../thread-store.js";
import { toolCallFromJson } from "../to-proto.js";
import type { UserGate } from "../turn-limits.js";
import type { ConfirmationRow, TurnRow } from "../turn-store.js";
import { refusedOverLimit } from "../user-limits.js";
import { driveTurn } from "./drive-turn.js";
import { pauseBeforeLookingAgain } from "./repeat-waiters.js";
import { runRequest } from "./run-request.js";
import { storedAnswer, wholeAnswer } from "./stored-answer.js";
import { type ConfirmEvent, gateOf, RESUMING_INTERRUPTED, resumed, type TurnDeps } from "./turn-events.js";

/**
 * ChatService.ConfirmToolCall (docs/chat.md, "Confirmation before destruction"): the answer to a
 * question of the caller's own thread — the caller is the verified principal, so another user's
 * question is not found, and the answer is recorded as theirs. The turn then goes on from where it
 * stopped, with the same idempotency keys: the confirmed call runs once whatever is repeated, and a
 * cancelled one does not run. A repeat of the same answer (a lost connection) waits for the turn,
 * resumes it if it was interrupted, or is answered from storage; the other answer to a question
 * already answered is `failed_precondition`.
 */
export async function* confirmToolCall(
  deps: TurnDeps,
  ctx: HandlerContext,
  threadId: string,
  confirmationId: string,
  confirmed: boolean,
): AsyncGenerator<ConfirmEvent> {
  const principal = requirePrincipal(ctx);
  if (threadId === "") throw new ConnectError("thread_id: required", Code.InvalidArgument);
  if (confirmationId === "") throw new ConnectError("confirmation_id: required", Code.InvalidArgument);
  const thread = await deps.threads.get(principal.userId, threadId);
  if (!thread) throw new ConnectError(`thread ${threadId} not found`, Code.NotFound);
  const notFound = () =>
    new ConnectError(`confirmation ${confirmationId} not found in this thread`, Code.NotFound);

  // The turn going on again is one more running for the caller (docs/chat.md, "Limits per user").
  const gate = gateOf(deps, principal.userId);
  const limited = <T>(take: () => Promise<T>) => refusedOverLimit(deps.logger, principal.userId, take);
  // While the turn runs elsewhere this call waits, as one of its user's bounded waiting repeats;
  // the place is given up before the call runs the turn itself.
  let leave: (() => void) | undefined;
  try {
    for (;;) {
      const found = await deps.turns.confirmation(thread.id, confirmationId);
      if (!found) throw notFound();
      const { confirmation, turn } = found;
      if (confirmation.confirmed === null) {
        if (await limited(() => deps.turns.answer(confirmation, confirmed, principal.userId, gate))) {
          deps.logger.info(
            {
              thread_id: thread.id,
              confirmation_id: confirmation.id,
              tool: confirmation.tool_name,
              confirmed,
            },
            confirmed ? "tool call confirmed by the user" : "tool call cancelled by the user",
          );
          leave?.();
          yield* resumeWith(deps, ctx, thread, turn.message_id, turn.input, { ...confirmation, confirmed });
          return;
        }
        continue; // answered meanwhile (a second click): look again
      }
      if (confirmation.confirmed !== confirmed) {
        throw new ConnectError(
          `confirmation ${confirmationId} was already answered (${confirmation.confirmed ? "confirmed" : "cancelled"})`,
          Code.FailedPrecondition,
        );
      }
      const next = await afterTheSameAnswer(deps, ctx, thread, confirmation, turn, gate, limited);
      if (next) {
        leave?.();
        yield* next;
        return;
      }
      if (ctx.signal.aborted) throw new ConnectError("the caller went away", Code.Canceled);
      leave ??= await limited(async () => deps.repeatWaiters?.enter(principal.userId));
      await pauseBeforeLookingAgain(ctx.signal);
      if (ctx.signal.aborted) throw new ConnectError("the caller went away", Code.Canceled);
    }
  } finally {
    leave?.();
  }
}

/**
 * The same answer again (a lost connection): the turn it resumed goes on here when it was
 * interrupted or ended without its whole answer after this very answer, is answered from storage
 * when it finished otherwise, and is waited for (undefined) while another run holds it.
 */
async function afterTheSameAnswer(
  deps: TurnDeps,
  ctx: HandlerContext,
  thread: ThreadRow,
  confirmation: ConfirmationRow,
  turn: TurnRow,
  gate: UserGate | undefined,
  limited: <T>(take: () => Promise<T>) => Promise<T>,
): Promise<AsyncGenerator<ConfirmEvent> | undefined> {
  const goOn = () =>
    resumeWith(deps, ctx, thread, turn.message_id, turn.input, confirmation, RESUMING_INTERRUPTED);
  if (deps.turns.mayClaim(turn) && (await limited(() => deps.turns.claim(turn.message_id, gate)))) {
    return goOn();
  }
  if (!turn.finished) return undefined;
  const { assistantMessage } = await deps.turns.messagesOf(turn);
  if (!assistantMessage) {
    throw new ConnectError(`confirmation ${confirmation.id} not found in this thread`, Code.NotFound);
  }
  const latest = await deps.turns.latestConfirmation(turn.message_id);
  if (wholeAnswer(assistantMessage) || latest?.id !== confirmation.id)
    return storedAnswer(deps, assistantMessage);
  // It ended without its whole answer after this very answer: go on again, same keys.
  return (await limited(() => deps.turns.reopen(turn.message_id, gate))) ? goOn() : undefined;
}

async function* resumeWith(
  deps: TurnDeps,
  ctx: HandlerContext,
  thread: ThreadRow,
  messageId: string,
  input: string,
  confirmation: ConfirmationRow,
  resumedBecause?: string,
): AsyncGenerator<ConfirmEvent> {
  // With the calls the turn recorded: those made after the answer, by an earlier run of this
  // answer that was interrupted, are gone on from instead of being asked of the model again (a
  // hosted model's new call ids would write them twice), and the record keeps every one.
  let madeCalls: ReturnType<typeof toolCallFromJson>[];
  try {
    madeCalls = (await deps.turns.recordedCalls(messageId)).map(toolCallFromJson);
  } catch (err) {
    deps.turns.release(messageId); // never run here: a repeat may take it
    throw err;
  }
  yield* driveTurn(deps, ctx, {
    thread,
    messageId,
    request: runRequest(thread, input, [], confirmation, madeCalls),
    // Said inside the turn: a caller gone on it still gets the turn closed and released.
    ...(resumedBecause ? { first: { case: "turnResumed", value: resumed(resumedBecause) } } : {}),
  }) as AsyncGenerator<ConfirmEvent>;
}
