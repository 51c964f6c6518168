import { type ToolCall, ToolCallStatus } from "#gen/supportext/agent/v1/agent_pb.js";
import { encodeToolResult } from "../tool-result-content.js";
import type { ToolOutcome } from "./tool-gateway.js";

/** What the model is given as a call's result. A failure goes back too: it can explain it or try another way. */
export function toolResultForModel(outcome: ToolOutcome): string {
  if (outcome.status === "input_required") {
    return encodeToolResult({ ok: false, error_code: "unimplemented", error: "the tool asked for input" });
  }
  if (outcome.status === "failed") {
    return encodeToolResult({ ok: false, error_code: outcome.errorCode, error: outcome.errorMessage });
  }
  let data: unknown;
  try {
    data = outcome.structuredJson ? JSON.parse(outcome.structuredJson) : undefined;
  } catch {
    data = undefined;
  }
  // Our MCP server's text is "<summary>\n<the same data as JSON>": with the data attached, the summary suffices.
  const text = data === undefined ? outcome.text : (outcome.text.split("\n")[0] ?? "");
  return encodeToolResult({ ok: true, text, data });
}

/** The outcome a call's record holds, or undefined while it has none (running, waiting for a yes). */
export function recordedOutcome(call: ToolCall): ToolOutcome | undefined {
  if (call.status === ToolCallStatus.SUCCEEDED) {
    return { status: "succeeded", text: call.resultText, structuredJson: call.structuredResultJson };
  }
  if (call.status === ToolCallStatus.FAILED) {
    return {
      status: "failed",
      text: call.resultText,
      errorCode: call.errorCode,
      errorMessage: call.errorMessage,
    };
  }
  return undefined;
}
