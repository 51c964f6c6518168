import { finishReason } from "./finish-reason.js";
import { ModelError } from "./model-error.js";
import { tokenUsage } from "./token-usage.js";
import type { ChatCompletion, ToolCall } from "./types.js";

interface WireChoice {
  message?: {
    content?: unknown;
    tool_calls?: { id?: unknown; type?: unknown; function?: { name?: unknown; arguments?: unknown } }[];
  };
  finish_reason?: unknown;
}

/** A whole (not streamed) chat-completions answer as a `ChatCompletion`; `bad_response` when it is not one. */
export function chatCompletionFromWire(
  text: string,
  configuredModel: string,
  endpoint: string,
): ChatCompletion {
  const bad = (why: string) =>
    new ModelError("bad_response", `model provider sent ${why} (POST ${endpoint})`);
  let body: { model?: unknown; choices?: WireChoice[]; usage?: Record<string, unknown> };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw bad("a body that is not JSON");
  }
  const choice = Array.isArray(body.choices) ? body.choices[0] : undefined;
  if (!choice?.message) throw bad("no choices[0].message");
  const content = typeof choice.message.content === "string" ? choice.message.content : null;
  const toolCalls: ToolCall[] = [];
  for (const [i, c] of (choice.message.tool_calls ?? []).entries()) {
    if (typeof c.function?.name !== "string") throw bad(`tool call ${i} without a function name`);
    const args = c.function.arguments;
    toolCalls.push({
      id: typeof c.id === "string" && c.id ? c.id : `call_${i}`,
      name: c.function.name,
      // Some servers send parsed objects instead of JSON text; normalise to text.
      arguments: typeof args === "string" ? args : JSON.stringify(args ?? {}),
    });
  }
  return {
    model: typeof body.model === "string" && body.model ? body.model : configuredModel,
    content,
    toolCalls,
    finishReason: finishReason(choice.finish_reason, toolCalls.length > 0),
    usage: tokenUsage(body.usage ?? {}),
  };
}
