import { h } from "../dom.js";

export interface LoginInput {
  readonly serverUrl: string;
}

/**
 * The sign-in form: the server address (where chat runs) and one button. The email and password
 * are typed into the identity service's own page, in the window the browser opens for it — never
 * into the popup (docs/identity.md, "The extension's sign-in").
 */
export class LoginView {
  readonly el = h("section", { id: "login" });
  private readonly server = h("input", { id: "server", type: "url", required: true, autocomplete: "url" });
  private readonly submit = h("button", { id: "login-button", type: "submit" }, "Sign in");

  constructor(onSubmit: (input: LoginInput) => Promise<void>) {
    const form = h(
      "form",
      {},
      h("label", { for: "server" }, "Server"),
      this.server,
      h("p", { class: "hint" }, "You sign in on your support-ext server's own page."),
      this.submit,
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.submit.disabled = true;
      onSubmit({ serverUrl: this.server.value }).finally(() => {
        this.submit.disabled = false;
      });
    });
    this.el.append(form);
  }

  show(serverUrl: string): void {
    this.server.value = serverUrl;
    this.el.hidden = false;
    this.submit.focus();
  }

  hide(): void {
    this.el.hidden = true;
  }
}
