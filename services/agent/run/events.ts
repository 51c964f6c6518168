import { create } from "@bufbuild/protobuf";
import {
  type ConfirmationRequired,
  type RunEvent,
  RunEventSchema,
  type StopReason,
  type ToolCall,
  type Usage,
} from "#gen/supportext/agent/v1/agent_pb.js";

/** Builders for the events of a run, so the loop reads as the story it tells. */
export const events = {
  textDelta: (text: string): RunEvent =>
    create(RunEventSchema, { event: { case: "textDelta", value: { text } } }),
  toolCallStarted: (toolCall: ToolCall): RunEvent =>
    create(RunEventSchema, { event: { case: "toolCallStarted", value: { toolCall } } }),
  toolCallFinished: (toolCall: ToolCall): RunEvent =>
    create(RunEventSchema, { event: { case: "toolCallFinished", value: { toolCall } } }),
  usage: (usage: Usage): RunEvent => create(RunEventSchema, { event: { case: "usage", value: usage } }),
  limitReached: (reason: StopReason, message: string): RunEvent =>
    create(RunEventSchema, { event: { case: "limitReached", value: { reason, message } } }),
  confirmationRequired: (value: Omit<ConfirmationRequired, "$typeName">): RunEvent =>
    create(RunEventSchema, { event: { case: "confirmationRequired", value } }),
  finalMessage: (content: string, stopReason: StopReason, toolCalls: ToolCall[], usage: Usage): RunEvent =>
    create(RunEventSchema, {
      event: { case: "finalMessage", value: { content, stopReason, toolCalls, usage } },
    }),
};

const DELTA_CHARS = 48;

/** Splits an answer into word-aligned pieces, as a streaming model would send them. */
export function textPieces(text: string): string[] {
  const pieces: string[] = [];
  let current = "";
  for (const word of text.split(/(?<=\s)/)) {
    current += word;
    if (current.length >= DELTA_CHARS) {
      pieces.push(current);
      current = "";
    }
  }
  if (current) pieces.push(current);
  return pieces;
}
