import { randomUUID } from "node:crypto";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { kRequestId, requirePrincipal } from "#kit/propagation/index.js";
import { messageToProto } from "./to-proto.js";
import { driveTurn } from "./turn/drive-turn.js";
import { openTurn } from "./turn/open-turn.js";
import { answeredConfirmation, conversationHistory, runRequest } from "./turn/run-request.js";
import { storedAnswer } from "./turn/stored-answer.js";
import { RESUMING_INTERRUPTED, type TurnDeps, type TurnEvent } from "./turn/turn-events.js";

export { agentLost } from "./turn/agent-lost.js";
export { confirmToolCall } from "./turn/confirm-tool-call.js";
export { MAX_HISTORY_MESSAGE_CHARS } from "./turn/run-request.js";
export type { ConfirmEvent, TurnDeps, TurnEvent } from "./turn/turn-events.js";

export const MAX_MESSAGE_CHARS = 8000;

/**
 * One turn of a thread, shared by SendMessage and StreamMessage (docs/chat.md, "A turn"). The user
 * message and a pending assistant message are stored before the agent runs, and the tool calls are
 * written as they happen, so a crash never leaves a thread without its turn (turn-store.ts). The
 * agent runs as the caller (the propagated token reaches every tool call), its events pass through
 * as they come, and the assistant message gets the outcome however the turn ends: finished,
 * stopped at a limit, failed, cancelled, or the caller gone mid-stream. If the caller's token
 * expires during the turn, the partial answer is kept and the call ends with `unauthenticated`.
 *
 * A repeat of a turn — the same x-request-id and input on the same thread, as a client sends after
 * a lost connection — never runs it twice: a turn that finished with its whole answer is answered
 * from storage, a running one is waited for, and one that was interrupted (its chat process died)
 * or ended without its whole answer (an error, a tool call never confirmed) is resumed with the
 * same idempotency keys, so every change it made is answered with its first result, never made again.
 */
export async function* runTurn(
  deps: TurnDeps,
  ctx: HandlerContext,
  threadId: string,
  content: string,
): AsyncGenerator<TurnEvent> {
  const principal = requirePrincipal(ctx);
  const input = content.trim();
  if (input === "") throw new ConnectError("content: a message is required", Code.InvalidArgument);
  if (input.length > MAX_MESSAGE_CHARS) {
    throw new ConnectError(`content: at most ${MAX_MESSAGE_CHARS} characters`, Code.InvalidArgument);
  }
  if (threadId === "") throw new ConnectError("thread_id: required", Code.InvalidArgument);
  const thread = await deps.threads.get(principal.userId, threadId);
  if (!thread) throw new ConnectError(`thread ${threadId} not found`, Code.NotFound);
  // Set by the propagation interceptor from x-request-id (or made at the edge): the turn's name.
  const requestId = ctx.values.get(kRequestId) ?? randomUUID();

  const opened = await openTurn(deps, principal.userId, thread.id, requestId, input, ctx.signal);
  if (opened.kind === "finished") {
    yield { case: "userMessage", value: messageToProto(opened.userMessage) };
    yield* storedAnswer(deps, opened.assistantMessage);
    return;
  }
  const { userMessage, messageId } = opened;
  let request: ReturnType<typeof runRequest>;
  try {
    const history = await conversationHistory(deps, thread.id, userMessage.seq);
    // A turn resumed after its confirmation was answered goes on from where it stopped, with that
    // answer (docs/chat.md, "Confirmation before destruction"): never planned afresh, never asked twice.
    const answered = opened.kind === "resumed" ? await answeredConfirmation(deps, messageId) : undefined;
    // A turn run again after an interruption goes on from the calls it had made: a hosted model
    // asked afresh would choose new call ids, so new idempotency keys, and write twice.
    request = runRequest(thread, input, history, answered, opened.kind === "resumed" ? opened.madeCalls : []);
  } catch (err) {
    deps.turns.release(messageId); // never run here: another process, or a repeat, may take it
    throw err;
  }

  yield* driveTurn(deps, ctx, {
    thread,
    messageId,
    request,
    first: { case: "userMessage", value: messageToProto(userMessage) },
    ...(opened.kind === "resumed" ? { resumedBecause: RESUMING_INTERRUPTED } : {}),
  });
}
