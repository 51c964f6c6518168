import type { Locator, Page } from "playwright-core";

export interface ToolCallShown {
  readonly name: string;
  readonly status: string;
  /** The arguments' text as the fields show it. */
  readonly args: string;
  /** The arguments as labelled fields: label → value, in order. */
  readonly fields: readonly (readonly [string, string])[];
  readonly outcome: string;
}

export interface TurnShown {
  /** The assistant bubble's final text. */
  readonly text: string;
  /** complete, partial or failed. */
  readonly status: string;
  readonly toolCalls: readonly ToolCallShown[];
  /** Text deltas rendered one by one while the turn streamed. */
  readonly deltasRendered: number;
  /** Every status the page showed, in order: "message streaming→complete", "tool:create_ticket running→succeeded"… */
  readonly transitions: readonly string[];
}

/**
 * Records, in the page, what it renders while a turn streams: every `data-status` change (the
 * assistant bubble, each tool call) and every text delta. A MutationObserver delivers one record
 * per change, however the changes are batched. A string, evaluated in the page (DOM code).
 */
const RECORD_TURN = `(() => {
  const turn = { transitions: [], deltas: 0 };
  window.__turn = turn;
  const label = (el) => (el.classList.contains("tool-call") ? "tool:" + el.dataset.tool : "message");
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.attributeName === "data-deltas") turn.deltas++;
      else if (r.attributeName === "data-status") turn.transitions.push(label(r.target) + " " + r.oldValue + "→" + r.target.dataset.status);
      for (const n of r.addedNodes) {
        if (n.dataset && n.dataset.status) turn.transitions.push(label(n) + " added " + n.dataset.status);
      }
    }
  }).observe(document.querySelector("#messages"), {
    subtree: true, childList: true, attributes: true, attributeOldValue: true, attributeFilter: ["data-status", "data-deltas"],
  });
})()`;

/** The labelled fields (`dt`/`dd` pairs) of a tool call's arguments. */
async function fieldsOf(li: Locator): Promise<[string, string][]> {
  const labels = await li.locator(".tool-args dt").allTextContents();
  const values = await li.locator(".tool-args dd").allTextContents();
  return labels.map((label, i) => [label, values[i] ?? ""]);
}

/** Drives the popup (as an extension page or a development page) the way a user does. */
export class PopupPage {
  constructor(readonly page: Page) {}

  /** Types the server's address and presses Sign in; resolves with the sign-in window it opens. */
  async startSignIn(serverUrl: string): Promise<Page> {
    await this.page.locator("#login").waitFor();
    await this.page.fill("#server", serverUrl);
    const opened = this.page.context().waitForEvent("page", { timeout: 30_000 });
    await this.page.click("#login-button");
    const window = await opened;
    await window.waitForLoadState();
    return window;
  }

  /**
   * Signs in as a person does: Sign in in the popup, then the identity service's own page in the
   * window the browser opens (chrome.identity, or the development page's window), where the
   * email and password are typed; the window closes itself once the code is back.
   */
  async logIn(serverUrl: string, email: string, password: string): Promise<void> {
    const window = await this.startSignIn(serverUrl);
    // The development page's window opens blank and is then sent to the sign-in page.
    await window
      .getByLabel("Email")
      .waitFor({ timeout: 30_000 })
      .catch(async (err: unknown) => {
        const said = await this.page
          .locator("#status")
          .textContent()
          .catch(() => "");
        throw new Error(`no sign-in page in the window (${window.url()}); the popup says: ${said}`, {
          cause: err,
        });
      });
    await window.getByLabel("Email").fill(email);
    await window.getByLabel("Password").fill(password);
    await window.getByRole("button", { name: "Sign in and allow" }).click();
  }

  /** Waits until the workspace shows the user and the agents. */
  async loggedIn(): Promise<void> {
    await this.page
      .locator("#workspace #agent option")
      .first()
      .waitFor({ state: "attached" })
      .catch(async (err: unknown) => {
        const said = await this.page
          .locator("#status")
          .textContent()
          .catch(() => "");
        // Each window with what it says: a sign-in page left open tells why it did not finish.
        const windows = await Promise.all(
          this.page
            .context()
            .pages()
            .map(async (p) => {
              const text = p === this.page ? "" : await p.textContent("body").catch(() => "");
              return text ? `${p.url()} ("${text.replace(/\s+/g, " ").trim().slice(0, 200)}")` : p.url();
            }),
        );
        throw new Error(`not signed in; the popup says: ${said}; windows: ${windows.join(", ")}`, {
          cause: err,
        });
      });
  }

  async pickAgent(agentId: string): Promise<void> {
    await this.page.selectOption("#agent", agentId);
  }

  /** The number of tools the page says the user may use with the picked agent, and how it says it. */
  async toolCount(): Promise<{ count: number; text: string }> {
    const count = this.page.locator("#agent-tool-count");
    await count.waitFor();
    return {
      count: Number(await count.getAttribute("data-count")),
      text: ((await count.textContent()) ?? "").trim(),
    };
  }

  async newThread(): Promise<void> {
    const before = (await this.page.getAttribute("#conversation", "data-thread-id")) ?? "";
    await this.page.click("#new-thread");
    await this.page
      .locator(`#conversation:not([hidden])[data-thread-id]:not([data-thread-id="${before}"])`)
      .waitFor();
  }

  /** Sends `question` and waits for the turn's end, recording what the page rendered while it streamed. */
  async ask(question: string): Promise<TurnShown> {
    return this.turn(async () => {
      await this.page.fill("#message-input", question);
      await this.page.click("#send");
    });
  }

  /**
   * Types `lines` into the composer as a user does — Shift+Enter between them, which must only
   * break the line — then presses Enter, which sends. `beforeSend` sees the composer before Enter.
   */
  async askByKeyboard(lines: readonly string[], beforeSend: () => Promise<void>): Promise<TurnShown> {
    return this.turn(async () => {
      const input = this.page.locator("#message-input");
      await input.click();
      for (const [i, line] of lines.entries()) {
        if (i > 0) await input.press("Shift+Enter");
        await input.pressSequentially(line);
      }
      await beforeSend();
      await input.press("Enter");
    });
  }

  /** Runs `send`, then waits for the turn it started to end and reports what the page rendered. */
  private async turn(send: () => Promise<void>): Promise<TurnShown> {
    const assistant = this.page.locator("#messages li.message.assistant");
    const before = await assistant.count();
    await this.page.evaluate(RECORD_TURN);
    await send();
    const bubble = assistant.nth(before);
    await this.page
      .locator('#messages li.message.assistant:not([data-status="streaming"])')
      .nth(before)
      .waitFor({ timeout: 60_000 });
    await this.page.locator("#send:enabled").waitFor();
    const toolCalls: ToolCallShown[] = [];
    for (const li of await bubble.locator("li.tool-call").all()) {
      toolCalls.push({
        name: (await li.getAttribute("data-tool")) ?? "",
        status: (await li.getAttribute("data-status")) ?? "",
        args:
          (await li.locator(".tool-args").count()) > 0
            ? ((await li.locator(".tool-args").textContent()) ?? "")
            : "",
        fields: await fieldsOf(li),
        outcome:
          (await li.locator(".tool-outcome").count()) > 0
            ? ((await li.locator(".tool-outcome").textContent()) ?? "")
            : "",
      });
    }
    const recorded = (await this.page.evaluate("window.__turn")) as { transitions: string[]; deltas: number };
    return {
      text: (await bubble.locator(".text").textContent()) ?? "",
      status: (await bubble.getAttribute("data-status")) ?? "",
      toolCalls,
      deltasRendered: recorded.deltas,
      transitions: recorded.transitions,
    };
  }

  /** The status line's text once it shows an error. */
  async error(): Promise<string> {
    const status = this.page.locator('#status[data-kind="error"]');
    await status.waitFor();
    return (await status.textContent()) ?? "";
  }

  async screenshot(path: string): Promise<string> {
    await this.page.screenshot({ path, fullPage: true });
    return path;
  }
}
