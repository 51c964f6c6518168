import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatService } from "#gen/supportext/chat/v1/chat_pb.js";
import { type AgentTestStack, startAgentTestStack } from "../../testing/agent-test-stack.js";

/**
 * Limits per user over the whole real stack (docs/chat.md, "Limits per user"), configured as an
 * operator would (CHAT_USER_TURNS_PER_MINUTE, CHAT_USER_THREADS_PER_MINUTE): the user over a limit
 * gets `resource_exhausted` with `retry-after`, on the unary and the streaming call alike, and
 * nothing is stored for it; a repeat of a turn already made is still answered; other users go on;
 * chat logs who reached which limit, never what they sent.
 */
let stack: AgentTestStack;
let chat: ReturnType<typeof createClient<typeof ChatService>>;
const call = (token: string, requestId?: string) => ({
  headers: { authorization: `Bearer ${token}`, ...(requestId ? { "x-request-id": requestId } : {}) },
});
const failure = async (p: Promise<unknown>) =>
  ConnectError.from(
    await p.then(
      () => new Error("expected a refusal"),
      (e: unknown) => e,
    ),
  );

beforeAll(async () => {
  stack = await startAgentTestStack({
    LOG_LEVEL: "info",
    CHAT_USER_TURNS_PER_MINUTE: "2",
    CHAT_USER_THREADS_PER_MINUTE: "2",
  });
  chat = createClient(ChatService, createGrpcTransport({ baseUrl: stack.base.chat.url }));
}, 180_000);
afterAll(async () => {
  await stack?.close();
});

describe("limits per user at chat", () => {
  it("the turn over the limit is refused with its wait, on SendMessage and StreamMessage; a repeat is answered", async () => {
    const admin = await stack.base.login("admin@company.com", stack.base.passwords.admin);
    const { thread } = await chat.createThread({ agentId: "support-assistant" }, call(admin.accessToken));
    const threadId = thread?.id ?? "";
    const first = await chat.sendMessage(
      { threadId, content: "show me open tickets" },
      call(admin.accessToken, "limits-turn-1"),
    );
    await chat.sendMessage(
      { threadId, content: "show me ticket 1" },
      call(admin.accessToken, "limits-turn-2"),
    );

    const refused = await failure(
      chat.sendMessage(
        { threadId, content: "secret plan: list them again" },
        call(admin.accessToken, "limits-turn-3"),
      ),
    );
    expect(refused.code).toBe(Code.ResourceExhausted);
    expect(refused.rawMessage).toMatch(/^too many messages: at most 2 a minute; try again in \d+ s$/);
    const wait = Number(refused.metadata.get("retry-after"));
    expect(wait).toBeGreaterThanOrEqual(1);
    expect(wait).toBeLessThanOrEqual(60);

    const streamed = await failure(
      (async () => {
        for await (const _ of chat.streamMessage(
          { threadId, content: "and once more" },
          call(admin.accessToken, "limits-turn-4"),
        )) {
          // A refused turn sends nothing before its error.
          throw new Error("the refused turn streamed an event");
        }
      })(),
    );
    expect(streamed.code).toBe(Code.ResourceExhausted);

    // Nothing of the refused turns was stored: the thread holds the two turns.
    const { messages } = await chat.listMessages({ threadId }, call(admin.accessToken));
    expect(
      messages.map((m) => m.content).filter((c) => c.includes("again") || c.includes("once more")),
    ).toEqual([]);
    expect(messages).toHaveLength(4);

    // The client's retry of the first turn is that turn, answered from storage: not a new turn.
    const repeat = await chat.sendMessage(
      { threadId, content: "show me open tickets" },
      call(admin.accessToken, "limits-turn-1"),
    );
    expect(repeat.assistantMessage?.id).toBe(first.assistantMessage?.id);
    expect(repeat.assistantMessage?.content).toBe(first.assistantMessage?.content);

    // Another user is not held back by this one.
    const agent = await stack.base.login("agent@company.com", stack.base.passwords.agent);
    const theirs = await chat.createThread({ agentId: "support-assistant" }, call(agent.accessToken));
    const answered = await chat.sendMessage(
      { threadId: theirs.thread?.id ?? "", content: "show me open tickets" },
      call(agent.accessToken),
    );
    expect(answered.assistantMessage?.content).toContain("ticket");

    // Chat says who reached which limit, never what they sent.
    const lines = stack.base.logs.chat.records().filter((r) => r.msg === "user limit reached");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      user_id: admin.userId,
      limit: "turns_per_minute",
      allowed: 2,
      level: "warn",
    });
    expect(JSON.stringify(lines)).not.toContain("secret plan");
  });

  it("the thread over the limit is refused and not listed; the user's other calls go on", async () => {
    const viewer = await stack.base.login("viewer@company.com", stack.base.passwords.viewer);
    const made = [];
    for (const title of ["one", "two"]) {
      made.push(await chat.createThread({ agentId: "ticket-reader", title }, call(viewer.accessToken)));
    }
    const refused = await failure(
      chat.createThread({ agentId: "ticket-reader", title: "three" }, call(viewer.accessToken)),
    );
    expect(refused.code).toBe(Code.ResourceExhausted);
    expect(refused.rawMessage).toMatch(/^too many new threads: at most 2 a minute; try again in \d+ s$/);
    expect(Number(refused.metadata.get("retry-after"))).toBeGreaterThanOrEqual(1);
    // Refused before the agent registry is asked: an agent that does not exist is never looked up.
    const early = await failure(
      chat.createThread({ agentId: "no-such-agent", title: "four" }, call(viewer.accessToken)),
    );
    expect(early.code).toBe(Code.ResourceExhausted);
    expect(early.rawMessage).toMatch(/^too many new threads: at most 2 a minute; try again in \d+ s$/);
    const { threads } = await chat.listThreads({}, call(viewer.accessToken));
    expect(threads.map((t) => t.title).sort()).toEqual(["one", "two"]);
    // Limits bound what is started, not what is read or said on a thread the user has.
    const answered = await chat.sendMessage(
      { threadId: made[0]?.thread?.id ?? "", content: "show me open tickets" },
      call(viewer.accessToken),
    );
    expect(answered.assistantMessage?.content).toContain("ticket");
  });
});
