import type { CallToolResult, InputRequiredResult } from "@modelcontextprotocol/server";
import type { Database } from "#kit/db/index.js";
import type { Logger } from "#kit/log/index.js";
import { IDEMPOTENCY_META_KEY } from "#kit/propagation/index.js";
import { ToolError, type ToolQuestion, type ToolSpec } from "../tools/tool.js";
import { askToConfirm, confirmationState, defaultQuestion, readAnswer } from "./confirmation.js";
import type { ToolCall } from "./tool-call.js";

/**
 * Confirmation before destruction (docs/mcp-server.md, "Confirmation before destruction"): after
 * every refusal and after a keyed repeat (already confirmed, already made: its first answer),
 * before anything runs. The question asks; the answer decides, and only a yes runs the tool.
 * Returns the answer to send now, or undefined once the user said yes (recorded on `call`).
 */
export async function confirmCall(
  deps: { db: Database; logger: Logger },
  call: ToolCall,
  tool: ToolSpec,
  args: unknown,
): Promise<CallToolResult | InputRequiredResult | undefined> {
  const { name, principal, rawArguments } = call;
  const input = call.extra.confirmation;
  let question: ToolQuestion;
  try {
    question = tool.confirm
      ? await tool.confirm(args, { db: deps.db, principal })
      : defaultQuestion(tool, rawArguments);
  } catch (err) {
    if (err instanceof ToolError) return call.fail("error", err.code, err.message);
    return call.failedUnexpectedly(err);
  }
  if (!input?.canElicit) {
    const message = `${name} changes nothing without the user's explicit yes, and this client cannot ask (it declared no form elicitation capability)`;
    return call.fail("refused", "confirmation_unavailable", message);
  }
  const key = call.extra.meta?.[IDEMPOTENCY_META_KEY];
  const state = confirmationState(name, rawArguments, typeof key === "string" ? key : null);
  const answer = readAnswer(input, state, principal);
  if (answer.kind === "cancelled") {
    const message = `cancelled by the user: ${question.action} was not done, nothing was changed`;
    return call.fail("refused", "cancelled_by_user", message);
  }
  if (answer.kind === "unanswered") {
    // A question decides nothing and changes nothing: no audit row until it is answered.
    deps.logger.info({ tool: call.shown }, `tool ${call.shown} asks the user to confirm`);
    return askToConfirm(question, state, input);
  }
  call.confirmed = { confirmedBy: answer.by, confirmedAt: answer.at };
  return undefined;
}
