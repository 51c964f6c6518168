import { randomUUID } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunEvent, ToolCallStatus } from "#gen/supportext/agent/v1/agent_pb.js";
import { ChatService, MessageStatus } from "#gen/supportext/chat/v1/chat_pb.js";
import { createOpenAiCompatibleProvider } from "#kit/model/index.js";
import {
  type ChatStreamServer,
  chunk,
  sse,
  startChatStreamServer,
  startEventStream,
} from "#kit/model/testing/chat-stream-server.js";
import { type AgentTestStack, startAgentTestStack } from "../../testing/agent-test-stack.js";

/**
 * Exactly-once writes with a hosted model (docs/chat.md, "A turn"): a model served over real HTTP
 * in the OpenAI chat-completions wire format (a hosted one cannot run here) that chooses a new
 * random id for every tool call, as providers do — so asking it again from the start would mean
 * new idempotency keys. A repeat of a turn whose caller went away after the write must still write
 * once: the turn goes on from the calls it made. (Copies of one message opened at once: one turn,
 * `turn-store.test.ts`.) The whole chain is real: identity, chat, agent, gateway, MCP server.
 */
const bearer = (token: string, requestId: string) => ({
  headers: { authorization: `Bearer ${token}`, "x-request-id": requestId },
});

let stack: AgentTestStack;
let model: ChatStreamServer;
let chat: ReturnType<typeof createClient<typeof ChatService>>;
let admin: { accessToken: string; userId: string };
/** Held answers: the model's second request (after the tool result) waits here while set. */
let hold: Promise<void> | undefined;
let requests = 0;

beforeAll(async () => {
  stack = await startAgentTestStack({ LOG_LEVEL: "warn" });
  model = await startChatStreamServer();
  model.respond = async (body, res) => {
    requests++;
    const messages = body.messages as { role: string; content: string | null }[];
    const user = [...messages].reverse().find((m) => m.role === "user")?.content ?? "";
    const title = /create a ticket: (.+)$/.exec(user)?.[1] ?? "untitled";
    // "delete ticket N, then create a ticket: …" is two steps, one tool call each, in that order.
    const deleting = /^delete ticket (\d+)/.exec(user)?.[1];
    const steps = [
      ...(deleting ? [{ name: "delete_ticket", arguments: { ticket_id: Number(deleting) } }] : []),
      { name: "create_ticket", arguments: { title } },
    ];
    const results = messages
      .slice(messages.findLastIndex((m) => m.role === "user"))
      .filter((m) => m.role === "tool");
    const step = steps[results.length];
    startEventStream(res);
    if (step) {
      const call = {
        index: 0,
        id: `call_${randomUUID().slice(0, 8)}`,
        type: "function",
        function: { name: step.name, arguments: JSON.stringify(step.arguments) },
      };
      res.end(
        sse(chunk({ tool_calls: [call] })) + sse(chunk({}, { finish_reason: "tool_calls" })) + sse("[DONE]"),
      );
      return;
    }
    await hold;
    res.end(
      sse(chunk({ content: `Created "${title}".` })) +
        sse(chunk({}, { finish_reason: "stop" })) +
        sse("[DONE]"),
    );
  };
  stack.useModel(
    createOpenAiCompatibleProvider({ baseUrl: model.baseUrl, model: "hosted", timeoutMs: 20_000 }),
  );
  chat = createClient(ChatService, createGrpcTransport({ baseUrl: stack.base.chat.url }));
  admin = await stack.base.login("admin@company.com", stack.base.passwords.admin);
}, 90_000);

afterAll(async () => {
  stack?.useModel(undefined);
  await stack?.close();
  await model?.close();
});

const newThread = async () =>
  (await chat.createThread({ agentId: "support-assistant" }, bearer(admin.accessToken, randomUUID()))).thread
    ?.id ?? "";
const ticketsTitled = async (title: string) =>
  (
    await stack.base.mcpDb.query<{ id: number }>("SELECT id FROM tickets WHERE title = $1 ORDER BY id", [
      title,
    ])
  ).rows.map((r) => r.id);

/** A streamed chat call's event, as StreamMessage and ConfirmToolCall both stream them. */
type Streamed = { readonly event: { readonly case?: string | undefined; readonly value?: unknown } };

/**
 * Streams what `open` starts with the model's answer held back, and goes away (aborts the call) at
 * the first run event `leaveAt` picks: a caller gone past a write, the turn not finished. Returns
 * the run events seen.
 */
async function goAwayDuring(
  open: (signal: AbortSignal) => AsyncIterable<Streamed>,
  leaveAt: (run: RunEvent["event"]) => boolean,
): Promise<string[]> {
  let release = () => {};
  hold = new Promise<void>((r) => {
    release = r;
  });
  const gone = new AbortController();
  const seen: string[] = [];
  try {
    for await (const res of open(gone.signal)) {
      if (res.event.case !== "runEvent") continue;
      const run = (res.event.value as RunEvent).event;
      if (run.case) seen.push(run.case);
      if (leaveAt(run)) gone.abort();
    }
  } catch {
    // The cancelled call.
  } finally {
    release();
    hold = undefined;
  }
  return seen;
}

/** The turn is closed as its caller left it: its message PARTIAL, with what was done recorded. */
const closedAsLeft = (threadId: string) =>
  expect
    .poll(
      async () =>
        (await chat.listMessages({ threadId }, bearer(admin.accessToken, randomUUID()))).messages.at(-1)
          ?.status,
      { timeout: 30_000 },
    )
    .toBe(MessageStatus.PARTIAL);

describe("a repeated message with a hosted model", { timeout: 120_000 }, () => {
  it("after the caller went away past the write, the repeat goes on from it: one ticket", async () => {
    const threadId = await newThread();
    const title = `VPN down ${randomUUID().slice(0, 6)}`;
    const content = `create a ticket: ${title}`;
    const requestId = randomUUID();
    const seen = await goAwayDuring(
      (signal) =>
        chat.streamMessage({ threadId, content }, { ...bearer(admin.accessToken, requestId), signal }),
      // The write is done and reported; the model's answer is still to come: the caller goes.
      (run) => run.case === "toolCallFinished",
    );
    expect(seen).toContain("toolCallFinished");
    expect(await ticketsTitled(title)).toHaveLength(1);
    await closedAsLeft(threadId);

    const requestsBefore = requests;
    const again = await chat.sendMessage({ threadId, content }, bearer(admin.accessToken, requestId));
    expect(again.assistantMessage?.content).toBe(`Created "${title}".`);
    expect(again.assistantMessage?.toolCalls.map((c) => [c.name, c.status])).toEqual([
      ["create_ticket", ToolCallStatus.SUCCEEDED],
    ]);
    // One model request: for the answer, with the write and its result before it.
    expect(requests - requestsBefore).toBe(1);
    expect(await ticketsTitled(title)).toHaveLength(1);
    const audit = await stack.base.mcpDb.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM audit_log WHERE tool = 'create_ticket' AND arguments->>'title' = $1 AND outcome = 'ok'",
      [title],
    );
    expect(audit.rows[0]?.n).toBe(1);
  });

  it("after a confirmed call, the caller gone past the next write: the answer's repeat goes on from it, one ticket", async () => {
    const doomed = (
      await stack.base.gatewayClient().callTool(
        {
          name: "create_ticket",
          argumentsJson: JSON.stringify({ title: `doomed ${randomUUID().slice(0, 6)}` }),
        },
        bearer(admin.accessToken, randomUUID()),
      )
    ).structuredContentJson;
    const doomedId = (JSON.parse(doomed) as { ticket: { id: number } }).ticket.id;
    const threadId = await newThread();
    const title = `after delete ${randomUUID().slice(0, 6)}`;
    const asked = await chat.sendMessage(
      { threadId, content: `delete ticket ${doomedId}, then create a ticket: ${title}` },
      bearer(admin.accessToken, randomUUID()),
    );
    const confirmationId = asked.assistantMessage?.confirmation?.confirmationId ?? "";
    expect(confirmationId).not.toBe("");
    await goAwayDuring(
      (signal) =>
        chat.confirmToolCall(
          { threadId, confirmationId, confirmed: true },
          { ...bearer(admin.accessToken, randomUUID()), signal },
        ),
      (run) => run.case === "toolCallFinished" && run.value.toolCall?.name === "create_ticket",
    );
    expect(await ticketsTitled(title)).toHaveLength(1);
    await closedAsLeft(threadId);

    const again = chat.confirmToolCall(
      { threadId, confirmationId, confirmed: true },
      bearer(admin.accessToken, randomUUID()),
    );
    let answer: string | undefined;
    let calls: [string, ToolCallStatus][] = [];
    for await (const res of again) {
      if (res.event.case === "assistantMessage") {
        answer = res.event.value.content;
        calls = res.event.value.toolCalls.map((c) => [c.name, c.status]);
      }
    }
    expect(answer).toBe(`Created "${title}".`);
    expect(calls).toEqual([
      ["delete_ticket", ToolCallStatus.SUCCEEDED],
      ["create_ticket", ToolCallStatus.SUCCEEDED],
    ]);
    expect(await ticketsTitled(title)).toHaveLength(1);
  });
});
