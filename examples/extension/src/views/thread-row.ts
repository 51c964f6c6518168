import type { Thread } from "#gen/supportext/chat/v1/chat_pb.js";
import { h, replaceChildren } from "../dom.js";

/** What a row does with the user's choices; the list refreshes itself after each. */
export interface ThreadRowActions {
  readonly open: (thread: Thread) => void;
  /** Resolves once the server renamed it (or rejects: the row shows the old title again). */
  readonly rename: (thread: Thread, title: string) => Promise<void>;
  readonly remove: (thread: Thread) => Promise<void>;
}

/** The longest title the server takes (CreateThreadRequest.title, UpdateThreadRequest.title). */
const TITLE_MAX = 200;

/**
 * One of the user's threads in the list (docs/chat.md, "Renaming and deleting a thread"): a click
 * opens it; Rename turns the title into a field (Enter saves, Escape keeps it); Delete asks first,
 * in the row itself, and deletes only on the second click.
 */
export function threadRow(thread: Thread, active: boolean, actions: ThreadRowActions): HTMLLIElement {
  return new ThreadRow(thread, active, actions).li;
}

class ThreadRow {
  readonly li: HTMLLIElement;
  private readonly label: string;

  constructor(
    private readonly thread: Thread,
    private readonly active: boolean,
    private readonly actions: ThreadRowActions,
  ) {
    this.li = h("li", { "data-thread-id": thread.id });
    this.label = thread.title || "New thread";
    this.showRow();
  }

  private button(text: string, attrs: Record<string, string>, onClick: () => void): HTMLButtonElement {
    const b = h("button", { type: "button", class: "thread-action", ...attrs }, text);
    b.addEventListener("click", onClick);
    return b;
  }

  private showRow(): void {
    const { thread } = this;
    const open = h(
      "button",
      {
        type: "button",
        class: "thread",
        "data-thread-id": thread.id,
        "aria-current": this.active ? "true" : undefined,
      },
      h("span", { class: "thread-title" }, this.label),
      h("span", { class: "thread-count" }, String(thread.messageCount)),
    );
    open.addEventListener("click", () => this.actions.open(thread));
    const rename = this.button("✎", { "aria-label": `Rename ${this.label}`, title: "Rename" }, () =>
      this.showRename(),
    );
    const remove = this.button("✕", { "aria-label": `Delete ${this.label}`, title: "Delete" }, () =>
      this.showDeleteQuestion(),
    );
    replaceChildren(this.li, h("div", { class: "thread-row" }, open, rename, remove));
  }

  private showRename(): void {
    const field = h("input", {
      type: "text",
      class: "thread-rename",
      "aria-label": "New title",
      maxlength: String(TITLE_MAX),
      value: this.thread.title,
    });
    const save = async () => {
      const title = field.value.trim();
      if (!title || title === this.thread.title) return this.showRow();
      field.disabled = true;
      await this.actions.rename(this.thread, title).catch(() => this.showRow());
    };
    field.addEventListener("keydown", (e) => {
      if (e.key === "Enter") void save();
      if (e.key === "Escape") this.showRow();
    });
    const ok = this.button("Save", {}, () => void save());
    replaceChildren(this.li, h("div", { class: "thread-row" }, field, ok));
    field.focus();
    field.select();
  }

  private showDeleteQuestion(): void {
    const no = this.button("Keep", {}, () => this.showRow());
    const yes = this.button("Delete", { class: "thread-action danger" }, () => {
      yes.disabled = true;
      no.disabled = true;
      void this.actions.remove(this.thread).catch(() => this.showRow());
    });
    replaceChildren(
      this.li,
      h(
        "div",
        { class: "thread-row", role: "group", "aria-label": `Delete ${this.label}?` },
        h("span", { class: "thread-question" }, `Delete “${this.label}” and its messages?`),
        yes,
        no,
      ),
    );
    no.focus();
  }
}
