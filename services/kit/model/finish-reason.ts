import type { FinishReason } from "./types.js";

/** A wire `finish_reason` (chat completions, also the streamed chunks') as ours. */
export function finishReason(raw: unknown, hasToolCalls: boolean): FinishReason {
  switch (raw) {
    case "stop":
    case "tool_calls":
    case "length":
    case "content_filter":
      return raw;
    case "function_call":
      return "tool_calls";
    default:
      return hasToolCalls ? "tool_calls" : raw === undefined || raw === null ? "stop" : "other";
  }
}
