import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ToolCallStatus } from "#gen/supportext/agent/v1/agent_pb.js";
import { ChatService, MessageStatus } from "#gen/supportext/chat/v1/chat_pb.js";
import { type AgentTestStack, startAgentTestStack } from "../../testing/agent-test-stack.js";

/**
 * One party's failures never lock another out (docs/identity.md, "Throttling"), over the whole chain: 20 failed client authentications at the token
 * endpoint from the gateway's own address (loopback here) must not lock the real gateway out —
 * three fresh users' first chat turns, each needing a new token exchange, all succeed.
 */
let stack: AgentTestStack;

beforeAll(async () => {
  stack = await startAgentTestStack({ LOG_LEVEL: "warn" });
}, 120_000);
afterAll(async () => {
  await stack?.close();
});

describe("failed client authentications by another party", () => {
  it("never make the gateway's correct credentials fail: 3 fresh users' first turns succeed", async () => {
    const tokenUrl = stack.base.config.AUTH_TOKEN_URL;
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await fetch(tokenUrl, {
        method: "POST",
        headers: {
          authorization: `Basic ${Buffer.from(`mcp-gateway:wrong-guess-${i}`).toString("base64")}`,
          "content-type": "application/x-www-form-urlencoded",
        },
        body: new URLSearchParams({ grant_type: "client_credentials", audience: "identity" }),
      });
      statuses.push(res.status);
    }
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
    // The next wrong guess from this address is past the limit.
    const over = await fetch(tokenUrl, {
      method: "POST",
      headers: {
        authorization: `Basic ${Buffer.from("mcp-gateway:one-more").toString("base64")}`,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams({ grant_type: "client_credentials", audience: "identity" }),
    });
    expect(over.status).toBe(429);

    const password = "fresh-user-password";
    const emails = await stack.addUsers("fresh", 3, "support_agent", password);
    const chat = createClient(ChatService, createGrpcTransport({ baseUrl: stack.base.chat.url }));
    const turns = await Promise.all(
      emails.map(async (email) => {
        const login = await stack.base.login(email, password);
        const headers = { authorization: `Bearer ${login.accessToken}` };
        const { thread } = await chat.createThread({ agentId: "support-assistant" }, { headers });
        const res = await chat.sendMessage(
          { threadId: thread?.id ?? "", content: `create a ticket: ${email} cannot print` },
          { headers },
        );
        return res.assistantMessage;
      }),
    );
    for (const message of turns) {
      expect(message?.status).toBe(MessageStatus.COMPLETE);
      expect(message?.toolCalls.find((c) => c.name === "create_ticket")?.status).toBe(
        ToolCallStatus.SUCCEEDED,
      );
    }
  });
});
