import type { ServiceImpl } from "@connectrpc/connect";
import type { ChatService, Message } from "#gen/supportext/chat/v1/chat_pb.js";
import { confirmToolCall, runTurn, type TurnDeps } from "../turn.js";

type TurnMethods = Pick<ServiceImpl<typeof ChatService>, "sendMessage" | "streamMessage" | "confirmToolCall">;

/**
 * The turns of a thread (docs/chat.md, "A turn"): SendMessage answers with the turn's two messages,
 * StreamMessage and ConfirmToolCall stream its events as they come.
 */
export function turnMethods(deps: TurnDeps): TurnMethods {
  return {
    async sendMessage(req, ctx) {
      let userMessage: Message | undefined;
      let assistantMessage: Message | undefined;
      for await (const event of runTurn(deps, ctx, req.threadId, req.content)) {
        if (event.case === "userMessage") userMessage = event.value;
        if (event.case === "assistantMessage") assistantMessage = event.value;
      }
      return { userMessage, assistantMessage };
    },

    async *streamMessage(req, ctx) {
      for await (const event of runTurn(deps, ctx, req.threadId, req.content)) {
        yield { event } as const;
      }
    },

    async *confirmToolCall(req, ctx) {
      for await (const event of confirmToolCall(deps, ctx, req.threadId, req.confirmationId, req.confirmed)) {
        yield { event } as const;
      }
    },
  };
}
