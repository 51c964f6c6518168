import { type ToolCall, ToolCallStatus } from "#gen/supportext/agent/v1/agent_pb.js";
import { encodeToolResult } from "../tool-result-content.js";
import { CANCELLED_CODE, type ToolOutcome } from "./tool-gateway.js";

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

/**
 * The outcome a call's record holds for good, or undefined when the call is to be made again under
 * its id: while it had none (running, waiting for a yes), and after any failure but the user's no.
 * A failure may not say whether the call ran (`unavailable` once the retries gave up, a deadline),
 * and a refusal may not hold any more (a token refreshed since): made again with its own key, the
 * MCP server answers with the first result if it ran and runs it once if not. The user's no is
 * final: asked again, the question would be put a second time.
 */
export function recordedOutcome(call: ToolCall): ToolOutcome | undefined {
  if (call.status === ToolCallStatus.SUCCEEDED) {
    return { status: "succeeded", text: call.resultText, structuredJson: call.structuredResultJson };
  }
  if (call.status === ToolCallStatus.FAILED && call.errorCode === CANCELLED_CODE) {
    return {
      status: "failed",
      text: call.resultText,
      errorCode: call.errorCode,
      errorMessage: call.errorMessage,
    };
  }
  return undefined;
}
