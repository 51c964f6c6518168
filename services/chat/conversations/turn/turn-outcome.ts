import type { ConnectError } from "@connectrpc/connect";
import { type RunEvent, StopReason, type ToolCall, type Usage } from "#gen/supportext/agent/v1/agent_pb.js";
import type { Message } from "#gen/supportext/chat/v1/chat_pb.js";
import type { MessageStatus } from "../thread-store.js";
import { stopReasonName, toolCallToJson, usageToJson } from "../to-proto.js";
import type { ConfirmationRow, NewConfirmation } from "../turn-store.js";

/** What the agent said so far, and how the turn ended. */
export class TurnOutcome {
  private text = "";
  private readonly calls = new Map<string, ToolCall>();
  private finalContent: string | undefined;
  private stopReason = StopReason.UNSPECIFIED;
  private usage: Usage | undefined;
  /** The question the turn stopped at (docs/chat.md, "Confirmation before destruction"). */
  confirmation: NewConfirmation | undefined;
  saved: Message | undefined;

  /** `made`: the calls the turn made before it was run again (RunRequest.made_calls), kept in its record. */
  constructor(made: readonly ToolCall[] = []) {
    for (const call of made) this.calls.set(call.id, call);
  }

  /** Every tool call as last seen, in the order first seen: what a run sent again goes on from. */
  madeCalls(): ToolCall[] {
    return [...this.calls.values()];
  }

  get finished(): boolean {
    return this.finalContent !== undefined;
  }

  /** What is recorded while the turn runs: the text so far and every tool call as last seen. */
  progress(): { content: string; toolCalls: unknown[] } {
    return {
      content: this.finalContent ?? this.text,
      toolCalls: [...this.calls.values()].map(toolCallToJson),
    };
  }

  observe(event: RunEvent): void {
    const e = event.event;
    switch (e.case) {
      case "textDelta":
        this.text += e.value.text;
        break;
      case "toolCallStarted":
      case "toolCallFinished":
        if (e.value.toolCall) this.calls.set(e.value.toolCall.id, e.value.toolCall);
        break;
      case "usage":
        this.usage = e.value;
        break;
      case "confirmationRequired": {
        const call = e.value.toolCall;
        if (call) this.calls.set(call.id, call);
        this.confirmation = {
          id: e.value.confirmationId,
          toolCallId: call?.id ?? "",
          toolName: call?.name ?? "",
          argumentsJson: call?.argumentsJson ?? "",
          argumentsSummary: e.value.argumentsSummary,
          question: e.value.question,
          action: e.value.action,
          resumeState: e.value.resumeState,
        };
        break;
      }
      case "finalMessage":
        this.finalContent = e.value.content;
        this.stopReason = e.value.stopReason;
        if (e.value.usage) this.usage = e.value.usage;
        for (const call of e.value.toolCalls) this.calls.set(call.id, call);
        break;
      default:
        break;
    }
  }

  toMessage(failure: ConnectError | undefined, cancelled: boolean) {
    const content = this.finalContent ?? this.text;
    // A caller that went away makes the agent call fail too (its signal is the caller's): that
    // failure is the consequence, the cancellation is what happened.
    const stop = cancelled ? StopReason.CANCELLED : failure ? StopReason.ERROR : this.stopReason;
    let status: MessageStatus = "complete";
    if (stop === StopReason.CONFIRMATION_REQUIRED && this.confirmation) {
      status = "awaiting_confirmation";
    } else if (failure || cancelled || stop !== StopReason.COMPLETED) {
      status = content !== "" || this.calls.size > 0 ? "partial" : "failed";
    }
    return {
      role: "assistant" as const,
      content,
      status,
      stopReason: stopReasonName(stop),
      toolCalls: [...this.calls.values()].map(toolCallToJson),
      ...(this.usage ? { usage: usageToJson(this.usage) } : {}),
    };
  }
}

/** A question just asked, as a stored one reads (not answered yet). */
export function asProposed(c: NewConfirmation): ConfirmationRow {
  return {
    id: c.id,
    message_id: "",
    tool_call_id: c.toolCallId,
    tool_name: c.toolName,
    arguments_json: c.argumentsJson,
    arguments_summary: c.argumentsSummary,
    question: c.question,
    action: c.action,
    resume_state: "",
    confirmed: null,
    answered_by: null,
  };
}
