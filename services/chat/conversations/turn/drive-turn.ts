import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import type { RunRequest } from "#gen/supportext/agent/v1/agent_pb.js";
import { forwardFrom } from "#kit/propagation/index.js";
import type { ThreadRow } from "../thread-store.js";
import { confirmationToProto, messageToProto } from "../to-proto.js";
import { agentLost } from "./agent-lost.js";
import { RESENT_AFTER_AGENT_LOST, resumed, type TurnDeps, type TurnEvent } from "./turn-events.js";
import { asProposed, TurnOutcome } from "./turn-outcome.js";

/** An agent turn may run tools for a while; the caller's own deadline still applies when shorter. */
const TURN_TIMEOUT_MS = 300_000;
/** How long a lost turn keeps being sent again while the agent restarts, and how often. */
const RESEND_WINDOW_MS = 60_000;
const RESEND_DELAY_MS = 500;

/** An open turn, as the agent is asked to run it. */
export interface OpenTurn {
  readonly thread: ThreadRow;
  readonly messageId: string;
  readonly request: Omit<RunRequest, "$typeName">;
  /** Yielded first, inside the turn (a caller gone on it still gets the turn closed and released). */
  readonly first?: TurnEvent;
  readonly resumedBecause?: string;
}

/** The outcome of the agent's current attempt at the turn (a resend starts a new one). */
interface Attempt {
  outcome: TurnOutcome;
}

/**
 * Runs the agent for an open turn and streams what happens: its events as they come, the question
 * it stops at (kept with the turn, shown without the agent's resume state), and the assistant
 * message saved however the turn ends. An agent lost mid-turn gets the same request again, in the
 * same call scope: same x-request-id, same turn id, same idempotency keys.
 */
export async function* driveTurn(
  deps: TurnDeps,
  ctx: HandlerContext,
  turn: OpenTurn,
): AsyncGenerator<TurnEvent> {
  const attempt: Attempt = { outcome: new TurnOutcome(turn.request.madeCalls) };
  let failure: ConnectError | undefined;
  try {
    if (turn.first) yield turn.first;
    if (turn.resumedBecause) {
      deps.logger.warn(
        { thread_id: turn.thread.id, message_id: turn.messageId },
        "resuming an interrupted turn",
      );
      yield { case: "turnResumed", value: resumed(turn.resumedBecause) };
    }
    yield* runResendingWhenLost(deps, ctx, turn, attempt);
  } catch (err) {
    failure = ConnectError.from(err);
  } finally {
    // Also reached when the caller goes away mid-stream (the generator is closed): keep what was said.
    try {
      await saveOutcome(deps, ctx, turn, attempt.outcome, failure);
    } finally {
      // The run here is over: the heartbeat stops keeping the turn owned once no other run has it.
      deps.turns.release(turn.messageId);
    }
  }
  if (failure) throw turnError(failure);
  if (attempt.outcome.saved) yield { case: "assistantMessage", value: attempt.outcome.saved };
}

/**
 * A turn whose agent was lost mid-way (its process died, its connection reset) is sent again
 * in the same call scope — same x-request-id, so the same turn id — with the calls it had made:
 * the agent goes on from them rather than asking its model afresh, and a call left without an
 * outcome is made again under its own id, so its own idempotency key — a write already made is
 * answered with its first result, never made twice. While the agent restarts it refuses
 * (`unavailable`, nothing streamed): that resend is tried again until RESEND_WINDOW_MS has passed.
 */
async function* runResendingWhenLost(
  deps: TurnDeps,
  ctx: HandlerContext,
  turn: OpenTurn,
  attempt: Attempt,
): AsyncGenerator<TurnEvent> {
  let resendUntil: number | undefined;
  let request = turn.request;
  for (;;) {
    const streamed = { events: 0 };
    try {
      yield* streamAgentRun(deps, ctx, turn.messageId, request, attempt.outcome, streamed);
      return;
    } catch (err) {
      const lost = ConnectError.from(err);
      if (ctx.signal.aborted) throw lost;
      const first = resendUntil === undefined && agentLost(lost);
      // Refused before anything ran (the port closed, or open but not serving yet): nothing reached it.
      const stillDown =
        resendUntil !== undefined &&
        Date.now() < resendUntil &&
        streamed.events === 0 &&
        lost.code === Code.Unavailable;
      if (!first && !stillDown) throw lost;
      if (first) {
        resendUntil = Date.now() + RESEND_WINDOW_MS;
        deps.logger.warn(
          { thread_id: turn.thread.id, code: Code[lost.code], reason: lost.rawMessage.slice(0, 200) },
          "agent lost mid-turn: sending the turn again (same request id, same idempotency keys)",
        );
        yield { case: "turnResumed", value: resumed(RESENT_AFTER_AGENT_LOST) };
      }
      // Sent again with every call made so far, which the agent goes on from (RunRequest.made_calls).
      request = { ...request, madeCalls: attempt.outcome.madeCalls() };
      attempt.outcome = new TurnOutcome(request.madeCalls);
      await new Promise((r) => setTimeout(r, RESEND_DELAY_MS));
    }
  }
}

/**
 * One AgentService.Run of the turn, as the caller: each event observed, the tool calls' progress
 * recorded, the question the agent stops at passed on without its resume state.
 */
async function* streamAgentRun(
  deps: TurnDeps,
  ctx: HandlerContext,
  messageId: string,
  request: OpenTurn["request"],
  outcome: TurnOutcome,
  streamed: { events: number },
): AsyncGenerator<TurnEvent> {
  for await (const { event } of deps.agents.run(request, {
    ...forwardFrom(ctx),
    timeoutMs: TURN_TIMEOUT_MS,
  })) {
    if (!event) continue;
    streamed.events++;
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
}

/** Saves the assistant message however the turn ended; `outcome.saved` is what the caller is answered. */
async function saveOutcome(
  deps: TurnDeps,
  ctx: HandlerContext,
  turn: OpenTurn,
  outcome: TurnOutcome,
  failure: ConnectError | undefined,
): Promise<void> {
  const cancelled = ctx.signal.aborted && !outcome.finished;
  const message = outcome.toMessage(failure, cancelled);
  // Kept only when the turn really stopped at it: a turn that failed afterwards is run again.
  const asked = message.status === "awaiting_confirmation" ? outcome.confirmation : undefined;
  const saved = await deps.turns.finish(turn.messageId, message, asked);
  deps.logger.info(
    {
      thread_id: turn.thread.id,
      agent: turn.thread.agent_id,
      status: saved.status,
      stop_reason: saved.stop_reason,
      tool_calls: saved.tool_calls.length,
      ...(asked ? { confirmation_id: asked.id, tool: asked.toolName } : {}),
    },
    "chat turn finished",
  );
  if (!cancelled) outcome.saved = messageToProto(saved, asked ? asProposed(asked) : undefined);
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
