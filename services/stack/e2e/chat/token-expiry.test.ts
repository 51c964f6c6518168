import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StopReason } from "#gen/supportext/agent/v1/agent_pb.js";
import { AuthService } from "#gen/supportext/auth/v1/auth_pb.js";
import { ChatService, MessageStatus } from "#gen/supportext/chat/v1/chat_pb.js";
import { type AgentTestStack, startAgentTestStack } from "../../testing/agent-test-stack.js";

/**
 * Brief §8: an access token that expires during a turn ends it with `unauthenticated` and a
 * message that says to refresh; the partial answer is kept. Real stack, 3 s tokens, no leeway;
 * the model (scripted) answers only after the token has expired, then asks for a tool.
 */
let stack: AgentTestStack;
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

beforeAll(async () => {
  stack = await startAgentTestStack({ ACCESS_TOKEN_TTL: "3s", CLOCK_TOLERANCE: "0s", LOG_LEVEL: "info" });
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

describe("a token that expires during a turn", () => {
  it("ends the turn with unauthenticated and a refresh hint, and keeps the partial answer", async () => {
    const chat = createClient(ChatService, createGrpcTransport({ baseUrl: stack.base.chat.url }));
    const admin = await stack.base.login("admin@company.com", stack.base.passwords.admin);
    const { thread } = await chat.createThread({ agentId: "support-assistant" }, bearer(admin.accessToken));
    const threadId = thread?.id ?? "";
    const expiresAtMs = (decodeJwt(admin.accessToken).exp ?? 0) * 1000;
    let turns = 0;
    stack.scriptModel(async () => {
      turns++;
      // Wait out the token, then ask for a tool: the gateway must refuse the now-expired caller.
      while (Date.now() <= expiresAtMs + 250) await new Promise((r) => setTimeout(r, 100));
      return {
        model: "scripted",
        content: "Let me look that up.",
        toolCalls: [{ id: "call-1", name: "list_tickets", arguments: "{}" }],
        finishReason: "tool_calls",
        usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 },
      };
    });
    let err: ConnectError | undefined;
    try {
      await chat.sendMessage({ threadId, content: "list tickets" }, bearer(admin.accessToken));
    } catch (e) {
      err = ConnectError.from(e);
    } finally {
      stack.scriptModel(undefined);
    }
    expect(turns).toBe(1);
    expect(err?.code).toBe(Code.Unauthenticated);
    expect(err?.rawMessage).toMatch(/refresh/);

    // The client refreshes with its expired access token still attached, as a client interceptor
    // that adds it to every call does: Refresh is public and takes an expired token as absent.
    const auth = createClient(AuthService, createGrpcTransport({ baseUrl: stack.base.identity.url }));
    expect(
      ConnectError.from(await auth.whoAmI({}, bearer(admin.accessToken)).catch((e: unknown) => e)).rawMessage,
    ).toMatch(/^expired: /);
    const refreshed = await auth.refresh({ refreshToken: admin.refreshToken }, bearer(admin.accessToken));
    const fresh = { accessToken: refreshed.tokens?.accessToken ?? "" };

    // With the fresh token the thread shows both messages; the assistant's is partial, not lost.
    const { messages } = await chat.listMessages({ threadId }, bearer(fresh.accessToken));
    expect(messages).toHaveLength(2);
    const partial = messages[1];
    expect(partial?.status).toBe(MessageStatus.PARTIAL);
    expect(partial?.stopReason).toBe(StopReason.ERROR);
    expect(partial?.content).toContain("Let me look that up.");
    // No tool ran as the expired caller: the MCP server saw no list_tickets call from them.
    const { rows } = await stack.base.mcpDb.query(
      "SELECT 1 FROM audit_log WHERE tool = 'list_tickets' AND user_id = $1",
      [admin.userId],
    );
    expect(rows).toHaveLength(0);
  }, 30_000);
});
