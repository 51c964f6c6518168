import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import {
  type ConversationMessage,
  ConversationMessageSchema,
  Role,
  type RunEvent,
  type RunRequest,
  StopReason,
  type ToolCall,
  type Usage,
} from "../../../gen/supportext/agent/v1/agent_pb.js";
import {
  type Confirmation,
  type Message,
  type TurnResumed,
  TurnResumedSchema,
} from "../../../gen/supportext/chat/v1/chat_pb.js";
import type { Logger } from "../../kit/log/index.js";
import { forwardFrom, kRequestId, requirePrincipal } from "../../kit/propagation/index.js";
import type { AgentClient } from "./agent-client.js";
import type { MessageRow, MessageStatus, ThreadRow, ThreadStore } from "./thread-store.js";
import {
  confirmationToProto,
  messageToProto,
  stopReasonName,
  toolCallToJson,
  usageToJson,
} from "./to-proto.js";
import type { ConfirmationRow, NewConfirmation, TurnStore } from "./turn-store.js";

export const MAX_MESSAGE_CHARS = 8000;
/** Earlier messages the agent sees as context (the agent accepts at most 50). */
const HISTORY_MESSAGES = 20;
/**
 * The agent refuses a history message longer than this (`invalid_argument`). Assistant answers have
 * no such bound (a model may write more), so one long answer must not make every later turn of the
 * thread fail: older messages are clipped to what the agent accepts.
 */
export const MAX_HISTORY_MESSAGE_CHARS = 16_000;
/** An agent turn may run tools for a while; the caller's own deadline still applies when shorter. */
const TURN_TIMEOUT_MS = 300_000;

export type TurnEvent =
  | { readonly case: "userMessage"; readonly value: Message }
  | { readonly case: "runEvent"; readonly value: RunEvent }
  | { readonly case: "turnResumed"; readonly value: TurnResumed }
  | { readonly case: "confirmationRequired"; readonly value: Confirmation }
  | { readonly case: "assistantMessage"; readonly value: Message };

/** The events of a turn that goes on after its confirmation is answered (no user message). */
export type ConfirmEvent = Exclude<TurnEvent, { readonly case: "userMessage" }>;

export interface TurnDeps {
  readonly threads: ThreadStore;
  readonly turns: TurnStore;
  readonly agents: AgentClient;
  readonly logger: Logger;
}

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

  const opened = await openTurn(deps, thread.id, requestId, input, ctx.signal);
  if (opened.kind === "finished") {
    yield { case: "userMessage", value: messageToProto(opened.userMessage) };
    yield* storedAnswer(deps, opened.assistantMessage);
    return;
  }
  const { userMessage, messageId } = opened;
  const history = (await deps.threads.recent(thread.id, HISTORY_MESSAGES, userMessage.seq))
    .filter((m) => m.content !== "" && SETTLED.has(m.status))
    .map((m) =>
      create(ConversationMessageSchema, {
        role: m.role === "user" ? Role.USER : Role.ASSISTANT,
        content: m.content.slice(0, MAX_HISTORY_MESSAGE_CHARS),
      }),
    );
  // A turn resumed after its confirmation was answered goes on from where it stopped, with that
  // answer (docs/chat.md, "Confirmation before destruction"): never planned afresh, never asked twice.
  const answered = opened.kind === "resumed" ? await answeredConfirmation(deps, messageId) : undefined;

  yield* driveTurn(deps, ctx, {
    thread,
    messageId,
    request: runRequest(thread, input, history, answered),
    first: { case: "userMessage", value: messageToProto(userMessage) },
    ...(opened.kind === "resumed" ? { resumedBecause: RESUMING_INTERRUPTED } : {}),
  });
}

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

  for (;;) {
    const found = await deps.turns.confirmation(thread.id, confirmationId);
    if (!found) throw notFound();
    const { confirmation, turn } = found;
    if (confirmation.confirmed === null) {
      if (await deps.turns.answer(confirmation, confirmed, principal.userId)) {
        deps.logger.info(
          { thread_id: thread.id, confirmation_id: confirmation.id, tool: confirmation.tool_name, confirmed },
          confirmed ? "tool call confirmed by the user" : "tool call cancelled by the user",
        );
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
    // The same answer again: the turn it resumed is running, finished or was interrupted.
    if (!turn.finished && (await deps.turns.claim(turn.message_id))) {
      yield { case: "turnResumed", value: resumed(RESUMING_INTERRUPTED) };
      yield* resumeWith(deps, ctx, thread, turn.message_id, turn.input, confirmation);
      return;
    }
    if (turn.finished) {
      const { assistantMessage } = await deps.turns.messagesOf(turn);
      if (!assistantMessage) throw notFound();
      const latest = await deps.turns.latestConfirmation(turn.message_id);
      if (wholeAnswer(assistantMessage) || latest?.id !== confirmation.id) {
        yield* storedAnswer(deps, assistantMessage);
        return;
      }
      // It ended without its whole answer after this very answer: go on again, same keys.
      if (await deps.turns.reopen(turn.message_id)) {
        yield { case: "turnResumed", value: resumed(RESUMING_INTERRUPTED) };
        yield* resumeWith(deps, ctx, thread, turn.message_id, turn.input, confirmation);
        return;
      }
    }
    if (ctx.signal.aborted) throw new ConnectError("the caller went away", Code.Canceled);
    await new Promise((r) => setTimeout(r, REPEAT_POLL_MS));
  }
}

async function* resumeWith(
  deps: TurnDeps,
  ctx: HandlerContext,
  thread: ThreadRow,
  messageId: string,
  input: string,
  confirmation: ConfirmationRow,
): AsyncGenerator<ConfirmEvent> {
  yield* driveTurn(deps, ctx, {
    thread,
    messageId,
    request: runRequest(thread, input, [], confirmation),
  }) as AsyncGenerator<ConfirmEvent>;
}

/** What AgentService.Run is asked: the turn itself, or — answered — where it stopped and the answer. */
function runRequest(
  thread: ThreadRow,
  input: string,
  history: ConversationMessage[],
  answered: ConfirmationRow | undefined,
): Omit<RunRequest, "$typeName"> {
  return {
    agentId: thread.agent_id,
    input,
    history,
    threadId: thread.id,
    ...(answered && answered.confirmed !== null
      ? {
          resume: {
            $typeName: "supportext.agent.v1.ResumeTurn",
            state: Buffer.from(answered.resume_state, "base64"),
            confirmed: answered.confirmed,
          },
        }
      : {}),
  };
}

/** The turn's current question when it is answered: a resumed turn goes on from there. */
async function answeredConfirmation(deps: TurnDeps, messageId: string): Promise<ConfirmationRow | undefined> {
  const latest = await deps.turns.latestConfirmation(messageId);
  return latest?.confirmed === null ? undefined : latest;
}

/** A stored assistant message, preceded by its question when it waits for one. */
async function* storedAnswer(deps: TurnDeps, message: MessageRow): AsyncGenerator<ConfirmEvent> {
  const open =
    message.status === "awaiting_confirmation"
      ? (await deps.turns.openConfirmations([message.id])).get(message.id)
      : undefined;
  if (open) yield { case: "confirmationRequired", value: confirmationToProto(open) };
  yield { case: "assistantMessage", value: messageToProto(message, open) };
}

/**
 * Runs the agent for an open turn and streams what happens: its events as they come, the question
 * it stops at (kept with the turn, shown without the agent's resume state), and the assistant
 * message saved however the turn ends. An agent lost mid-turn gets the same request again, in the
 * same call scope: same x-request-id, same turn id, same idempotency keys.
 */
async function* driveTurn(
  deps: TurnDeps,
  ctx: HandlerContext,
  turn: {
    readonly thread: ThreadRow;
    readonly messageId: string;
    readonly request: Omit<RunRequest, "$typeName">;
    /** Yielded first, inside the turn (a caller gone on it still gets the turn closed). */
    readonly first?: TurnEvent;
    readonly resumedBecause?: string;
  },
): AsyncGenerator<TurnEvent> {
  const { thread, messageId } = turn;
  let outcome = new TurnOutcome();
  let failure: ConnectError | undefined;
  try {
    if (turn.first) yield turn.first;
    if (turn.resumedBecause) {
      deps.logger.warn({ thread_id: thread.id, message_id: messageId }, "resuming an interrupted turn");
      yield { case: "turnResumed", value: resumed(turn.resumedBecause) };
    }
    // A turn whose agent was lost mid-way (its process died, its connection reset) is sent again
    // in the same call scope: same x-request-id, so the same turn id and the same idempotency
    // key for every tool call — a write already made is answered with its first result, never made
    // twice. While the agent restarts it refuses (`unavailable`, nothing streamed): that resend is
    // tried again until RESEND_WINDOW_MS has passed.
    let resendUntil: number | undefined;
    for (;;) {
      let events = 0;
      try {
        for await (const { event } of deps.agents.run(turn.request, {
          ...forwardFrom(ctx),
          timeoutMs: TURN_TIMEOUT_MS,
        })) {
          if (!event) continue;
          events++;
          outcome.observe(event);
          if (event.event.case === "toolCallStarted" || event.event.case === "toolCallFinished") {
            await deps.turns.progress(messageId, outcome.progress());
          }
          if (event.event.case === "confirmationRequired") {
            // The agent's resume state stays here: the client sees the question only.
            const asked = outcome.confirmation;
            if (asked) yield { case: "confirmationRequired", value: confirmationToProto(asProposed(asked)) };
            continue;
          }
          yield { case: "runEvent", value: event };
        }
        break;
      } catch (err) {
        const lost = ConnectError.from(err);
        if (ctx.signal.aborted) throw lost;
        const first = resendUntil === undefined && agentLost(lost);
        // Refused before anything ran (the port closed, or open but not serving yet): nothing reached it.
        const stillDown =
          resendUntil !== undefined &&
          Date.now() < resendUntil &&
          events === 0 &&
          lost.code === Code.Unavailable;
        if (!first && !stillDown) throw lost;
        if (first) {
          resendUntil = Date.now() + RESEND_WINDOW_MS;
          deps.logger.warn(
            { thread_id: thread.id, code: Code[lost.code], reason: lost.rawMessage.slice(0, 200) },
            "agent lost mid-turn: sending the turn again (same request id, same idempotency keys)",
          );
          yield { case: "turnResumed", value: resumed(RESENT_AFTER_AGENT_LOST) };
        }
        outcome = new TurnOutcome();
        await new Promise((r) => setTimeout(r, RESEND_DELAY_MS));
      }
    }
  } catch (err) {
    failure = ConnectError.from(err);
  } finally {
    // Also reached when the caller goes away mid-stream (the generator is closed): keep what was said.
    const cancelled = ctx.signal.aborted && !outcome.finished;
    const message = outcome.toMessage(failure, cancelled);
    // Kept only when the turn really stopped at it: a turn that failed afterwards is run again.
    const asked = message.status === "awaiting_confirmation" ? outcome.confirmation : undefined;
    const saved = await deps.turns.finish(messageId, message, asked);
    deps.logger.info(
      {
        thread_id: thread.id,
        agent: thread.agent_id,
        status: saved.status,
        stop_reason: saved.stop_reason,
        tool_calls: saved.tool_calls.length,
        ...(asked ? { confirmation_id: asked.id, tool: asked.toolName } : {}),
      },
      "chat turn finished",
    );
    if (!cancelled) outcome.saved = messageToProto(saved, asked ? asProposed(asked) : undefined);
  }
  if (failure) throw turnError(failure);
  if (outcome.saved) yield { case: "assistantMessage", value: outcome.saved };
}

/** A question just asked, as a stored one reads (not answered yet). */
function asProposed(c: NewConfirmation): ConfirmationRow {
  return {
    id: c.id,
    message_id: "",
    tool_call_id: c.toolCallId,
    tool_name: c.toolName,
    arguments_json: c.argumentsJson,
    arguments_summary: c.argumentsSummary,
    question: c.question,
    action: c.action,
    resume_state: "",
    confirmed: null,
    answered_by: null,
  };
}

/** Messages that are part of the conversation the agent sees (not a turn still open). */
const SETTLED: ReadonlySet<MessageStatus> = new Set([
  "complete",
  "partial",
  "failed",
  "awaiting_confirmation",
]);
const RESUMING_INTERRUPTED =
  "resuming a turn the chat service was running when it stopped (same idempotency keys: nothing is done twice)";
const RESENT_AFTER_AGENT_LOST =
  "the agent was lost mid-turn: running the turn again (same idempotency keys: nothing is done twice)";
const resumed = (reason: string) => create(TurnResumedSchema, { reason });

type OpenedTurn =
  | { readonly kind: "new" | "resumed"; readonly userMessage: MessageRow; readonly messageId: string }
  | { readonly kind: "finished"; readonly userMessage: MessageRow; readonly assistantMessage: MessageRow };

/** A stored answer a repeat may be given as it is: complete, with every tool call's outcome known. */
function wholeAnswer(message: MessageRow): boolean {
  const calls = message.tool_calls as { status?: string }[];
  return (
    message.status === "complete" &&
    calls.every((c) => c.status === "TOOL_CALL_STATUS_SUCCEEDED" || c.status === "TOOL_CALL_STATUS_FAILED")
  );
}

/** How often a repeat looks again at a turn another live process is still running. */
const REPEAT_POLL_MS = 250;

/**
 * A new turn, or the one this request repeats: answered from storage when it finished, waited
 * for while its owner is alive, taken over (resumed) once it is interrupted or its owner is gone.
 */
async function openTurn(
  deps: TurnDeps,
  threadId: string,
  requestId: string,
  input: string,
  signal: AbortSignal,
): Promise<OpenedTurn> {
  let turn = await deps.turns.findRepeat(threadId, requestId, input);
  if (!turn) {
    const begun = await deps.turns.begin(threadId, requestId, input);
    return { kind: "new", userMessage: begun.userMessage, messageId: begun.assistantMessage.id };
  }
  for (;;) {
    if (!turn) throw new ConnectError("the repeated turn disappeared (thread deleted?)", Code.NotFound);
    if (!turn.finished && (await deps.turns.claim(turn.message_id))) {
      const { userMessage } = await deps.turns.messagesOf(turn);
      if (!userMessage) throw new ConnectError("the repeated turn's message is gone", Code.NotFound);
      return { kind: "resumed", userMessage, messageId: turn.message_id };
    }
    if (turn.finished) {
      const { userMessage, assistantMessage } = await deps.turns.messagesOf(turn);
      if (!userMessage || !assistantMessage) {
        throw new ConnectError("the repeated turn's messages are gone", Code.NotFound);
      }
      // A turn waiting for its confirmation is answered with its question, never run again.
      if (wholeAnswer(assistantMessage) || assistantMessage.status === "awaiting_confirmation") {
        return { kind: "finished", userMessage, assistantMessage };
      }
      // It ended without the whole answer (an error, a tool call never confirmed): run it again
      // with the same keys, so what was done is confirmed and what was not is done once.
      if (await deps.turns.reopen(turn.message_id)) {
        return { kind: "resumed", userMessage, messageId: turn.message_id };
      }
    }
    if (signal.aborted) throw new ConnectError("the caller went away", Code.Canceled);
    await new Promise((r) => setTimeout(r, REPEAT_POLL_MS));
    turn = await deps.turns.findRepeat(threadId, requestId, input);
  }
}

/** How long a lost turn keeps being sent again while the agent restarts, and how often. */
const RESEND_WINDOW_MS = 60_000;
const RESEND_DELAY_MS = 500;

/**
 * The connection to the agent failed under the turn: connect-node's own words for a refused,
 * reset or dropped connection (anchored, so an error the agent itself sent — which may quote such
 * words after its own prefix — is never taken for one).
 */
const LOST =
  /^(?:connect ECONNREFUSED|read ECONNRESET|write EPIPE|socket hang up|http\/2 stream closed|.{0,40}RST_STREAM|stream closed|premature close|the operation was aborted)/i;

/**
 * connect-es's words when a Connect stream's body ends without its end message: the connection was
 * closed under it — a balancer ending the response cleanly once the agent behind it died — never
 * something an agent sends.
 */
const CUT_STREAM = /^protocol error: missing EndStreamResponse$/;

export function agentLost(err: ConnectError): boolean {
  if (err.code === Code.InvalidArgument && CUT_STREAM.test(err.rawMessage)) return true;
  const transportCode = [Code.Unavailable, Code.Canceled, Code.Internal, Code.Unknown].includes(err.code);
  return transportCode && LOST.test(err.rawMessage);
}

/** What the agent said so far, and how the turn ended. */
class TurnOutcome {
  private text = "";
  private readonly calls = new Map<string, ToolCall>();
  private finalContent: string | undefined;
  private stopReason = StopReason.UNSPECIFIED;
  private usage: Usage | undefined;
  /** The question the turn stopped at (docs/chat.md, "Confirmation before destruction"). */
  confirmation: NewConfirmation | undefined;
  saved: Message | undefined;

  get finished(): boolean {
    return this.finalContent !== undefined;
  }

  /** What is recorded while the turn runs: the text so far and every tool call as last seen. */
  progress(): { content: string; toolCalls: unknown[] } {
    return {
      content: this.finalContent ?? this.text,
      toolCalls: [...this.calls.values()].map(toolCallToJson),
    };
  }

  observe(event: RunEvent): void {
    const e = event.event;
    switch (e.case) {
      case "textDelta":
        this.text += e.value.text;
        break;
      case "toolCallStarted":
      case "toolCallFinished":
        if (e.value.toolCall) this.calls.set(e.value.toolCall.id, e.value.toolCall);
        break;
      case "usage":
        this.usage = e.value;
        break;
      case "confirmationRequired": {
        const call = e.value.toolCall;
        if (call) this.calls.set(call.id, call);
        this.confirmation = {
          id: e.value.confirmationId,
          toolCallId: call?.id ?? "",
          toolName: call?.name ?? "",
          argumentsJson: call?.argumentsJson ?? "",
          argumentsSummary: e.value.argumentsSummary,
          question: e.value.question,
          action: e.value.action,
          resumeState: e.value.resumeState,
        };
        break;
      }
      case "finalMessage":
        this.finalContent = e.value.content;
        this.stopReason = e.value.stopReason;
        if (e.value.usage) this.usage = e.value.usage;
        for (const call of e.value.toolCalls) this.calls.set(call.id, call);
        break;
      default:
        break;
    }
  }

  toMessage(failure: ConnectError | undefined, cancelled: boolean) {
    const content = this.finalContent ?? this.text;
    // A caller that went away makes the agent call fail too (its signal is the caller's): that
    // failure is the consequence, the cancellation is what happened.
    const stop = cancelled ? StopReason.CANCELLED : failure ? StopReason.ERROR : this.stopReason;
    let status: MessageStatus = "complete";
    if (stop === StopReason.CONFIRMATION_REQUIRED && this.confirmation) {
      status = "awaiting_confirmation";
    } else if (failure || cancelled || stop !== StopReason.COMPLETED) {
      status = content !== "" || this.calls.size > 0 ? "partial" : "failed";
    }
    return {
      role: "assistant" as const,
      content,
      status,
      stopReason: stopReasonName(stop),
      toolCalls: [...this.calls.values()].map(toolCallToJson),
      ...(this.usage ? { usage: usageToJson(this.usage) } : {}),
    };
  }
}

function turnError(err: ConnectError): ConnectError {
  if (err.code === Code.Unauthenticated) {
    return new ConnectError(
      `the access token expired or was revoked during the turn (${err.rawMessage}); refresh it and send again — the partial answer is kept`,
      Code.Unauthenticated,
    );
  }
  return new ConnectError(`the agent could not finish the turn: ${err.rawMessage}`, err.code);
}
