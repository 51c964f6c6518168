import type { ToolCall } from "#gen/supportext/agent/v1/agent_pb.js";
import type { ChatMessage, ToolCall as ModelToolCall } from "#kit/model/index.js";
import { recordedOutcome, toolResultForModel } from "./tool-result-for-model.js";

/** Calls a turn made before it was run again (RunRequest.made_calls, docs/agent.md, "Run"), as the loop takes them. */
export interface MadeCallsShown {
  /** One assistant message naming the calls, then the result of each whose outcome is kept. */
  readonly messages: ChatMessage[];
  /** The records of the calls whose outcome is kept, as the final message lists them. */
  readonly calls: ToolCall[];
  readonly ids: readonly string[];
  /** The others: made again first, under their ids, so with their keys. */
  readonly pending: ModelToolCall[];
}

/**
 * The model is shown what the turn already did instead of being asked again: asked afresh, a
 * hosted model chooses new call ids — so new idempotency keys — and makes its writes a second
 * time. A call with no outcome, or one that failed but for the user's no (`recordedOutcome`), is
 * made again under its own id, and the MCP server answers it with its first result if it had run.
 */
export function showMadeCalls(made: readonly ToolCall[]): MadeCallsShown {
  const issued = made.map((c) => ({ id: c.id, name: c.name, arguments: c.argumentsJson }));
  const messages: ChatMessage[] = [{ role: "assistant", content: null, toolCalls: issued }];
  const calls: ToolCall[] = [];
  const pending: ModelToolCall[] = [];
  for (const [i, call] of made.entries()) {
    const outcome = recordedOutcome(call);
    if (outcome) {
      calls.push(call);
      messages.push({ role: "tool", toolCallId: call.id, content: toolResultForModel(outcome) });
    } else {
      pending.push(issued[i] as ModelToolCall);
    }
  }
  return { messages, calls, ids: made.map((c) => c.id), pending };
}
