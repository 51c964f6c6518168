import { h } from "../dom.js";

export interface LoginInput {
  readonly serverUrl: string;
  readonly email: string;
  readonly password: string;
}

/** The login form: server address (where chat runs), email, password. */
export class LoginView {
  readonly el = h("section", { id: "login" });
  private readonly server = h("input", { id: "server", type: "url", required: true, autocomplete: "url" });
  private readonly email = h("input", {
    id: "email",
    type: "email",
    required: true,
    autocomplete: "username",
  });
  private readonly password = h("input", {
    id: "password",
    type: "password",
    required: true,
    autocomplete: "current-password",
  });
  private readonly submit = h("button", { id: "login-button", type: "submit" }, "Log in");

  constructor(onSubmit: (input: LoginInput) => Promise<void>) {
    const form = h(
      "form",
      {},
      h("label", { for: "server" }, "Server"),
      this.server,
      h("label", { for: "email" }, "Email"),
      this.email,
      h("label", { for: "password" }, "Password"),
      this.password,
      this.submit,
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.submit.disabled = true;
      onSubmit({
        serverUrl: this.server.value,
        email: this.email.value,
        password: this.password.value,
      }).finally(() => {
        this.submit.disabled = false;
        this.password.value = "";
      });
    });
    this.el.append(form);
  }

  show(serverUrl: string, email = ""): void {
    this.server.value = serverUrl;
    if (email) this.email.value = email;
    this.el.hidden = false;
    (email ? this.password : this.email).focus();
  }

  hide(): void {
    this.el.hidden = true;
  }
}
