import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role, StopReason, ToolCallStatus } from "#gen/supportext/agent/v1/agent_pb.js";
import { ChatService, MessageStatus } from "#gen/supportext/chat/v1/chat_pb.js";
import { type AgentTestStack, startAgentTestStack } from "../../testing/agent-test-stack.js";

/**
 * ChatService over the whole real stack (identity provider, agent, gateway, MCP server on
 * loopback, embedded planner): threads belong to their user, a turn persists both messages, and
 * the user's identity reaches the MCP server through every hop.
 */
let stack: AgentTestStack;
let chat: ReturnType<typeof createClient<typeof ChatService>>;
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
const codeOf = async (p: Promise<unknown>) =>
  ConnectError.from(
    await p.then(
      () => undefined,
      (e: unknown) => e,
    ),
  ).code;

beforeAll(async () => {
  stack = await startAgentTestStack({ LOG_LEVEL: "info" });
  chat = createClient(ChatService, createGrpcTransport({ baseUrl: stack.base.chat.url }));
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

describe("ChatService", () => {
  it("lists the agents the extension can pick, as the caller", async () => {
    const { accessToken } = await stack.base.login("viewer@company.com", stack.base.passwords.viewer);
    const { agents } = await chat.listAgents({}, bearer(accessToken));
    expect(agents.map((a) => a.id).sort()).toEqual(["support-assistant", "ticket-reader"]);
    expect(await codeOf(chat.listAgents({}))).toBe(Code.Unauthenticated);
  });

  it("threads: created for a known agent, listed newest first in pages, invisible to other users", async () => {
    const admin = await stack.base.login("admin@company.com", stack.base.passwords.admin);
    const viewer = await stack.base.login("viewer@company.com", stack.base.passwords.viewer);
    expect(await codeOf(chat.createThread({ agentId: "no-such-agent" }, bearer(admin.accessToken)))).toBe(
      Code.NotFound,
    );
    expect(await codeOf(chat.createThread({ agentId: "bad id!" }, bearer(admin.accessToken)))).toBe(
      Code.InvalidArgument,
    );

    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { thread } = await chat.createThread(
        { agentId: "ticket-reader", title: `paging ${i}` },
        bearer(viewer.accessToken),
      );
      ids.push(thread?.id ?? "");
    }
    const seen: string[] = [];
    let pageToken = "";
    do {
      const page = await chat.listThreads(
        { pageSize: 2, pageToken, agentId: "ticket-reader" },
        bearer(viewer.accessToken),
      );
      expect(page.threads.length).toBeLessThanOrEqual(2);
      seen.push(...page.threads.map((t) => t.id));
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(seen).toEqual([...ids].reverse());
    expect(await codeOf(chat.listThreads({ pageToken: "Zm9yZ2Vk" }, bearer(viewer.accessToken)))).toBe(
      Code.InvalidArgument,
    );

    // Another user: every way in answers not_found, and their own list does not show it.
    const other = ids[0] ?? "";
    expect(await codeOf(chat.getThread({ threadId: other }, bearer(admin.accessToken)))).toBe(Code.NotFound);
    expect(await codeOf(chat.listMessages({ threadId: other }, bearer(admin.accessToken)))).toBe(
      Code.NotFound,
    );
    expect(
      await codeOf(chat.sendMessage({ threadId: other, content: "list tickets" }, bearer(admin.accessToken))),
    ).toBe(Code.NotFound);
    const adminThreads = await chat.listThreads({ pageSize: 100 }, bearer(admin.accessToken));
    expect(adminThreads.threads.map((t) => t.id)).not.toContain(other);
  });

  it("ListThreads pages exactly through microsecond timestamps and ties (one thread per page)", async () => {
    const [email] = await stack.addUsers("pager", 1, "viewer", "pager-password");
    const login = await stack.base.login(email ?? "", "pager-password");
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { thread } = await chat.createThread(
        { agentId: "ticket-reader", title: `t${i}` },
        bearer(login.accessToken),
      );
      ids.push(thread?.id ?? "");
    }
    // Same millisecond, different microseconds, and a three-way tie: a millisecond cursor would
    // repeat or skip rows; a cursor without the id would lose the tie.
    const at = ["00.123457", "00.123456", "00.123456", "00.123456", "00.123455"];
    for (const [i, id] of ids.entries()) {
      await stack.base.chat.database.query(`UPDATE threads SET updated_at = $2::timestamptz WHERE id = $1`, [
        id,
        `2024-01-01T00:00:${at[i]}Z`,
      ]);
    }
    const ties = [ids[1], ids[2], ids[3]].sort().reverse();
    const expected = [ids[0], ...ties, ids[4]];
    const seen: string[] = [];
    let pageToken = "";
    do {
      const page = await chat.listThreads({ pageSize: 1, pageToken }, bearer(login.accessToken));
      seen.push(...page.threads.map((t) => t.id));
      pageToken = page.nextPageToken;
    } while (pageToken && seen.length < 10);
    expect(seen).toEqual(expected);
  });

  it("rename and delete: a renamed thread keeps its place; a deleted one is gone with its messages; another user's is not_found", async () => {
    const [email, otherEmail] = await stack.addUsers("tidy", 2, "viewer", "tidy-password");
    const me = bearer((await stack.base.login(email ?? "", "tidy-password")).accessToken);
    const them = bearer((await stack.base.login(otherEmail ?? "", "tidy-password")).accessToken);
    const made = [];
    for (const title of ["first", "second"]) {
      made.push((await chat.createThread({ agentId: "ticket-reader", title }, me)).thread?.id ?? "");
    }
    const [first = "", second = ""] = made;
    await chat.sendMessage({ threadId: first, content: "show me ticket 1" }, me);

    const renamed = await chat.updateThread({ threadId: second, title: "  ticket 1 follow-up  " }, me);
    expect(renamed.thread?.title).toBe("ticket 1 follow-up");
    // The order is by last message: the rename does not move the thread up.
    const listed = await chat.listThreads({ agentId: "ticket-reader" }, me);
    expect(listed.threads.map((t) => [t.id, t.title])).toEqual([
      [first, "first"],
      [second, "ticket 1 follow-up"],
    ]);
    for (const [req, code] of [
      [{ threadId: second, title: "   " }, Code.InvalidArgument],
      [{ threadId: second, title: "x".repeat(201) }, Code.InvalidArgument],
      [{ threadId: "", title: "t" }, Code.InvalidArgument],
      [{ threadId: "no-such-thread", title: "t" }, Code.NotFound],
    ] as const) {
      expect(await codeOf(chat.updateThread(req, me)), JSON.stringify(req)).toBe(code);
    }
    expect(await codeOf(chat.updateThread({ threadId: first, title: "mine now" }, them))).toBe(Code.NotFound);
    expect(await codeOf(chat.deleteThread({ threadId: first }, them))).toBe(Code.NotFound);
    expect(await codeOf(chat.deleteThread({ threadId: "" }, me))).toBe(Code.InvalidArgument);
    expect(await codeOf(chat.deleteThread({ threadId: first }))).toBe(Code.Unauthenticated);

    await chat.deleteThread({ threadId: first }, me);
    expect(await codeOf(chat.getThread({ threadId: first }, me))).toBe(Code.NotFound);
    expect(await codeOf(chat.listMessages({ threadId: first }, me))).toBe(Code.NotFound);
    expect(await codeOf(chat.sendMessage({ threadId: first, content: "again" }, me))).toBe(Code.NotFound);
    expect(await codeOf(chat.deleteThread({ threadId: first }, me))).toBe(Code.NotFound);
    expect((await chat.listThreads({}, me)).threads.map((t) => t.id)).toEqual([second]);
    const stored = await stack.base.chat.database.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM messages WHERE thread_id = $1",
      [first],
    );
    expect(stored.rows[0]?.n).toBe(0);
    // What its turn did stays in the MCP server's audit: deleting a chat deletes no evidence.
    const audited = await stack.base.mcpDb.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM audit_log WHERE email = $1 AND tool = 'get_ticket'",
      [email],
    );
    expect(audited.rows[0]?.n).toBe(1);
  });

  it("a message and a delete of its thread at once: the turn runs and the delete is refused (failed_precondition), or the thread is gone first (not_found) — never another error", async () => {
    const [email] = await stack.addUsers("racer", 1, "viewer", "racer-password");
    const me = bearer((await stack.base.login(email ?? "", "racer-password")).accessToken);
    const outcomeOf = (p: Promise<unknown>) =>
      p.then(
        () => "ok",
        (e: unknown) => Code[ConnectError.from(e).code],
      );
    const outcomes = new Set<string>();
    for (let round = 0; round < 12; round++) {
      const threadId = (await chat.createThread({ agentId: "ticket-reader" }, me)).thread?.id ?? "";
      const [sent, deleted] = await Promise.all([
        outcomeOf(chat.sendMessage({ threadId, content: "show me ticket 1" }, me)),
        outcomeOf(chat.deleteThread({ threadId }, me)),
      ]);
      outcomes.add(`${sent}/${deleted}`);
      // The turn ran and the delete was refused, or the delete won and the message found no thread.
      expect([
        ["ok", "FailedPrecondition"],
        ["NotFound", "ok"],
      ]).toContainEqual([sent, deleted]);
    }
    console.log(`message / delete at once, 12 rounds: ${[...outcomes].join(", ")}`);
  });

  it("SendMessage runs a turn as the user: both messages persisted, the ticket and its audit row name the user", async () => {
    const agentUser = await stack.base.login("agent@company.com", stack.base.passwords.agent);
    const { thread } = await chat.createThread(
      { agentId: "support-assistant" },
      bearer(agentUser.accessToken),
    );
    const threadId = thread?.id ?? "";
    const res = await chat.sendMessage(
      { threadId, content: "create a ticket: printer on fire, high priority" },
      bearer(agentUser.accessToken),
    );
    expect(res.userMessage?.role).toBe(Role.USER);
    const reply = res.assistantMessage;
    expect(reply?.status).toBe(MessageStatus.COMPLETE);
    expect(reply?.stopReason).toBe(StopReason.COMPLETED);
    const call = reply?.toolCalls.find((c) => c.name === "create_ticket");
    expect(call?.status).toBe(ToolCallStatus.SUCCEEDED);
    const ticket = JSON.parse(call?.structuredResultJson ?? "{}").ticket as {
      id: number;
      created_by: string;
      priority: string;
    };
    expect(ticket.created_by).toBe(agentUser.userId);
    expect(ticket.priority).toBe("high");
    const { rows } = await stack.base.mcpDb.query<{ user_id: string; actor_agent: string | null }>(
      "SELECT user_id, actor_agent FROM audit_log WHERE tool = 'create_ticket' AND user_id = $1",
      [agentUser.userId],
    );
    expect(rows).toEqual([{ user_id: agentUser.userId, actor_agent: "support-assistant" }]);

    const listed = await chat.listMessages({ threadId }, bearer(agentUser.accessToken));
    expect(listed.messages.map((m) => [m.role, m.id])).toEqual([
      [Role.USER, res.userMessage?.id],
      [Role.ASSISTANT, reply?.id],
    ]);
    expect(listed.messages[1]?.toolCalls.map((c) => c.name)).toEqual(reply?.toolCalls.map((c) => c.name));
    const got = await chat.getThread({ threadId }, bearer(agentUser.accessToken));
    expect(got.thread?.messageCount).toBe(2);
    expect(got.thread?.title).toBe("create a ticket: printer on fire, high priority");
  });

  it("StreamMessage streams the same turn: user message first, agent events, the persisted assistant message last", async () => {
    const admin = await stack.base.login("admin@company.com", stack.base.passwords.admin);
    const { thread } = await chat.createThread({ agentId: "support-assistant" }, bearer(admin.accessToken));
    const threadId = thread?.id ?? "";
    const kinds: string[] = [];
    let streamedFinal = "";
    let assistantId = "";
    for await (const res of chat.streamMessage(
      { threadId, content: "ticket stats" },
      bearer(admin.accessToken),
    )) {
      const e = res.event;
      if (e.case === "runEvent") {
        kinds.push(e.value.event.case ?? "none");
        if (e.value.event.case === "finalMessage") streamedFinal = e.value.event.value.content;
      } else if (e.case) {
        kinds.push(e.case);
        if (e.case === "assistantMessage") assistantId = e.value.id;
      }
    }
    expect(kinds[0]).toBe("userMessage");
    expect(kinds.at(-1)).toBe("assistantMessage");
    expect(kinds.indexOf("toolCallStarted")).toBeLessThan(kinds.indexOf("toolCallFinished"));
    expect(kinds).toContain("finalMessage");
    const listed = await chat.listMessages({ threadId }, bearer(admin.accessToken));
    const saved = listed.messages.find((m) => m.id === assistantId);
    expect(saved?.content).toBe(streamedFinal);
    expect(saved?.toolCalls.map((c) => c.name)).toEqual(["get_ticket_stats"]);
  });

  it("gives the agent the thread's earlier messages as history", async () => {
    const admin = await stack.base.login("admin@company.com", stack.base.passwords.admin);
    const { thread } = await chat.createThread({ agentId: "ticket-reader" }, bearer(admin.accessToken));
    const threadId = thread?.id ?? "";
    await chat.sendMessage({ threadId, content: "list integrations" }, bearer(admin.accessToken));
    const seen: string[][] = [];
    stack.scriptModel(async (request) => {
      seen.push(request.messages.map((m) => `${m.role}:${m.content ?? ""}`));
      return {
        model: "scripted",
        content: "noted",
        toolCalls: [],
        finishReason: "stop",
        usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 },
      };
    });
    try {
      const res = await chat.sendMessage({ threadId, content: "thanks" }, bearer(admin.accessToken));
      expect(res.assistantMessage?.content).toBe("noted");
    } finally {
      stack.scriptModel(undefined);
    }
    const context = seen[0] ?? [];
    expect(context).toContain("user:list integrations");
    expect(context.some((m) => m.startsWith("assistant:"))).toBe(true);
    expect(context.at(-1)).toBe("user:thanks");
  });

  it("a long assistant answer (beyond what the agent takes as history) does not break the thread's next turns", async () => {
    const admin = await stack.base.login("admin@company.com", stack.base.passwords.admin);
    const { thread } = await chat.createThread({ agentId: "ticket-reader" }, bearer(admin.accessToken));
    const threadId = thread?.id ?? "";
    const long = "word ".repeat(4_000); // 20 000 characters; the agent refuses history messages over 16 000
    stack.scriptModel(async () => ({
      model: "scripted",
      content: long,
      toolCalls: [],
      finishReason: "stop",
      usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 },
    }));
    try {
      const first = await chat.sendMessage({ threadId, content: "write a lot" }, bearer(admin.accessToken));
      expect(first.assistantMessage?.content.length).toBe(long.length);
    } finally {
      stack.scriptModel(undefined);
    }
    const next = await chat.sendMessage(
      { threadId, content: "list integrations" },
      bearer(admin.accessToken),
    );
    expect(next.assistantMessage?.status).toBe(MessageStatus.COMPLETE);
    expect(next.assistantMessage?.toolCalls.map((c) => c.name)).toEqual(["list_integrations"]);
  });

  it("a caller who goes away mid-stream: the partial answer is kept as PARTIAL / CANCELLED", async () => {
    const admin = await stack.base.login("admin@company.com", stack.base.passwords.admin);
    const { thread } = await chat.createThread({ agentId: "support-assistant" }, bearer(admin.accessToken));
    const threadId = thread?.id ?? "";
    let release: () => void = () => undefined;
    const released = new Promise<void>((r) => {
      release = r;
    });
    let turns = 0;
    stack.scriptModel(async () => {
      turns++;
      // The second model turn is still "thinking" when the caller leaves.
      if (turns > 1) await Promise.race([released, new Promise((r) => setTimeout(r, 5_000))]);
      return {
        model: "scripted",
        content: turns === 1 ? "Looking" : "done",
        toolCalls: turns === 1 ? [{ id: "c1", name: "list_tickets", arguments: "{}" }] : [],
        finishReason: turns === 1 ? "tool_calls" : "stop",
        usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 },
      };
    });
    const caller = new AbortController();
    try {
      for await (const res of chat.streamMessage(
        { threadId, content: "list tickets" },
        { ...bearer(admin.accessToken), signal: caller.signal },
      )) {
        if (res.event.case === "runEvent" && res.event.value.event.case === "toolCallFinished")
          caller.abort();
      }
    } catch {
      // the client's own abort
    } finally {
      release();
    }
    let saved: Awaited<ReturnType<typeof chat.listMessages>>["messages"] = [];
    // The answer is stored PENDING when the turn starts; wait for the turn's outcome.
    const settled = () => saved.length === 2 && saved[1]?.status !== MessageStatus.PENDING;
    for (let i = 0; i < 50 && !settled(); i++) {
      saved = (await chat.listMessages({ threadId }, bearer(admin.accessToken))).messages;
      if (!settled()) await new Promise((r) => setTimeout(r, 100));
    }
    stack.scriptModel(undefined);
    expect(saved).toHaveLength(2);
    expect(saved[1]?.status).toBe(MessageStatus.PARTIAL);
    expect(saved[1]?.stopReason).toBe(StopReason.CANCELLED);
    expect(saved[1]?.content).toContain("Looking");
    expect(saved[1]?.toolCalls.map((c) => c.name)).toEqual(["list_tickets"]);
  });

  it("refuses empty and oversize messages with invalid_argument, persisting nothing", async () => {
    const admin = await stack.base.login("admin@company.com", stack.base.passwords.admin);
    const { thread } = await chat.createThread({ agentId: "ticket-reader" }, bearer(admin.accessToken));
    const threadId = thread?.id ?? "";
    expect(await codeOf(chat.sendMessage({ threadId, content: "   " }, bearer(admin.accessToken)))).toBe(
      Code.InvalidArgument,
    );
    expect(
      await codeOf(chat.sendMessage({ threadId, content: "x".repeat(8001) }, bearer(admin.accessToken))),
    ).toBe(Code.InvalidArgument);
    expect((await chat.listMessages({ threadId }, bearer(admin.accessToken))).messages).toHaveLength(0);
  });

  it("20 users chatting at once: every thread, message and ticket belongs to its own user", async () => {
    const emails = await stack.addUsers("chatter", 20, "support_agent", "chatter-password");
    const results = await Promise.all(
      emails.map(async (email) => {
        const login = await stack.base.login(email, "chatter-password");
        const { thread } = await chat.createThread(
          { agentId: "support-assistant" },
          bearer(login.accessToken),
        );
        const res = await chat.sendMessage(
          { threadId: thread?.id ?? "", content: `create a ticket: ${email} cannot print, high priority` },
          bearer(login.accessToken),
        );
        return { login, email, threadId: thread?.id ?? "", res };
      }),
    );
    for (const { login, email, threadId, res } of results) {
      const call = res.assistantMessage?.toolCalls.find((c) => c.name === "create_ticket");
      const ticket = JSON.parse(call?.structuredResultJson ?? "{}").ticket as {
        created_by: string;
        description: string;
        title: string;
      };
      expect(ticket.created_by).toBe(login.userId);
      expect(`${ticket.title} ${ticket.description}`.toLowerCase()).toContain(email.split("@")[0]);
      const mine = await chat.listThreads({}, bearer(login.accessToken));
      expect(mine.threads.map((t) => t.id)).toEqual([threadId]);
    }
  }, 60_000);
});
