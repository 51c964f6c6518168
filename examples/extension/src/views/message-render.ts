import {
  Role,
  StopReason,
  type ToolCall,
  ToolCallStatus,
} from "../../../../gen/supportext/agent/v1/agent_pb.js";
import { type Message, MessageStatus } from "../../../../gen/supportext/chat/v1/chat_pb.js";
import { h, replaceChildren } from "../dom.js";
import { renderToolArguments } from "./tool-arguments.js";

const TOOL_STATUS: Record<ToolCallStatus, string> = {
  [ToolCallStatus.UNSPECIFIED]: "unknown",
  [ToolCallStatus.RUNNING]: "running",
  [ToolCallStatus.SUCCEEDED]: "succeeded",
  [ToolCallStatus.FAILED]: "failed",
};

/** The bubble's `data-status` (what the CSS and the browser test key on). */
const MESSAGE_STATUS: Record<MessageStatus, string> = {
  [MessageStatus.UNSPECIFIED]: "unknown",
  [MessageStatus.COMPLETE]: "complete",
  [MessageStatus.PARTIAL]: "partial",
  [MessageStatus.FAILED]: "failed",
  [MessageStatus.PENDING]: "running",
  [MessageStatus.INTERRUPTED]: "interrupted",
};

/**
 * What the user is told about a stored answer that is not finished (docs/chat.md, "A turn that
 * survives a crash"): still running elsewhere, or stopped with a tool call's outcome unconfirmed.
 */
const MESSAGE_STATUS_NOTE: Partial<Record<MessageStatus, string>> = {
  [MessageStatus.PENDING]: "running",
  [MessageStatus.INTERRUPTED]: "interrupted — send the message again to resume it",
};

const STOP_REASON: Record<StopReason, string> = {
  [StopReason.UNSPECIFIED]: "",
  [StopReason.COMPLETED]: "",
  [StopReason.MAX_TOOL_CALLS]: "stopped at the agent's tool-call limit",
  [StopReason.MAX_MODEL_TURNS]: "stopped at the agent's model-turn limit",
  [StopReason.ERROR]: "stopped by an error",
  [StopReason.CANCELLED]: "cancelled",
};

function toolOutcome(call: ToolCall): string {
  if (call.status === ToolCallStatus.FAILED)
    return `${call.errorCode || "error"}: ${call.errorMessage || call.resultText}`;
  if (call.status === ToolCallStatus.SUCCEEDED) return `${call.durationMs} ms`;
  return "";
}

/** One tool call: its name, status and arguments (fields, or JSON on demand), updated in place when it finishes. */
export function renderToolCall(call: ToolCall, el = h("li", { class: "tool-call" })): HTMLLIElement {
  const status = TOOL_STATUS[call.status];
  el.dataset.toolCallId = call.id;
  el.dataset.tool = call.name;
  el.dataset.status = status;
  const outcome = toolOutcome(call);
  const args = renderToolArguments(call.argumentsJson, el.dataset.view === "json", (json) => {
    el.dataset.view = json ? "json" : "fields";
  });
  replaceChildren(
    el,
    h(
      "div",
      { class: "tool-head" },
      h("span", { class: "tool-name" }, call.name),
      h("span", { class: `tool-status ${status}` }, status),
      args.toggle,
    ),
    ...args.body,
    outcome ? h("div", { class: "tool-outcome" }, outcome) : null,
  );
  return el as HTMLLIElement;
}

export function userBubble(content: string): HTMLLIElement {
  return h("li", { class: "message user" }, h("div", { class: "text" }, content));
}

/** The assistant's side of a turn as it streams: text deltas, tool calls, notes, the final state. */
export class AssistantBubble {
  readonly el = h("li", { class: "message assistant", "data-status": "streaming", "data-deltas": "0" });
  private readonly text = h("div", { class: "text" });
  private readonly tools = h("ol", { class: "tool-calls" });
  private readonly notes = h("div", { class: "notes" });

  constructor() {
    this.el.append(this.tools, this.text, this.notes);
  }

  appendText(delta: string): void {
    this.text.append(delta);
    this.el.dataset.deltas = String(Number(this.el.dataset.deltas) + 1);
  }

  /** The final answer is authoritative: it replaces whatever the deltas spelled. */
  setText(content: string): void {
    this.text.textContent = content;
  }

  toolCall(call: ToolCall): void {
    const existing = [...this.tools.children].find((c) => (c as HTMLElement).dataset.toolCallId === call.id);
    if (existing) renderToolCall(call, existing as HTMLLIElement);
    else this.tools.append(renderToolCall(call));
  }

  note(text: string, kind: "info" | "warning" = "info"): void {
    this.notes.append(h("div", { class: `note ${kind}` }, text));
  }

  finish(status: MessageStatus, stopReason: StopReason): void {
    this.el.dataset.status = MESSAGE_STATUS[status];
    const said = MESSAGE_STATUS_NOTE[status];
    if (said) this.note(said, status === MessageStatus.INTERRUPTED ? "warning" : "info");
    const reason = STOP_REASON[stopReason];
    if (reason) this.note(reason, "warning");
    if (this.text.textContent === "" && this.tools.childElementCount === 0) this.setText("(no answer)");
  }

  /** The turn failed before it finished: say so in the bubble, never leave it spinning. */
  fail(message: string): void {
    this.el.dataset.status = "failed";
    this.note(message, "warning");
  }
}

/** A stored message, as ListMessages returns it. */
export function renderStoredMessage(message: Message): HTMLLIElement {
  if (message.role !== Role.ASSISTANT) return userBubble(message.content);
  const bubble = new AssistantBubble();
  for (const call of message.toolCalls) bubble.toolCall(call);
  bubble.setText(message.content);
  bubble.finish(message.status, message.stopReason);
  return bubble.el as HTMLLIElement;
}
