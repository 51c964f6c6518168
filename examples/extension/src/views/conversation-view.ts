import type {
  Confirmation,
  ConfirmToolCallResponse,
  StreamMessageResponse,
  Thread,
} from "#gen/supportext/chat/v1/chat_pb.js";
import type { Api } from "../api.js";
import { h, replaceChildren } from "../dom.js";
import { AssistantBubble, renderStoredMessage, userBubble } from "./message-render.js";

/** One event of a turn, as StreamMessage or ConfirmToolCall streams it (the same cases). */
type TurnEvent = StreamMessageResponse["event"] | ConfirmToolCallResponse["event"];

export interface ConversationDeps {
  readonly api: Api;
  /** A failure the status line should show (session ended, server down…). */
  readonly onProblem: (err: unknown) => void;
  /** A turn ended: the thread's title and count changed. */
  readonly onTurnEnded: (threadId: string) => void;
}

/** One open thread: its messages, and a composer whose turn is rendered event by event as it streams. */
export class ConversationView {
  readonly el = h("section", { id: "conversation", hidden: true });
  private readonly title = h("h2", { id: "thread-title" });
  private readonly messages = h("ol", { id: "messages" });
  private readonly input = h("textarea", {
    id: "message-input",
    rows: "2",
    placeholder: "Ask the agent… (Enter sends, Shift+Enter: new line)",
    "aria-label": "Message",
    required: true,
  });
  private readonly send = h("button", { id: "send", type: "submit" }, "Send");
  private thread: Thread | undefined;
  private atBottom = true;

  constructor(private readonly deps: ConversationDeps) {
    const composer = h("form", { id: "composer" }, this.input, this.send);
    composer.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.submit();
    });
    // Enter sends; Shift+Enter is left to the textarea (a newline). Not while an input method is
    // composing (isComposing): there Enter confirms the composed text.
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        composer.requestSubmit();
      }
    });
    this.el.append(this.title, this.messages, composer);
    // The list's height changes under it (the thread list above refreshes after a turn, the window
    // is resized): a reader who was at the latest message stays there.
    this.messages.addEventListener("scroll", () => {
      const { scrollTop, clientHeight, scrollHeight } = this.messages;
      this.atBottom = scrollTop + clientHeight >= scrollHeight - 4;
    });
    new ResizeObserver(() => {
      if (this.atBottom) this.scroll();
    }).observe(this.messages);
  }

  get threadId(): string | undefined {
    return this.thread?.id;
  }

  /** The open thread, as the list now shows it (a new thread takes its title from its first message). */
  retitle(thread: Thread): void {
    if (this.thread?.id !== thread.id) return;
    this.thread = thread;
    this.title.textContent = thread.title || "New thread";
  }

  close(): void {
    this.thread = undefined;
    this.el.hidden = true;
    replaceChildren(this.messages);
  }

  async open(thread: Thread): Promise<void> {
    this.thread = thread;
    this.title.textContent = thread.title || "New thread";
    this.el.hidden = false;
    this.el.dataset.threadId = thread.id;
    replaceChildren(this.messages, h("li", { class: "loading" }, "Loading messages…"));
    try {
      const { messages } = await this.deps.api.session.run((headers) =>
        this.deps.api.chat.listMessages({ threadId: thread.id, pageSize: 200 }, { headers }),
      );
      replaceChildren(
        this.messages,
        ...messages.map((m) =>
          renderStoredMessage(
            m,
            (bubble, confirmation, confirmed) => void this.answer(bubble, confirmation, confirmed),
          ),
        ),
      );
      this.scroll();
    } catch (err) {
      replaceChildren(this.messages);
      this.deps.onProblem(err);
    }
    this.input.focus();
  }

  private async submit(): Promise<void> {
    const thread = this.thread;
    const content = this.input.value.trim();
    // Enter reaches here through requestSubmit even while a turn runs (the button is disabled,
    // the form is not): one turn at a time, and the text stays in the box.
    if (!thread || content === "" || this.send.disabled) return;
    this.input.value = "";
    this.send.disabled = true;
    let bubble = this.startTurn(content);
    let received = 0;
    try {
      const { api } = this.deps;
      const events = api.session.stream(
        (headers) => api.chat.streamMessage({ threadId: thread.id, content }, { headers }),
        () => {
          // Refused at the door: nothing was stored, the same bubble shows the retry. Mid-turn: the
          // server kept the partial answer, and the message is sent again as a new turn.
          if (received === 0) return bubble.note("Access token refreshed; sending again.");
          bubble.fail(
            "Your access token expired during the turn (the partial answer is kept): refreshed it and sent the message again.",
          );
          bubble = this.startTurn(content);
          received = 0;
        },
      );
      for await (const response of events) {
        received++;
        this.apply(bubble, response.event);
      }
    } catch (err) {
      if (received === 0) {
        // Refused before the server sent anything — not even the stored user message (a limit
        // reached, the service down): the message is not in the thread. Its bubbles go, and the
        // text goes back into an empty composer, to send again once the reason is gone.
        this.unsent(bubble, content);
      } else {
        bubble.fail("This turn did not finish.");
      }
      this.deps.onProblem(err);
    } finally {
      this.send.disabled = false;
      this.deps.onTurnEnded(thread.id);
    }
  }

  /** Takes back a turn the server never started: its two bubbles, its text into the composer. */
  private unsent(bubble: AssistantBubble, content: string): void {
    const user = bubble.el.previousElementSibling;
    if (user?.classList.contains("user")) user.remove();
    bubble.el.remove();
    if (this.input.value.trim() === "") this.input.value = content;
  }

  /**
   * The user's Confirm or Cancel (docs/chat.md, "Confirmation before destruction"): ConfirmToolCall
   * answers the question as the signed-in user, and the turn goes on in the same bubble — the tool
   * call runs (or is cancelled), then the answer. Sent again after a token refresh, the same answer
   * never runs the call twice (the server keeps it).
   */
  private async answer(
    bubble: AssistantBubble,
    confirmation: Confirmation,
    confirmed: boolean,
  ): Promise<void> {
    const thread = this.thread;
    if (!thread) return;
    this.send.disabled = true;
    try {
      const { api } = this.deps;
      const events = api.session.stream(
        (headers) =>
          api.chat.confirmToolCall(
            { threadId: thread.id, confirmationId: confirmation.confirmationId, confirmed },
            { headers },
          ),
        () => bubble.note("Access token refreshed; sending the answer again."),
      );
      for await (const response of events) this.apply(bubble, response.event);
    } catch (err) {
      bubble.fail("The answer could not be sent.");
      this.deps.onProblem(err);
    } finally {
      this.send.disabled = false;
      this.deps.onTurnEnded(thread.id);
    }
  }

  private startTurn(content: string): AssistantBubble {
    const bubble = new AssistantBubble();
    this.messages.append(userBubble(content), bubble.el);
    this.scroll();
    return bubble;
  }

  /** Renders one streamed event the moment it arrives. */
  private apply(bubble: AssistantBubble, event: TurnEvent): void {
    if (event.case === "confirmationRequired") {
      // A tool call waits for the user's yes: the question, with Confirm and Cancel.
      bubble.askConfirmation(
        event.value,
        (confirmation, confirmed) => void this.answer(bubble, confirmation, confirmed),
      );
    } else if (event.case === "assistantMessage") {
      // The saved message is authoritative: its tool calls as they ended (one waiting for a yes too).
      for (const call of event.value.toolCalls) bubble.toolCall(call);
      bubble.setText(event.value.content);
      bubble.finish(event.value.status, event.value.stopReason);
    } else if (event.case === "turnResumed") {
      // The turn runs again with the same idempotency keys: what follows replaces what was shown.
      bubble.setText("");
      bubble.note(event.value.reason);
    } else if (event.case === "runEvent") {
      const run = event.value.event;
      switch (run.case) {
        case "textDelta":
          bubble.appendText(run.value.text);
          break;
        case "toolCallStarted":
        case "toolCallFinished":
          if (run.value.toolCall) bubble.toolCall(run.value.toolCall);
          break;
        case "limitReached":
          bubble.note(run.value.message, "warning");
          break;
        case "finalMessage":
          bubble.setText(run.value.content);
          break;
        default:
          break;
      }
    }
    this.scroll();
  }

  private scroll(): void {
    this.messages.scrollTop = this.messages.scrollHeight;
    this.atBottom = true;
  }
}
