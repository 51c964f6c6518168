import { Role, StopReason, type ToolCall, ToolCallStatus } from "#gen/supportext/agent/v1/agent_pb.js";
import { type Confirmation, type Message, MessageStatus } from "#gen/supportext/chat/v1/chat_pb.js";
import { h, replaceChildren } from "../dom.js";
import { renderToolArguments } from "./tool-arguments.js";

const TOOL_STATUS: Record<ToolCallStatus, string> = {
  [ToolCallStatus.UNSPECIFIED]: "unknown",
  [ToolCallStatus.RUNNING]: "running",
  [ToolCallStatus.SUCCEEDED]: "succeeded",
  [ToolCallStatus.FAILED]: "failed",
  [ToolCallStatus.AWAITING_CONFIRMATION]: "awaiting confirmation",
};

/** The bubble's `data-status` (what the CSS and the browser test key on). */
const MESSAGE_STATUS: Record<MessageStatus, string> = {
  [MessageStatus.UNSPECIFIED]: "unknown",
  [MessageStatus.COMPLETE]: "complete",
  [MessageStatus.PARTIAL]: "partial",
  [MessageStatus.FAILED]: "failed",
  [MessageStatus.PENDING]: "running",
  [MessageStatus.INTERRUPTED]: "interrupted",
  [MessageStatus.AWAITING_CONFIRMATION]: "awaiting-confirmation",
};

/**
 * What the user is told about a stored answer that is not finished (docs/chat.md, "A turn that
 * survives a crash"): still running elsewhere, or stopped with a tool call's outcome unconfirmed.
 */
const MESSAGE_STATUS_NOTE: Partial<Record<MessageStatus, string>> = {
  [MessageStatus.PENDING]: "running",
  [MessageStatus.INTERRUPTED]: "interrupted — send the message again to resume it",
  [MessageStatus.AWAITING_CONFIRMATION]: "waiting for your answer: nothing is done before you confirm",
};

const STOP_REASON: Record<StopReason, string> = {
  [StopReason.UNSPECIFIED]: "",
  [StopReason.COMPLETED]: "",
  [StopReason.MAX_TOOL_CALLS]: "stopped at the agent's tool-call limit",
  [StopReason.MAX_MODEL_TURNS]: "stopped at the agent's model-turn limit",
  [StopReason.ERROR]: "stopped by an error",
  [StopReason.CANCELLED]: "cancelled",
  [StopReason.CONFIRMATION_REQUIRED]: "",
};

/** What the Confirm / Cancel buttons do: answer the question, then show the turn as it goes on. */
export type AnswerConfirmation = (confirmation: Confirmation, confirmed: boolean) => void;

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
  el.dataset.status = status.replace(/ /g, "-");
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
      h("span", { class: `tool-status ${status.replace(/ /g, "-")}` }, status),
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
  private readonly questions = h("div", { class: "confirmations" });
  /** The questions shown in their boxes: a message whose text is just one of them shows it once. */
  private readonly asked = new Set<string>();

  constructor() {
    // The question comes after the calls, and what the turn says after the answer below it.
    this.el.append(this.tools, this.questions, this.text, this.notes);
  }

  /**
   * A tool call that waits for the user's explicit yes (docs/chat.md, "Confirmation before
   * destruction"): the tool's question, its arguments, and Confirm / Cancel. Nothing is done before
   * a click; the click answers once (both buttons are then disabled).
   */
  askConfirmation(confirmation: Confirmation, answer: AnswerConfirmation | undefined): void {
    const existing = [...this.questions.children].find(
      (c) => (c as HTMLElement).dataset.confirmationId === confirmation.confirmationId,
    );
    if (existing) return;
    this.asked.add(confirmation.question.trim());
    if (this.text.textContent?.trim() === confirmation.question.trim()) this.setText("");
    const confirm = h(
      "button",
      { type: "button", class: "confirm", "data-answer": "confirm", disabled: !answer },
      confirmation.action ? `Confirm: ${confirmation.action}` : "Confirm",
    );
    const cancel = h(
      "button",
      { type: "button", class: "cancel", "data-answer": "cancel", disabled: !answer },
      "Cancel",
    );
    const box = h(
      "div",
      {
        class: "confirmation",
        role: "group",
        "aria-label": "Confirmation needed",
        "data-confirmation-id": confirmation.confirmationId,
        "data-state": "asked",
      },
      h("div", { class: "confirmation-title" }, "Confirmation needed"),
      h("div", { class: "confirmation-question" }, confirmation.question),
      confirmation.argumentsSummary
        ? h(
            "div",
            { class: "confirmation-args" },
            h("span", { class: "tool-name" }, confirmation.toolName),
            ` ${confirmation.argumentsSummary}`,
          )
        : null,
      h("div", { class: "confirmation-buttons" }, confirm, cancel),
    );
    const answered = (confirmed: boolean) => {
      confirm.disabled = true;
      cancel.disabled = true;
      box.dataset.state = confirmed ? "confirmed" : "cancelled";
      box.append(h("div", { class: "confirmation-answer" }, confirmed ? "You confirmed." : "You cancelled."));
      // What follows is the turn going on: its answer replaces the question shown as text.
      this.setText("");
      answer?.(confirmation, confirmed);
    };
    confirm.addEventListener("click", () => answered(true));
    cancel.addEventListener("click", () => answered(false));
    this.questions.append(box);
  }

  appendText(delta: string): void {
    this.text.append(delta);
    this.el.dataset.deltas = String(Number(this.el.dataset.deltas) + 1);
  }

  /** The final answer is authoritative: it replaces whatever the deltas spelled. */
  setText(content: string): void {
    this.text.textContent = this.asked.has(content.trim()) ? "" : content;
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
    // A turn that goes on after an answer finishes again: only its latest state is noted.
    for (const old of this.notes.querySelectorAll(".status-note")) old.remove();
    const said = MESSAGE_STATUS_NOTE[status];
    if (said) {
      this.note(said, status === MessageStatus.INTERRUPTED ? "warning" : "info");
      this.notes.lastElementChild?.classList.add("status-note");
    }
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

/**
 * A stored message, as ListMessages returns it; one still waiting for a confirmation shows its
 * question with Confirm / Cancel (`onAnswer` answers it with the bubble the turn goes on in).
 */
export function renderStoredMessage(
  message: Message,
  onAnswer?: (bubble: AssistantBubble, confirmation: Confirmation, confirmed: boolean) => void,
): HTMLLIElement {
  if (message.role !== Role.ASSISTANT) return userBubble(message.content);
  const bubble = new AssistantBubble();
  for (const call of message.toolCalls) bubble.toolCall(call);
  if (message.status === MessageStatus.AWAITING_CONFIRMATION && message.confirmation) {
    bubble.askConfirmation(
      message.confirmation,
      onAnswer ? (confirmation, confirmed) => onAnswer(bubble, confirmation, confirmed) : undefined,
    );
  }
  bubble.setText(message.content);
  bubble.finish(message.status, message.stopReason);
  return bubble.el as HTMLLIElement;
}
