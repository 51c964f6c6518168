import { randomUUID } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ToolCallStatus } from "#gen/supportext/agent/v1/agent_pb.js";
import {
  ChatService,
  type Confirmation,
  type Message,
  MessageStatus,
} from "#gen/supportext/chat/v1/chat_pb.js";
import { createModelProvider } from "#kit/service/index.js";
import { type AgentTestStack, startAgentTestStack } from "../../testing/agent-test-stack.js";

/**
 * Confirmation before destruction, end to end (docs/chat.md, "Confirmation before destruction"):
 * the real identity provider, chat, agent, gateway and MCP server on loopback, called as the
 * extension calls chat. "delete ticket N" stops at the MCP server's question; nothing changes until
 * the thread's user answers with ConfirmToolCall; a yes deletes exactly once and the audit row
 * names who confirmed; a cancel deletes nothing; nobody else can answer; a repeat — of the answer
 * or of the message, after a crash or not — never deletes twice. With the embedded planner and
 * with an OpenAI-compatible model, at both revisions of the gateway ↔ MCP server hop.
 */
const bearer = (token: string, requestId?: string) => ({
  headers: { authorization: `Bearer ${token}`, ...(requestId ? { "x-request-id": requestId } : {}) },
});

interface Streamed {
  readonly cases: string[];
  readonly confirmation?: Confirmation;
  readonly assistant?: Message;
  readonly toolStatuses: ToolCallStatus[];
}

async function collect(
  stream: AsyncIterable<{ event: { case: string | undefined; value?: unknown } }>,
): Promise<Streamed> {
  const cases: string[] = [];
  const toolStatuses: ToolCallStatus[] = [];
  let confirmation: Confirmation | undefined;
  let assistant: Message | undefined;
  for await (const res of stream) {
    const e = res.event;
    if (!e.case) continue;
    cases.push(e.case);
    if (e.case === "confirmationRequired") confirmation = e.value as Confirmation;
    if (e.case === "assistantMessage") assistant = e.value as Message;
    if (e.case === "runEvent") {
      const run = e.value as { event: { case: string; value: { toolCall?: { status: ToolCallStatus } } } };
      if (run.event.case === "toolCallFinished" && run.event.value.toolCall) {
        toolStatuses.push(run.event.value.toolCall.status);
      }
    }
  }
  return {
    cases,
    toolStatuses,
    ...(confirmation ? { confirmation } : {}),
    ...(assistant ? { assistant } : {}),
  };
}

const codeOf = async (p: Promise<unknown>) =>
  ConnectError.from(
    await p.then(
      () => undefined,
      (e: unknown) => e,
    ),
  ).code;

/**
 * A loopback chat-completions server acting as a real model would: it calls delete_ticket with an
 * id of its own choosing (random, as real providers' are), then words its answer from the result.
 */
async function startFakeModel(): Promise<{ url: string; requests: number; close(): Promise<void> }> {
  const state = { requests: 0 };
  const server = http.createServer((req, res) => {
    let data = "";
    req.on("data", (c: Buffer) => {
      data += c.toString();
    });
    req.on("end", () => {
      state.requests++;
      const body = JSON.parse(data) as { messages: { role: string; content: string | null }[] };
      const user = [...body.messages].reverse().find((m) => m.role === "user")?.content ?? "";
      const tool = [...body.messages].reverse().find((m) => m.role === "tool")?.content;
      const id = /\d+/.exec(user)?.[0] ?? "0";
      const message = tool
        ? {
            role: "assistant",
            content: tool.includes('"cancelled"') ? `I left ticket ${id} alone.` : `Ticket ${id} is gone.`,
          }
        : {
            role: "assistant",
            content: null,
            tool_calls: [
              {
                id: `call_${randomUUID().slice(0, 8)}`,
                type: "function",
                function: { name: "delete_ticket", arguments: JSON.stringify({ ticket_id: Number(id) }) },
              },
            ],
          };
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          id: "x",
          object: "chat.completion",
          model: "fake-model",
          choices: [{ index: 0, message, finish_reason: tool ? "stop" : "tool_calls" }],
          usage: { prompt_tokens: 10, completion_tokens: 4, total_tokens: 14 },
        }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    get requests() {
      return state.requests;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe.each([["2026-07-28"], ["2025-11-25"]])("confirmation before destruction, MCP %s", (revision) => {
  let stack: AgentTestStack;
  let chat: ReturnType<typeof createClient<typeof ChatService>>;
  let admin: { accessToken: string; userId: string };

  beforeAll(async () => {
    stack = await startAgentTestStack({ LOG_LEVEL: "info", MCP_PROTOCOL_VERSION: revision });
    chat = createClient(ChatService, createGrpcTransport({ baseUrl: stack.base.chat.url }));
    admin = await stack.base.login("admin@company.com", stack.base.passwords.admin);
  }, 90_000);
  afterAll(async () => {
    await stack?.close();
  });

  const newTicket = async (title: string): Promise<number> => {
    const res = await stack.base
      .gatewayClient()
      .callTool(
        { name: "create_ticket", argumentsJson: JSON.stringify({ title }) },
        bearer(admin.accessToken),
      );
    return (JSON.parse(res.structuredContentJson) as { ticket: { id: number } }).ticket.id;
  };
  const newThread = async (token = admin.accessToken) =>
    (await chat.createThread({ agentId: "support-assistant" }, bearer(token))).thread?.id ?? "";
  const deletedAt = async (id: number) =>
    (
      await stack.base.mcpDb.query<{ d: Date | null }>("SELECT deleted_at AS d FROM tickets WHERE id = $1", [
        id,
      ])
    ).rows[0]?.d ?? null;
  const auditOf = async (id: number) =>
    (
      await stack.base.mcpDb.query<{
        user_id: string;
        outcome: string;
        error_code: string | null;
        confirmed_by: string | null;
        confirmed_at: Date | null;
      }>(
        `SELECT user_id, outcome, error_code, confirmed_by, confirmed_at FROM audit_log
          WHERE tool = 'delete_ticket' AND arguments->>'ticket_id' = $1 ORDER BY seq`,
        [String(id)],
      )
    ).rows;
  const chainIntact = async () => {
    const { verifyAuditChain } = await import("#services/mcp-server/audit/verify-chain.js");
    return (await verifyAuditChain(stack.base.mcpDb)).problems;
  };

  it("the planner's delete asks first; Confirm deletes once, and the audit row names who confirmed", async () => {
    const id = await newTicket("Printer on fire (duplicate)");
    const threadId = await newThread();
    const requestId = `req-${randomUUID()}`;
    const asked = await collect(
      chat.streamMessage(
        { threadId, content: `delete ticket ${id} because duplicate` },
        bearer(admin.accessToken, requestId),
      ),
    );
    expect(asked.cases).toEqual([
      "userMessage",
      "runEvent",
      "confirmationRequired",
      "runEvent",
      "runEvent",
      "assistantMessage",
    ]);
    expect(asked.confirmation).toMatchObject({
      toolName: "delete_ticket",
      action: `Delete ticket #${id}`,
      argumentsSummary: `ticket_id: ${id}, reason: "duplicate"`,
    });
    expect(asked.confirmation?.question).toMatch(
      new RegExp(`^Delete ticket #${id} "Printer on fire \\(duplicate\\)" \\(reason: duplicate\\)\\?`),
    );
    expect(asked.assistant?.status).toBe(MessageStatus.AWAITING_CONFIRMATION);
    expect(asked.assistant?.confirmation?.confirmationId).toBe(asked.confirmation?.confirmationId);
    expect(asked.assistant?.toolCalls.map((c) => c.status)).toEqual([ToolCallStatus.AWAITING_CONFIRMATION]);
    // Nothing changed, nothing audited: a question decides nothing.
    expect(await deletedAt(id)).toBeNull();
    expect(await auditOf(id)).toEqual([]);
    // The thread shows the question after a reload.
    const { messages } = await chat.listMessages({ threadId }, bearer(admin.accessToken));
    expect(messages.at(-1)?.confirmation?.question).toBe(asked.confirmation?.question);
    // Sending the same message again (same x-request-id) asks the same question; nothing runs.
    const repeated = await collect(
      chat.streamMessage(
        { threadId, content: `delete ticket ${id} because duplicate` },
        bearer(admin.accessToken, requestId),
      ),
    );
    expect(repeated.confirmation?.confirmationId).toBe(asked.confirmation?.confirmationId);
    expect(await deletedAt(id)).toBeNull();

    const confirmationId = asked.confirmation?.confirmationId ?? "";
    const before = Date.now();
    const done = await collect(
      chat.confirmToolCall({ threadId, confirmationId, confirmed: true }, bearer(admin.accessToken)),
    );
    expect(done.toolStatuses).toEqual([ToolCallStatus.SUCCEEDED]);
    expect(done.assistant).toMatchObject({
      status: MessageStatus.COMPLETE,
      content: `Ticket #${id} deleted.`,
    });
    expect(await deletedAt(id)).not.toBeNull();
    const rows = await auditOf(id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ user_id: admin.userId, outcome: "ok", confirmed_by: admin.userId });
    expect(rows[0]?.confirmed_at?.getTime()).toBeGreaterThanOrEqual(before - 1000);

    // The same answer again, and the same message again: answered from storage, nothing more.
    const again = await collect(
      chat.confirmToolCall({ threadId, confirmationId, confirmed: true }, bearer(admin.accessToken)),
    );
    expect(again.cases).toEqual(["assistantMessage"]);
    expect(again.assistant?.content).toBe(`Ticket #${id} deleted.`);
    const message = await collect(
      chat.streamMessage(
        { threadId, content: `delete ticket ${id} because duplicate` },
        bearer(admin.accessToken, requestId),
      ),
    );
    expect(message.assistant?.content).toBe(`Ticket #${id} deleted.`);
    // The other answer to a question already answered is refused.
    expect(
      await codeOf(
        collect(
          chat.confirmToolCall({ threadId, confirmationId, confirmed: false }, bearer(admin.accessToken)),
        ),
      ),
    ).toBe(Code.FailedPrecondition);
    expect(await auditOf(id)).toHaveLength(1);
    expect(await chainIntact()).toEqual([]);
  });

  it("Cancel deletes nothing: the answer says it was cancelled by the user, and the refusal is audited", async () => {
    const id = await newTicket("keep me");
    const threadId = await newThread();
    const asked = await collect(
      chat.streamMessage({ threadId, content: `delete #${id}` }, bearer(admin.accessToken)),
    );
    const done = await collect(
      chat.confirmToolCall(
        { threadId, confirmationId: asked.confirmation?.confirmationId ?? "", confirmed: false },
        bearer(admin.accessToken),
      ),
    );
    expect(done.toolStatuses).toEqual([ToolCallStatus.FAILED]);
    expect(done.assistant?.status).toBe(MessageStatus.COMPLETE);
    expect(done.assistant?.content).toBe("delete_ticket was cancelled by the user: nothing was changed.");
    expect(done.assistant?.toolCalls[0]).toMatchObject({
      errorCode: "cancelled",
      errorMessage: "cancelled by the user",
    });
    expect(await deletedAt(id)).toBeNull();
    expect(await auditOf(id)).toEqual([
      expect.objectContaining({ outcome: "refused", error_code: "cancelled_by_user", confirmed_by: null }),
    ]);
  });

  it.runIf(revision === "2026-07-28")(
    "another user cannot answer someone else's confirmation: not_found, and nothing changes",
    async () => {
      const id = await newTicket("not theirs");
      const threadId = await newThread();
      const asked = await collect(
        chat.streamMessage({ threadId, content: `delete ticket ${id}` }, bearer(admin.accessToken)),
      );
      const confirmationId = asked.confirmation?.confirmationId ?? "";
      // Another administrator: allowed to delete tickets, but this question is not theirs.
      const [email] = await stack.addUsers("second-admin", 1, "admin", "second-admin-password");
      const other = await stack.base.login(email as string, "second-admin-password");
      expect(
        await codeOf(
          collect(
            chat.confirmToolCall({ threadId, confirmationId, confirmed: true }, bearer(other.accessToken)),
          ),
        ),
      ).toBe(Code.NotFound);
      const ownThread = await newThread(other.accessToken);
      expect(
        await codeOf(
          collect(
            chat.confirmToolCall(
              { threadId: ownThread, confirmationId, confirmed: true },
              bearer(other.accessToken),
            ),
          ),
        ),
      ).toBe(Code.NotFound);
      expect(
        await codeOf(collect(chat.confirmToolCall({ threadId, confirmationId, confirmed: true }, {}))),
      ).toBe(Code.Unauthenticated);
      expect(await deletedAt(id)).toBeNull();
      // Still the owner's to answer.
      await collect(
        chat.confirmToolCall({ threadId, confirmationId, confirmed: true }, bearer(admin.accessToken)),
      );
      expect(await deletedAt(id)).not.toBeNull();
      expect((await auditOf(id)).map((r) => r.confirmed_by)).toEqual([admin.userId]);
    },
  );

  it.runIf(revision === "2026-07-28")(
    "a crash after the yes: the resumed turn (repeat of the answer, or of the message) deletes once",
    async () => {
      const id = await newTicket("crash in the middle");
      const threadId = await newThread();
      const requestId = `req-${randomUUID()}`;
      const content = `delete ticket ${id}`;
      const asked = await collect(
        chat.streamMessage({ threadId, content }, bearer(admin.accessToken, requestId)),
      );
      const confirmationId = asked.confirmation?.confirmationId ?? "";
      await collect(
        chat.confirmToolCall({ threadId, confirmationId, confirmed: true }, bearer(admin.accessToken)),
      );
      expect(await deletedAt(id)).not.toBeNull();
      // What a chat process dying before it saved the result leaves, once another one swept it.
      const crashed = async () => {
        await stack.base.chat.database.query(
          `UPDATE turns SET finished_at = NULL, interrupted_at = now()
            WHERE message_id = (SELECT message_id FROM confirmations WHERE id = $1)`,
          [confirmationId],
        );
        await stack.base.chat.database.query(
          `UPDATE messages SET status = 'interrupted'
            WHERE id = (SELECT message_id FROM confirmations WHERE id = $1)`,
          [confirmationId],
        );
      };
      await crashed();
      const viaAnswer = await collect(
        chat.confirmToolCall({ threadId, confirmationId, confirmed: true }, bearer(admin.accessToken)),
      );
      expect(viaAnswer.cases[0]).toBe("turnResumed");
      expect(viaAnswer.assistant).toMatchObject({
        status: MessageStatus.COMPLETE,
        content: `Ticket #${id} deleted.`,
      });
      await crashed();
      const viaMessage = await collect(
        chat.streamMessage({ threadId, content }, bearer(admin.accessToken, requestId)),
      );
      expect(viaMessage.cases).toContain("turnResumed");
      expect(viaMessage.confirmation).toBeUndefined();
      expect(viaMessage.assistant).toMatchObject({
        status: MessageStatus.COMPLETE,
        content: `Ticket #${id} deleted.`,
      });
      // One deletion; each repeat was answered with its first result (the idempotency key).
      expect(await auditOf(id)).toEqual([
        expect.objectContaining({ outcome: "ok", error_code: null, confirmed_by: admin.userId }),
        expect.objectContaining({ outcome: "ok", error_code: "replayed" }),
        expect.objectContaining({ outcome: "ok", error_code: "replayed" }),
      ]);
    },
  );

  it("a real model (OpenAI-compatible provider) goes through the same question", async () => {
    const fake = await startFakeModel();
    stack.useModel(
      createModelProvider({
        LLM_BASE_URL: fake.url,
        LLM_MODEL: "fake-model",
        LLM_API_KEY: undefined,
        LLM_TIMEOUT: 5,
      }),
    );
    try {
      const id = await newTicket("real model");
      const kept = await newTicket("real model keeps");
      const threadId = await newThread();
      const asked = await collect(
        chat.streamMessage({ threadId, content: `please delete ticket ${id}` }, bearer(admin.accessToken)),
      );
      expect(asked.confirmation?.question).toMatch(new RegExp(`^Delete ticket #${id} "real model"\\?`));
      const requestsAtQuestion = fake.requests;
      expect(await deletedAt(id)).toBeNull();
      const done = await collect(
        chat.confirmToolCall(
          { threadId, confirmationId: asked.confirmation?.confirmationId ?? "", confirmed: true },
          bearer(admin.accessToken),
        ),
      );
      expect(done.assistant?.content).toBe(`Ticket ${id} is gone.`);
      // The model was not asked again what to do: one more request, for its answer.
      expect(fake.requests).toBe(requestsAtQuestion + 1);
      expect(await deletedAt(id)).not.toBeNull();
      expect((await auditOf(id)).map((r) => r.confirmed_by)).toEqual([admin.userId]);

      const thread2 = await newThread();
      const second = await collect(
        chat.streamMessage(
          { threadId: thread2, content: `delete ticket ${kept}` },
          bearer(admin.accessToken),
        ),
      );
      const cancelled = await collect(
        chat.confirmToolCall(
          { threadId: thread2, confirmationId: second.confirmation?.confirmationId ?? "", confirmed: false },
          bearer(admin.accessToken),
        ),
      );
      expect(cancelled.assistant?.content).toBe(`I left ticket ${kept} alone.`);
      expect(await deletedAt(kept)).toBeNull();
    } finally {
      stack.useModel(undefined);
      await fake.close();
    }
  });
});
