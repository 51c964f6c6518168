import type { MessageRow } from "../thread-store.js";
import { confirmationToProto, messageToProto } from "../to-proto.js";
import type { ConfirmEvent, TurnDeps } from "./turn-events.js";

/** A stored assistant message, preceded by its question when it waits for one. */
export async function* storedAnswer(deps: TurnDeps, message: MessageRow): AsyncGenerator<ConfirmEvent> {
  const open =
    message.status === "awaiting_confirmation"
      ? (await deps.turns.openConfirmations([message.id])).get(message.id)
      : undefined;
  if (open) yield { case: "confirmationRequired", value: confirmationToProto(open) };
  yield { case: "assistantMessage", value: messageToProto(message, open) };
}

/** A stored answer a repeat may be given as it is: complete, with every tool call's outcome known. */
export function wholeAnswer(message: MessageRow): boolean {
  const calls = message.tool_calls as { status?: string }[];
  return (
    message.status === "complete" &&
    calls.every((c) => c.status === "TOOL_CALL_STATUS_SUCCEEDED" || c.status === "TOOL_CALL_STATUS_FAILED")
  );
}
