import type { ToolCall } from "#gen/supportext/agent/v1/agent_pb.js";
import type { ChatMessage, ToolCall as ModelToolCall } from "#kit/model/index.js";
import { recordedOutcome, toolResultForModel } from "./tool-result-for-model.js";

/** Where a turn run again after an interruption starts (RunRequest.made_calls, docs/agent.md, "Run"). */
export interface MadeCallsStart {
  /** The turn's messages, then the calls made and the results they had. */
  readonly transcript: ChatMessage[];
  /** The records of the calls that had an outcome, as the final message lists them. */
  readonly calls: ToolCall[];
  readonly callIds: Set<string>;
  /** The calls with no outcome kept: made again first, under their ids, so with their keys. */
  readonly pending: ModelToolCall[];
}

/**
 * The model is shown what the turn already did instead of being asked again from the start: asked
 * afresh, a hosted model chooses new call ids — so new idempotency keys — and makes its writes a
 * second time. The calls go back as one assistant message followed by their results; a call with
 * no outcome, or one that failed but for the user's no (`recordedOutcome`), is made again under its
 * own id, and the MCP server answers it with its first result if it had run.
 */
export function madeCallsTurn(messages: readonly ChatMessage[], made: readonly ToolCall[]): MadeCallsStart {
  const issued = made.map((c) => ({ id: c.id, name: c.name, arguments: c.argumentsJson }));
  const transcript: ChatMessage[] = [...messages, { role: "assistant", content: null, toolCalls: issued }];
  const calls: ToolCall[] = [];
  const pending: ModelToolCall[] = [];
  for (const [i, call] of made.entries()) {
    const outcome = recordedOutcome(call);
    if (outcome) {
      calls.push(call);
      transcript.push({ role: "tool", toolCallId: call.id, content: toolResultForModel(outcome) });
    } else {
      pending.push(issued[i] as ModelToolCall);
    }
  }
  return { transcript, calls, callIds: new Set(made.map((c) => c.id)), pending };
}
