import type { Api } from "../api.js";
import { h } from "../dom.js";
import type { KeyValueStore } from "../key-value-store.js";
import type { SignedInUser } from "../session.js";
import { ConversationView } from "./conversation-view.js";
import { ThreadsView } from "./threads-view.js";

export interface WorkspaceDeps {
  readonly api: Api;
  readonly user: SignedInUser;
  readonly prefs: KeyValueStore;
  readonly onLogout: () => void;
  readonly onProblem: (err: unknown) => void;
}

/** What a logged-in user sees: who they are, the agent and its threads, the open conversation. */
export function createWorkspace(deps: WorkspaceDeps): { el: HTMLElement; load: () => Promise<void> } {
  const conversation: ConversationView = new ConversationView({
    api: deps.api,
    onProblem: deps.onProblem,
    // The thread's title (from its first message) and count changed.
    onTurnEnded: (threadId) =>
      void threads.refresh().then((list) => {
        const thread = list.find((t) => t.id === threadId);
        if (thread) conversation.retitle(thread);
      }),
  });
  const threads: ThreadsView = new ThreadsView({
    api: deps.api,
    prefs: deps.prefs,
    onOpen: (thread) => void conversation.open(thread),
    onAgentChanged: () => conversation.close(),
    onRenamed: (thread) => conversation.retitle(thread),
    onDeleted: (threadId) => {
      if (conversation.threadId === threadId) conversation.close();
    },
    onProblem: deps.onProblem,
  });
  const logout = h("button", { id: "logout", type: "button" }, "Log out");
  logout.addEventListener("click", deps.onLogout);
  const who = h(
    "div",
    { id: "user-bar" },
    h("span", { id: "user-email", title: deps.user.scopes.join(" ") }, deps.user.email),
    h("span", { id: "user-roles", class: "hint" }, deps.user.roles.join(", ")),
    logout,
  );
  const el = h("section", { id: "workspace" }, who, threads.el, conversation.el);
  return { el, load: () => threads.load() };
}
