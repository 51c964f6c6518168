import type { ConnectRouter } from "@connectrpc/connect";
import { ChatService } from "#gen/supportext/chat/v1/chat_pb.js";
import { agentMethods } from "./chat-service/agents.js";
import { threadMethods } from "./chat-service/threads.js";
import { turnMethods } from "./chat-service/turns.js";
import type { TurnDeps } from "./turn/turn-events.js";

/** What every method needs: the turns' dependencies (turn-events.ts), limits per user included. */
export type ChatServiceDeps = TurnDeps;

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
