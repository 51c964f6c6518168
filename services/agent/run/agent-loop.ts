import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type RunEvent,
  StopReason,
  type ToolCall,
  ToolCallSchema,
  ToolCallStatus,
  type Usage,
  UsageSchema,
} from "#gen/supportext/agent/v1/agent_pb.js";
import type {
  ChatCompletion,
  ChatMessage,
  ModelProvider,
  ToolCall as ModelToolCall,
} from "#kit/model/index.js";
import type { UsageLimits } from "../registry/agent-record.js";
import { answerOf, argumentsSummary, confirmationOf } from "./confirmation.js";
import { events } from "./events.js";
import { showMadeCalls } from "./made-calls.js";
import { modelFailure } from "./model-failure.js";
import { modelTurn } from "./model-turn.js";
import { callFromJson, callToJson, encodePausedTurn, type PausedTurn } from "./paused-turn.js";
import {
  CANCELLED_CODE,
  CANCELLED_MESSAGE,
  type RunTools,
  type ToolAnswers,
  type ToolOutcome,
} from "./tool-gateway.js";
import { toolResultForModel } from "./tool-result-for-model.js";

export interface TurnInput {
  /** System prompt, history and the new user input, in order. */
  readonly messages: readonly ChatMessage[];
  readonly limits: UsageLimits;
  /** The turn's name (turn-id.ts), kept with a stopped turn so its calls keep their keys. */
  readonly turnId?: string | undefined;
  /** The calls the turn made before it was interrupted (RunRequest.made_calls): it goes on from them. */
  readonly madeCalls?: readonly ToolCall[];
}

/** Going on with a turn that stopped for a confirmation, with the user's answer (docs/agent.md, "Confirmation"). */
export interface ResumeInput {
  readonly state: PausedTurn;
  readonly confirmed: boolean;
}

/** The longest tool name a call is recorded with (`recordableToolName`), and `made_calls` accepts. */
export const MAX_TOOL_NAME_CHARS = 128;

/** The gateway's own bound on a call's arguments (bytes); the loop refuses bigger ones itself. */
export const MAX_ARGUMENTS_BYTES = 256 * 1024;
/** How much of refused, oversized arguments the call's record keeps (events, the chat's history). */
const CLIPPED_ARGUMENTS_CHARS = 1_000;

export const REFRESH_MESSAGE =
  "the access token expired or was refused during the turn: refresh the token and run the turn again";

/** The user's answer to the call that waited for it (a resumed turn), and to no other. */
interface Answered {
  readonly callId: string | undefined;
  readonly confirmed: boolean;
  readonly answers: ToolAnswers;
}

/** Everything a turn carries from one step to the next (and, when it stops for a question, to its resumption). */
interface Turn {
  readonly input: TurnInput;
  readonly transcript: ChatMessage[];
  readonly usage: Usage;
  readonly calls: ToolCall[];
  readonly callIds: Set<string>;
  /** The answer's text so far. */
  answer: string;
  /** The calls of the latest model turn not made yet; a resumed turn starts with the one that waited. */
  readonly pending: ModelToolCall[];
  /** Calls the turn made before it was run again, past where it starts (RunRequest.made_calls). */
  readonly later: ToolCall[];
  readonly answered: Answered | undefined;
}

/**
 * One agent turn: model → tool calls → results back to the model → … until the model answers
 * without tool calls, a usage limit is hit, or the caller goes away. Yields events as they
 * happen; the last one is a FinalMessage, except when the turn must fail as a whole (the caller's
 * token stopped working, the model is unreachable), which throws a ConnectError.
 */
export async function* runAgentTurn(
  input: TurnInput,
  model: ModelProvider,
  tools: RunTools,
  signal: AbortSignal,
  resume?: ResumeInput,
): AsyncGenerator<RunEvent> {
  const turn = startTurn(input, resume);
  for (;;) {
    for (let call = turn.pending.shift(); call; call = turn.pending.shift()) {
      if (signal.aborted) return yield* finish(turn, StopReason.CANCELLED);
      if (yield* toolStep(turn, call, tools, signal)) return;
    }
    if (signal.aborted) return yield* finish(turn, StopReason.CANCELLED);
    // Run again after an interruption: the calls made past this point go in before the model is
    // asked, and those without a kept outcome are made again first (made-calls.ts).
    if (turn.later.length > 0) {
      goOnFromMadeCalls(turn);
      continue;
    }
    if (turn.usage.modelTurns >= input.limits.maxModelTurns) {
      return yield* stopAtLimit(
        turn,
        StopReason.MAX_MODEL_TURNS,
        `Stopped: this agent may use at most ${input.limits.maxModelTurns} model turn(s) per run.`,
      );
    }
    const completion = yield* modelStep(turn, model, tools, signal);
    if (!completion) return yield* finish(turn, StopReason.CANCELLED);
    if (completion.toolCalls.length === 0) return yield* finish(turn, StopReason.COMPLETED);

    const toolCalls = completion.toolCalls.map((c) => ({
      ...c,
      name: recordableToolName(c.name),
      id: uniqueCallId(c.id, turn.callIds),
    }));
    turn.transcript.push({ role: "assistant", content: completion.content, toolCalls });
    turn.pending.push(...toolCalls);
  }
}

/**
 * A new turn from its input, or a stopped one from where it stopped, with the user's answer; either
 * run again after an interruption goes on from the calls it made past that point (`later`).
 */
function startTurn(input: TurnInput, resume: ResumeInput | undefined): Turn {
  const paused = resume?.state;
  // What a paused turn holds it knows already: the calls before the question and those after it
  // in the same model turn (the confirmed one first), made again under their ids.
  const known = new Set(paused?.callIds ?? []);
  return {
    later: (input.madeCalls ?? []).filter((c) => !known.has(c.id)),
    input,
    transcript: paused ? [...paused.transcript] : [...input.messages],
    usage: create(UsageSchema, paused?.usage ?? {}),
    calls: paused ? paused.calls.map(callFromJson) : [],
    callIds: new Set<string>(paused?.callIds ?? []),
    answer: paused?.answer ?? "",
    pending: paused ? [...paused.pending] : [],
    answered: paused
      ? {
          callId: paused.pending[0]?.id,
          confirmed: resume.confirmed,
          answers: {
            inputResponsesJson: answerOf(paused.waiting, resume.confirmed),
            requestState: paused.waiting.requestState,
          },
        }
      : undefined,
  };
}

/**
 * The calls the turn made before it was run again go into its transcript, with the outcomes it
 * keeps; the others wait to be made again under their ids. They count as one model turn (at least
 * one made them), so interrupting a turn over and over does not lift its model-turn limit.
 */
function goOnFromMadeCalls(turn: Turn): void {
  const shown = showMadeCalls(turn.later.splice(0));
  turn.transcript.push(...shown.messages);
  turn.calls.push(...shown.calls);
  for (const id of shown.ids) turn.callIds.add(id);
  turn.pending.push(...shown.pending);
  turn.usage.toolCalls += shown.calls.length;
  turn.usage.modelTurns++;
}

function* finish(turn: Turn, reason: StopReason, fallbackContent = ""): Generator<RunEvent> {
  yield events.usage(turn.usage);
  yield events.finalMessage(turn.answer || fallbackContent, reason, turn.calls, turn.usage);
}

function* stopAtLimit(turn: Turn, reason: StopReason, message: string): Generator<RunEvent> {
  yield events.limitReached(reason, message);
  yield* finish(turn, reason, message);
}

/**
 * One tool call of the model's, with its events; its result goes into the transcript. Returns
 * whether the turn ended here (a limit, a question for the user, the caller gone).
 */
async function* toolStep(
  turn: Turn,
  call: ModelToolCall,
  tools: RunTools,
  signal: AbortSignal,
): AsyncGenerator<RunEvent, boolean> {
  const answers = call.id === turn.answered?.callId ? turn.answered : undefined;
  const limit = turn.input.limits.maxToolCalls;
  // A call that waited for its confirmation was counted when it was first made.
  if (!answers && turn.usage.toolCalls >= limit) {
    yield* stopAtLimit(
      turn,
      StopReason.MAX_TOOL_CALLS,
      `Stopped: this agent may make at most ${limit} tool call(s) per run.`,
    );
    return true;
  }
  // Oversized arguments (an untrusted model can write megabytes) would be refused by the
  // gateway anyway; echoing them in every event and in the final message could exceed the
  // stream's message limit and fail the whole run, so they are refused here and clipped.
  const oversized = Buffer.byteLength(call.arguments) > MAX_ARGUMENTS_BYTES;
  const record = create(ToolCallSchema, {
    id: call.id,
    name: call.name,
    argumentsJson: oversized ? call.arguments.slice(0, CLIPPED_ARGUMENTS_CHARS) : call.arguments,
    status: ToolCallStatus.RUNNING,
  });
  yield events.toolCallStarted(record);
  if (!answers) turn.usage.toolCalls++;
  const started = performance.now();
  // Even a tool the model was not offered goes to the gateway: it is the one place that
  // enforces the agent's allow-list and the caller's scopes, and the MCP server audits refusals.
  let outcome: ToolOutcome = oversized
    ? failed("invalid_argument", `arguments_json: larger than ${MAX_ARGUMENTS_BYTES} bytes`)
    : await tools.call(call.name, call.arguments, signal, call.id, answers?.answers);
  if (outcome.status === "input_required") {
    const question = confirmationOf(outcome.inputRequestsJson);
    const refusal = unaskable(answers, question);
    if (!refusal && question) {
      yield* pauseForConfirmation(turn, call, record, question, outcome.requestState);
      return true;
    }
    if (refusal) outcome = refusal;
  }
  const finished = finishRecord(record, outcome, Math.round(performance.now() - started));
  turn.calls.push(finished);
  yield events.toolCallFinished(finished);
  if (outcome.status === "failed" && outcome.errorCode === "unauthenticated") {
    throw new ConnectError(REFRESH_MESSAGE, Code.Unauthenticated);
  }
  if (signal.aborted) {
    yield* finish(turn, StopReason.CANCELLED);
    return true;
  }
  turn.transcript.push({ role: "tool", toolCallId: call.id, content: toolResultForModel(outcome) });
  return false;
}

function failed(errorCode: string, errorMessage: string): ToolOutcome {
  return { status: "failed", text: "", errorCode, errorMessage };
}

/** Why a tool's question is not put to the user (a no already given, or a question it cannot ask). */
function unaskable(
  answers: Answered | undefined,
  question: ReturnType<typeof confirmationOf>,
): ToolOutcome | undefined {
  // A no is final: asked again (its question expired meanwhile), the call is still not made.
  if (answers && !answers.confirmed) return failed(CANCELLED_CODE, CANCELLED_MESSAGE);
  if (!question) {
    return failed(
      "unimplemented",
      "the tool asks the user a question this agent cannot put to them (it asks only yes/no confirmations)",
    );
  }
  return undefined;
}

/**
 * The call waits for the user's yes (docs/agent.md, "Confirmation"): the turn stops here, with
 * everything needed to go on from this very call once the answer comes.
 */
function* pauseForConfirmation(
  turn: Turn,
  call: ModelToolCall,
  record: ToolCall,
  question: NonNullable<ReturnType<typeof confirmationOf>>,
  requestState: string,
): Generator<RunEvent> {
  const waiting = create(ToolCallSchema, {
    id: record.id,
    name: record.name,
    argumentsJson: record.argumentsJson,
    status: ToolCallStatus.AWAITING_CONFIRMATION,
  });
  const confirmationId = randomUUID();
  const { usage } = turn;
  const state: PausedTurn = {
    v: 1,
    turnId: turn.input.turnId,
    transcript: turn.transcript,
    usage: {
      modelTurns: usage.modelTurns,
      toolCalls: usage.toolCalls,
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
    },
    calls: turn.calls.map(callToJson),
    callIds: [...turn.callIds],
    answer: turn.answer,
    pending: [call, ...turn.pending],
    waiting: { confirmationId, key: question.key, field: question.field, requestState },
  };
  yield events.confirmationRequired({
    confirmationId,
    toolCall: waiting,
    question: question.message,
    action: question.action,
    argumentsSummary: argumentsSummary(call.arguments),
    resumeState: encodePausedTurn(state),
  });
  yield events.usage(usage);
  yield events.finalMessage(
    [turn.answer.trim(), question.message].filter(Boolean).join("\n\n"),
    StopReason.CONFIRMATION_REQUIRED,
    [...turn.calls, waiting],
    usage,
  );
}

/** One model turn, its text streamed as it comes; undefined when the caller went away meanwhile. */
async function* modelStep(
  turn: Turn,
  model: ModelProvider,
  tools: RunTools,
  signal: AbortSignal,
): AsyncGenerator<RunEvent, ChatCompletion | undefined> {
  let completion: ChatCompletion;
  try {
    // Text reaches the caller as the model writes it; successive turns read as paragraphs, and
    // the deltas add up to the final content (even when the run is cancelled mid-answer).
    completion = yield* modelTurn(
      model,
      {
        messages: turn.transcript,
        ...(tools.definitions.length > 0 ? { tools: tools.definitions, toolChoice: "auto" as const } : {}),
      },
      signal,
      turn.answer ? "\n\n" : "",
      (text) => {
        turn.answer += text;
      },
    );
  } catch (err) {
    if (signal.aborted) return undefined;
    throw modelFailure(err);
  }
  turn.usage.modelTurns++;
  turn.usage.inputTokens += completion.usage.promptTokens;
  turn.usage.outputTokens += completion.usage.completionTokens;
  return completion;
}

/**
 * A call's id, unique within the run. Models' ids are untrusted: some repeat them, and providers
 * that send none get positional ones (`call_0` again on every turn). Consumers key calls by id
 * (the chat stores one record per id), so a repeat would silently drop a call that really ran.
 * The transcript carries the same id, so the model still matches each result to its call.
 */
function uniqueCallId(id: string, taken: Set<string>): string {
  const base = id.slice(0, 64) || "call";
  let unique = base;
  for (let n = 2; taken.has(unique); n++) unique = `${base}~${n}`;
  taken.add(unique);
  return unique;
}

/**
 * A tool name as the call is recorded and sent: the model's, unless it is empty or longer than any
 * tool's may be — then a name no tool has, which the gateway refuses like any unknown one. Every
 * recorded call then passes as `made_calls` when the turn is run again (run-input.ts), whatever the
 * model (or text injected into it) wrote.
 */
function recordableToolName(name: string): string {
  if (name === "") return "(no name)";
  return name.length > MAX_TOOL_NAME_CHARS ? `${name.slice(0, MAX_TOOL_NAME_CHARS - 1)}…` : name;
}

function finishRecord(record: ToolCall, outcome: ToolOutcome, durationMs: number): ToolCall {
  return create(ToolCallSchema, {
    id: record.id,
    name: record.name,
    argumentsJson: record.argumentsJson,
    durationMs: BigInt(durationMs),
    ...(outcome.status === "succeeded"
      ? {
          status: ToolCallStatus.SUCCEEDED,
          resultText: outcome.text,
          structuredResultJson: outcome.structuredJson,
        }
      : outcome.status === "failed"
        ? {
            status: ToolCallStatus.FAILED,
            resultText: outcome.text,
            errorCode: outcome.errorCode,
            errorMessage: outcome.errorMessage,
          }
        : { status: ToolCallStatus.AWAITING_CONFIRMATION }),
  });
}
