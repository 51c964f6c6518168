import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ToolCallStatus } from "#gen/supportext/agent/v1/agent_pb.js";
import { ChatService, MessageStatus } from "#gen/supportext/chat/v1/chat_pb.js";
import { type AgentTestStack, startAgentTestStack } from "../../testing/agent-test-stack.js";

/**
 * AUTH_DEV_ANONYMOUS=1 through the whole real stack (identity provider, agent, gateway, MCP
 * server): a caller without any token chats as the read-only development principal, and the MCP
 * server still sees — and audits — a verified chain naming the agent.
 */
let stack: AgentTestStack;
let chat: ReturnType<typeof createClient<typeof ChatService>>;

beforeAll(async () => {
  stack = await startAgentTestStack({ AUTH_DEV_ANONYMOUS: "1", LOG_LEVEL: "info" });
  chat = createClient(ChatService, createGrpcTransport({ baseUrl: stack.base.chat.url }));
});
afterAll(async () => {
  await stack?.close();
});

describe("the development principal end to end (AUTH_DEV_ANONYMOUS=1)", () => {
  it("a token-less chat turn runs read-only tools, audited as anonymous with its agent", async () => {
    const { thread } = await chat.createThread({ agentId: "ticket-reader" });
    const threadId = thread?.id ?? "";
    expect(threadId).not.toBe("");
    const mcpMark = stack.base.logs.mcp.lines.length;

    const res = await chat.sendMessage({ threadId, content: "list integrations" });
    const reply = res.assistantMessage;
    expect(reply?.status).toBe(MessageStatus.COMPLETE);
    const call = reply?.toolCalls.find((c) => c.name === "list_integrations");
    expect(call?.status).toBe(ToolCallStatus.SUCCEEDED);

    const { rows } = await stack.base.mcpDb.query<{
      user_id: string;
      tool: string;
      anonymous: boolean;
      actor_agent: string | null;
      outcome: string;
    }>(
      "SELECT user_id, tool, anonymous, actor_agent, outcome FROM audit_log WHERE user_id = 'dev-anonymous' ORDER BY id",
    );
    expect(rows).toEqual([
      {
        user_id: "dev-anonymous",
        tool: "list_integrations",
        anonymous: true,
        actor_agent: "ticket-reader",
        outcome: "ok",
      },
    ]);
    const authenticated = stack.base.logs.mcp
      .records()
      .slice(mcpMark)
      .filter((r) => String(r.msg).startsWith("MCP tool authenticated"));
    expect(authenticated.length).toBeGreaterThan(0);
    for (const line of authenticated)
      expect(line).toMatchObject({ user_id: "dev-anonymous", anonymous: true, agent: "ticket-reader" });

    const listed = await chat.listMessages({ threadId });
    expect(listed.messages).toHaveLength(2);
  });

  it("offers the development principal read tools only, whatever the agent could do", async () => {
    const { tools } = await stack.base.gatewayClient("grpc", "support-assistant").listTools({});
    expect(tools.map((t) => t.name).sort()).toEqual(
      [
        "get_active_integrations",
        "get_ticket",
        "get_ticket_stats",
        "list_integrations",
        "list_tickets",
        "search_tickets",
      ].sort(),
    );
    const { thread } = await chat.createThread({ agentId: "support-assistant" });
    const res = await chat.sendMessage({
      threadId: thread?.id ?? "",
      content: "create a ticket: printer on fire, high priority",
    });
    expect(
      res.assistantMessage?.toolCalls.filter(
        (c) => c.status === ToolCallStatus.SUCCEEDED && c.name === "create_ticket",
      ),
    ).toEqual([]);
    expect(
      (await stack.base.mcpDb.query<{ n: number }>("SELECT count(*)::int AS n FROM tickets")).rows[0]?.n,
    ).toBe(0);
    const { rows } = await stack.base.mcpDb.query<{ tool: string }>(
      "SELECT DISTINCT tool FROM audit_log WHERE user_id = 'dev-anonymous' AND outcome = 'ok'",
    );
    for (const { tool } of rows) expect(tool).toMatch(/^(get_|list_|search_)/);
  });
});
