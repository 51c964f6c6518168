import { h } from "../dom.js";

/** The popup's one status line: what it is doing, or what went wrong — so the popup is never blank. */
export class StatusLine {
  readonly el = h("div", { id: "status", role: "status", "aria-live": "polite", hidden: true });

  info(text: string): void {
    this.show("info", text);
  }

  error(text: string): void {
    this.show("error", text);
  }

  clear(): void {
    this.el.hidden = true;
    this.el.textContent = "";
    delete this.el.dataset.kind;
  }

  private show(kind: "info" | "error", text: string): void {
    this.el.dataset.kind = kind;
    this.el.textContent = text;
    this.el.hidden = false;
  }
}
