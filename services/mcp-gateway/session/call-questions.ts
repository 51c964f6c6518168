import { AsyncLocalStorage } from "node:async_hooks";
import { createHash } from "node:crypto";
import {
  type ElicitRequest,
  type ElicitResult,
  type InputRequiredResult,
  ProtocolError,
  ProtocolErrorCode,
} from "@modelcontextprotocol/client";

/**
 * A tool's questions to the user on the 2025 family (docs/mcp-gateway.md, "Questions to the
 * user"). The MCP server asks with an `elicitation/create` request sent on the stream of the
 * tools/call it belongs to, while that call waits; the user is not at that call (they answer in
 * the extension, maybe minutes later), so the gateway answers from the answers the call carries,
 * or, having none for this question, refuses it and hands the question back to the caller as an
 * `input_required`, as 2026-07-28 would have. The call sent again with the user's answer is asked
 * the same question and answered with it.
 *
 * The question's key is a digest of the question itself (message and form), so a yes answers
 * exactly the question the user saw: a question worded otherwise (another ticket, a changed
 * title) is asked again. Which call a question belongs to is this module's AsyncLocalStorage,
 * entered around each tools/call: the SDK delivers the request within the call's own stream
 * reading, so only that call — of that principal's client — can answer it.
 */
export interface CallQuestions {
  /** The caller's answers (MCP InputResponses), by question key. */
  readonly responses: Record<string, unknown> | undefined;
  /** The questions asked during this call that had no answer. */
  unanswered?: Record<string, ElicitRequest>;
}

const current = new AsyncLocalStorage<CallQuestions>();

/** Runs one tools/call with its answers at hand. */
export function questionsOf<T>(questions: CallQuestions, call: () => Promise<T>): Promise<T> {
  return current.run(questions, call);
}

/** The `elicitation/create` handler of every principal's client. */
export async function answerQuestion(params: ElicitRequest["params"]): Promise<ElicitResult> {
  const call = current.getStore();
  if (!call) {
    throw new ProtocolError(
      ProtocolErrorCode.InvalidRequest,
      "no call of this client is waiting for this question",
    );
  }
  // `_meta` is the request's own (a progress token per request), not the question's.
  const { _meta: _, ...question } = params as ElicitRequest["params"] & { _meta?: unknown };
  const key = questionKey(question as ElicitRequest["params"]);
  const answer = call.responses?.[key];
  if (isElicitResult(answer)) return answer;
  call.unanswered = {
    ...call.unanswered,
    [key]: { method: "elicitation/create", params: question as ElicitRequest["params"] },
  };
  // The MCP server gives up this call's question (its tool does not run); the caller gets it.
  throw new ProtocolError(
    ProtocolErrorCode.InvalidRequest,
    "the user is not at this call: the question goes to them, and the call is sent again with their answer",
  );
}

/** The questions this call could not answer, as the `input_required` the caller gets instead of its result. */
export function askedWithoutAnswer(call: CallQuestions): InputRequiredResult | undefined {
  if (!call.unanswered) return undefined;
  return { resultType: "input_required", inputRequests: call.unanswered } as InputRequiredResult;
}

/** "elicitation-" and 16 bytes of the SHA-256 of the question's canonical JSON. */
export function questionKey(params: ElicitRequest["params"]): string {
  return `elicitation-${createHash("sha256").update(stableJson(params)).digest("hex").slice(0, 32)}`;
}

function isElicitResult(value: unknown): value is ElicitResult {
  if (typeof value !== "object" || value === null) return false;
  const action = (value as { action?: unknown }).action;
  return action === "accept" || action === "decline" || action === "cancel";
}

/** JSON with object keys sorted, so one question always hashes the same. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
