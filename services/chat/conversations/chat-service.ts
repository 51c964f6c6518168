import type { ConnectRouter } from "@connectrpc/connect";
import { ChatService } from "#gen/supportext/chat/v1/chat_pb.js";
import type { Logger } from "#kit/log/index.js";
import type { AgentClient } from "./agent-client.js";
import { agentMethods } from "./chat-service/agents.js";
import { threadMethods } from "./chat-service/threads.js";
import { turnMethods } from "./chat-service/turns.js";
import type { ThreadStore } from "./thread-store.js";
import type { RepeatWaiters } from "./turn/repeat-waiters.js";
import type { TurnStore } from "./turn-store.js";
import type { UserLimits } from "./user-limits.js";

export interface ChatServiceDeps {
  readonly threads: ThreadStore;
  readonly turns: TurnStore;
  readonly agents: AgentClient;
  readonly logger: Logger;
  /** What one user may start (docs/chat.md, "Limits per user"); none when absent. */
  readonly limits?: UserLimits;
  /** This process's waiting repeats per user (bounded with the limits); unbounded when absent. */
  readonly repeatWaiters?: RepeatWaiters;
}

/**
 * ChatService: what the extension talks to. Threads are the caller's own (another user's thread
 * is `not_found`, never `permission_denied`: its existence is not disclosed). Agents are listed
 * and checked on the agent service, as the caller.
 */
export function chatRoutes(deps: ChatServiceDeps): (router: ConnectRouter) => void {
  return (router) =>
    router.service(ChatService, {
      ...agentMethods(deps),
      ...threadMethods(deps),
      ...turnMethods(deps),
    });
}
