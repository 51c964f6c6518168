import { createContextValues, createHandlerContext } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatService } from "#gen/supportext/chat/v1/chat_pb.js";
import { SERVICE_IDS } from "#kit/auth/index.js";
import { kCredential, kPrincipal } from "#kit/propagation/index.js";
import { configuredClientCredentials } from "#kit/service/index.js";
import { createAgentClient } from "#services/chat/conversations/agent-client.js";
import { ThreadStore } from "#services/chat/conversations/thread-store.js";
import { runTurn, type TurnEvent } from "#services/chat/conversations/turn.js";
import { TurnStore } from "#services/chat/conversations/turn-store.js";
import { type AgentTestStack, startAgentTestStack } from "../../testing/agent-test-stack.js";

/**
 * The ending of a turn that no client can time from outside: the caller gone at the very first
 * write (the user message). Real parts — the chat database, the agent service, a verified
 * principal and its token — with the turn driven directly, its consumer stopping after one event
 * as connect-node does when the client has gone.
 */
let stack: AgentTestStack;

beforeAll(async () => {
  stack = await startAgentTestStack({ LOG_LEVEL: "info" });
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

describe("a turn whose caller is gone at the first write", () => {
  it("is still closed with an assistant message, so no user message is left unanswered", async () => {
    const admin = await stack.base.login("admin@company.com", stack.base.passwords.admin);
    const principal = await stack.base.identity.identity.auth.verifier.verify(admin.accessToken);
    const threads = new ThreadStore(stack.base.chat.database);
    const thread = await threads.create(principal.userId, "support-assistant", "");
    const ctx = createHandlerContext({
      service: ChatService,
      method: ChatService.method.streamMessage,
      protocolName: "connect",
      requestMethod: "POST",
      url: `${stack.base.chat.url}/supportext.chat.v1.ChatService/StreamMessage`,
      contextValues: createContextValues().set(kPrincipal, principal).set(kCredential, admin.accessToken),
    });
    const turn = runTurn(
      {
        threads,
        turns: new TurnStore(stack.base.chat.database),
        agents: createAgentClient(
          stack.agent.url,
          configuredClientCredentials(stack.base.config, SERVICE_IDS.chat),
        ),
        logger: stack.logs.logger,
      },
      ctx,
      thread.id,
      "hello",
    );
    const first = await turn.next();
    expect((first.value as TurnEvent).case).toBe("userMessage");
    ctx.abort(); // the client went away
    await turn.return(undefined);
    const saved = await threads.messages(thread.id, { limit: 10 });
    expect(saved.map((m) => m.role)).toEqual(["user", "assistant"]);
    expect(saved[1]).toMatchObject({ status: "failed", stop_reason: "STOP_REASON_CANCELLED" });
  });
});
