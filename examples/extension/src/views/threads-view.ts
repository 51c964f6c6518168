import type { Agent } from "#gen/supportext/agent/v1/agent_pb.js";
import type { Thread } from "#gen/supportext/chat/v1/chat_pb.js";
import type { Api } from "../api.js";
import { h, replaceChildren } from "../dom.js";
import type { KeyValueStore } from "../key-value-store.js";
import { threadRow } from "./thread-row.js";

const LAST_AGENT_KEY = "lastAgentId";

export interface ThreadsDeps {
  readonly api: Api;
  readonly prefs: KeyValueStore;
  readonly onOpen: (thread: Thread) => void;
  /** The agent changed: the open thread belongs to another agent. */
  readonly onAgentChanged: () => void;
  /** A thread was renamed (the open conversation shows its title). */
  readonly onRenamed: (thread: Thread) => void;
  /** A thread was deleted (the open conversation closes if it was that one). */
  readonly onDeleted: (threadId: string) => void;
  readonly onProblem: (err: unknown) => void;
}

/** The agent picker and the caller's threads with that agent: list, open, create, rename, delete. */
export class ThreadsView {
  readonly el = h("section", { id: "threads-panel" });
  private readonly agentSelect = h("select", { id: "agent", "aria-label": "Agent" });
  private readonly agentInfo = h("p", { id: "agent-info", class: "hint" });
  private readonly list = h("ul", { id: "threads" });
  private readonly newThread = h("button", { id: "new-thread", type: "button" }, "New thread");
  private agents: Agent[] = [];
  /** By agent id: the tools the signed-in user may use with it, as chat computed them. */
  private usableTools: Record<string, { names: readonly string[] }> = {};
  private activeThreadId: string | undefined;

  constructor(private readonly deps: ThreadsDeps) {
    this.agentSelect.addEventListener("change", () => {
      void deps.prefs.set(LAST_AGENT_KEY, this.agentSelect.value);
      this.showAgentInfo();
      this.activeThreadId = undefined;
      deps.onAgentChanged();
      void this.refresh();
    });
    this.newThread.addEventListener("click", () => void this.create());
    this.el.append(
      h("div", { class: "agent-row" }, h("label", { for: "agent" }, "Agent"), this.agentSelect),
      this.agentInfo,
      h("div", { class: "threads-header" }, h("span", {}, "Threads"), this.newThread),
      this.list,
    );
  }

  get agentId(): string {
    return this.agentSelect.value;
  }

  /** Loads the agents (the last one picked is selected again), then its threads. */
  async load(): Promise<void> {
    const { api } = this.deps;
    try {
      const { agents, usableTools } = await api.session.run((headers) =>
        api.chat.listAgents({ pageSize: 100 }, { headers }),
      );
      this.agents = agents;
      this.usableTools = usableTools;
      const last = await this.deps.prefs.get<string>(LAST_AGENT_KEY);
      replaceChildren(
        this.agentSelect,
        ...agents.map((a) => h("option", { value: a.id, selected: a.id === last }, a.name)),
      );
      this.showAgentInfo();
      await this.refresh();
    } catch (err) {
      this.deps.onProblem(err);
    }
  }

  /** Marks the open thread in the list. */
  markActive(threadId: string | undefined): void {
    this.activeThreadId = threadId;
    for (const button of this.list.querySelectorAll<HTMLButtonElement>("button.thread")) {
      if (button.dataset.threadId === threadId) button.setAttribute("aria-current", "true");
      else button.removeAttribute("aria-current");
    }
  }

  /** Lists the caller's threads with the picked agent, most recently active first; returns them. */
  async refresh(): Promise<readonly Thread[]> {
    const { api } = this.deps;
    const agentId = this.agentId;
    if (!agentId) return [];
    try {
      const { threads } = await api.session.run((headers) =>
        api.chat.listThreads({ agentId, pageSize: 50 }, { headers }),
      );
      if (threads.length === 0) {
        replaceChildren(this.list, h("li", { class: "hint" }, "No threads with this agent yet: start one."));
        return threads;
      }
      const actions = {
        open: (thread: Thread) => {
          this.markActive(thread.id);
          this.deps.onOpen(thread);
        },
        rename: (thread: Thread, title: string) => this.rename(thread, title),
        remove: (thread: Thread) => this.remove(thread),
      };
      replaceChildren(this.list, ...threads.map((t) => threadRow(t, t.id === this.activeThreadId, actions)));
      return threads;
    } catch (err) {
      this.deps.onProblem(err);
      return [];
    }
  }

  /** Renames `thread`; the list (and the open conversation's heading) shows the new title. */
  private async rename(thread: Thread, title: string): Promise<void> {
    const { api } = this.deps;
    try {
      const renamed = await api.session.run((headers) =>
        api.chat.updateThread({ threadId: thread.id, title }, { headers }),
      );
      if (renamed.thread) this.deps.onRenamed(renamed.thread);
      await this.refresh();
    } catch (err) {
      this.deps.onProblem(err);
      throw err;
    }
  }

  /** Deletes `thread`; the open conversation closes if it was that one. */
  private async remove(thread: Thread): Promise<void> {
    const { api } = this.deps;
    try {
      await api.session.run((headers) => api.chat.deleteThread({ threadId: thread.id }, { headers }));
      if (this.activeThreadId === thread.id) this.activeThreadId = undefined;
      this.deps.onDeleted(thread.id);
      await this.refresh();
    } catch (err) {
      this.deps.onProblem(err);
      throw err;
    }
  }

  private async create(): Promise<void> {
    const { api } = this.deps;
    const agentId = this.agentId;
    if (!agentId) return;
    this.newThread.disabled = true;
    try {
      const { thread } = await api.session.run((headers) => api.chat.createThread({ agentId }, { headers }));
      if (thread) {
        this.activeThreadId = thread.id;
        this.deps.onOpen(thread);
        await this.refresh();
      }
    } catch (err) {
      this.deps.onProblem(err);
    } finally {
      this.newThread.disabled = false;
    }
  }

  /**
   * The agent's description and how many tools the user may use with it: the server's figure (its
   * allow-list ∩ the user's scopes, docs/chat.md), not the allow-list's length, which promised a
   * viewer 13 tools when 6 answer. A chat without that figure shows no count rather than a wrong one.
   */
  private showAgentInfo(): void {
    const agent = this.agents.find((a) => a.id === this.agentId);
    if (!agent) {
      replaceChildren(this.agentInfo);
      return;
    }
    const usable = this.usableTools[agent.id]?.names;
    const count =
      usable === undefined
        ? null
        : h(
            "span",
            {
              id: "agent-tool-count",
              "data-count": String(usable.length),
              title: usable.join(", ") || "none",
            },
            `${usable.length} ${usable.length === 1 ? "tool" : "tools"} you can use`,
          );
    // One line (the description is cut short, whole in the tooltip): the conversation keeps the height.
    this.agentInfo.title = agent.description;
    replaceChildren(this.agentInfo, count, count ? " · " : null, agent.description);
  }
}
