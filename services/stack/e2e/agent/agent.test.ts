import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type RunEvent,
  StopReason,
  type ToolCall,
  ToolCallStatus,
} from "#gen/supportext/agent/v1/agent_pb.js";
import { TOOL_NAMES } from "#kit/contract/index.js";
import { createOpenAiCompatibleProvider } from "#kit/model/index.js";
import {
  chunk,
  pause,
  sse,
  startChatStreamServer,
  startEventStream,
  writeEach,
} from "#kit/model/testing/chat-stream-server.js";
import { insertAgent } from "#services/agent/data/agents-table.js";
import { REFRESH_MESSAGE } from "#services/agent/run/agent-loop.js";
import { type AgentTestStack, collectRun, startAgentTestStack } from "../../testing/agent-test-stack.js";

let stack: AgentTestStack;
let admin: { accessToken: string; userId: string };
let viewer: { accessToken: string; userId: string };
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

beforeAll(async () => {
  // Wide MCP bounds: 20 first calls at once queue behind each other's writes on the embedded database.
  stack = await startAgentTestStack({
    LOG_LEVEL: "info",
    MCP_CONNECT_TIMEOUT: "60s",
    MCP_CALL_TIMEOUT: "60s",
  });
  admin = await stack.base.login("admin@company.com", stack.base.passwords.admin);
  viewer = await stack.base.login("viewer@company.com", stack.base.passwords.viewer);
}, 120_000);
afterAll(async () => {
  await stack?.close();
});

const kinds = (events: RunEvent[]) => events.map((e) => e.event.case);
const finalOf = (events: RunEvent[]) => {
  const last = events.at(-1);
  if (last?.event.case !== "finalMessage") throw new Error(`last event is ${last?.event.case}`);
  return last.event.value;
};
const callsOf = (events: RunEvent[]): ToolCall[] => finalOf(events).toolCalls;
const structured = (call: ToolCall) =>
  JSON.parse(call.structuredResultJson) as { ticket: { id: number; created_by: string } };

describe("agent registry", () => {
  it("lists the seeded agents, pages with an opaque token, and refuses a forged one", async () => {
    const all = await stack.client.listAgents({}, bearer(viewer.accessToken));
    expect(all.agents.map((a) => a.id)).toEqual(["support-assistant", "ticket-reader"]);
    expect(all.nextPageToken).toBe("");
    const assistant = all.agents[0];
    expect(assistant?.name).toBe("Support Assistant");
    expect([...(assistant?.allowedTools ?? [])].sort()).toEqual([...TOOL_NAMES].sort());
    const reader = all.agents[1];
    expect(reader?.name).toBe("Ticket Reader");
    expect([...(reader?.allowedTools ?? [])].sort()).toEqual([
      "get_active_integrations",
      "get_system_health",
      "get_ticket",
      "get_ticket_stats",
      "list_integrations",
      "list_tickets",
      "search_tickets",
    ]);
    expect(assistant?.limits?.maxToolCalls).toBeGreaterThan(0);
    expect(assistant?.createTime).toBeDefined();

    const first = await stack.client.listAgents({ pageSize: 1 }, bearer(viewer.accessToken));
    expect(first.agents.map((a) => a.id)).toEqual(["support-assistant"]);
    const second = await stack.client.listAgents(
      { pageSize: 1, pageToken: first.nextPageToken },
      bearer(viewer.accessToken),
    );
    expect(second.agents.map((a) => a.id)).toEqual(["ticket-reader"]);

    const forged = await stack.client
      .listAgents({ pageToken: "bm90LWEtdG9rZW4" }, bearer(viewer.accessToken))
      .catch((e: unknown) => ConnectError.from(e));
    expect((forged as ConnectError).code).toBe(Code.InvalidArgument);
  });

  it("GetAgent: found, not_found for an unknown id; nobody may ask without a user (the identity provider holds its own registrations)", async () => {
    const { agent } = await stack.client.getAgent({ agentId: "ticket-reader" }, bearer(viewer.accessToken));
    expect(agent?.id).toBe("ticket-reader");
    const missing = await stack.client
      .getAgent({ agentId: "no-such-agent" }, bearer(viewer.accessToken))
      .catch((e: unknown) => ConnectError.from(e));
    expect((missing as ConnectError).code).toBe(Code.NotFound);
    const getAnonymous = await stack.client
      .getAgent({ agentId: "ticket-reader" })
      .catch((e: unknown) => ConnectError.from(e));
    expect((getAnonymous as ConnectError).code).toBe(Code.Unauthenticated);
    const listAnonymous = await stack.client.listAgents({}).catch((e: unknown) => ConnectError.from(e));
    expect((listAnonymous as ConnectError).code).toBe(Code.Unauthenticated);
  });
});

describe("Run", () => {
  it("asks the gateway for a caller's tools once and reuses them for the time it allows; another login session asks for its own", async () => {
    const listed = () =>
      stack.base.logs.gateway
        .records()
        .filter((r) => r.msg === "rpc ok" && String(r.procedure).endsWith("/ListTools")).length;
    const before = listed();
    const first = await stack.base.login("agent@company.com", stack.base.passwords.agent);
    for (let i = 0; i < 3; i++) {
      const events = await collectRun(
        stack.client,
        first.accessToken,
        "support-assistant",
        "list open tickets",
      );
      expect(finalOf(events).stopReason).toBe(StopReason.COMPLETED);
      expect(callsOf(events).map((c) => c.status)).toEqual([ToolCallStatus.SUCCEEDED]);
    }
    expect(listed() - before).toBe(1);
    const second = await stack.base.login("agent@company.com", stack.base.passwords.agent);
    await collectRun(stack.client, second.accessToken, "support-assistant", "list open tickets");
    expect(listed() - before).toBe(2);
    // The other agent's tools are another list, even for the same login session.
    await collectRun(stack.client, first.accessToken, "ticket-reader", "list open tickets");
    expect(listed() - before).toBe(3);
  });

  it("creates a ticket as the admin: events in order, the ticket and its audit row name the admin and the agent", async () => {
    const events = await collectRun(
      stack.client,
      admin.accessToken,
      "support-assistant",
      "create a ticket: printer on fire, high priority",
    );
    const order = kinds(events).filter((k) => k !== "usage");
    expect(order[0]).toBe("toolCallStarted");
    expect(order[1]).toBe("toolCallFinished");
    expect(order.slice(2, -1).every((k) => k === "textDelta")).toBe(true);
    expect(order.slice(2, -1).length).toBeGreaterThan(0);
    expect(order.at(-1)).toBe("finalMessage");

    const started = events.find((e) => e.event.case === "toolCallStarted");
    expect(started?.event.value).toMatchObject({
      toolCall: { name: "create_ticket", status: ToolCallStatus.RUNNING },
    });
    const final = finalOf(events);
    expect(final.stopReason).toBe(StopReason.COMPLETED);
    expect(final.usage).toMatchObject({ modelTurns: 2, toolCalls: 1 });
    const [call] = final.toolCalls;
    expect(call).toMatchObject({ name: "create_ticket", status: ToolCallStatus.SUCCEEDED, errorCode: "" });
    expect(JSON.parse(call?.argumentsJson ?? "{}")).toEqual({ title: "Printer on fire", priority: "high" });
    const deltas = events.flatMap((e) => (e.event.case === "textDelta" ? [e.event.value.text] : []));
    expect(deltas.join("")).toBe(final.content);
    const ticketId = structured(call as ToolCall).ticket.id;
    expect(final.content).toContain(`#${ticketId}`);

    const { rows } = await stack.base.mcpDb.query<{ created_by: string; priority: string }>(
      "SELECT created_by, priority FROM tickets WHERE id = $1",
      [ticketId],
    );
    expect(rows).toEqual([{ created_by: admin.userId, priority: "high" }]);
    const audit = await stack.base.mcpDb.query<{ user_id: string; actor_agent: string; outcome: string }>(
      "SELECT user_id, actor_agent, outcome FROM audit_log WHERE tool = 'create_ticket' AND user_id = $1 ORDER BY id DESC LIMIT 1",
      [admin.userId],
    );
    expect(audit.rows).toEqual([{ user_id: admin.userId, actor_agent: "support-assistant", outcome: "ok" }]);
  });

  it("streams a real model's answer: TextDelta events arrive one by one while the model is still writing", async () => {
    const sseServer = await startChatStreamServer();
    const pieces = ["There are ", "the open ", "tickets ", "you asked ", "for."];
    let written = 0;
    sseServer.respond = async (body, res) => {
      startEventStream(res);
      const sawTool = (body.messages as { role: string }[]).some((m) => m.role === "tool");
      if (!sawTool) {
        // The call's arguments in two fragments, as a real model streams them.
        const call = (fn: Record<string, string>, id?: string) =>
          sse(chunk({ tool_calls: [{ index: 0, ...(id ? { id, type: "function" } : {}), function: fn }] }));
        await writeEach(
          res,
          [call({ name: "list_tickets", arguments: '{"sta' }, "call_1"), call({ arguments: 'tus":"open"}' })],
          pause(10),
        );
        res.end(sse(chunk({}, { finish_reason: "tool_calls" })) + sse("[DONE]"));
        return;
      }
      for (const text of pieces) {
        res.write(sse(chunk({ content: text })));
        written++;
        await pause(40)();
      }
      res.write(sse(chunk({}, { finish_reason: "stop" })));
      res.end(
        sse(chunk(undefined, { usage: { prompt_tokens: 7, completion_tokens: 5, total_tokens: 12 } })) +
          sse("[DONE]"),
      );
    };
    stack.useModel(
      createOpenAiCompatibleProvider({ baseUrl: sseServer.baseUrl, model: "m", timeoutMs: 10_000 }),
    );
    try {
      const events: RunEvent[] = [];
      const writtenAtDelta: number[] = [];
      for await (const res of stack.client.run(
        { agentId: "support-assistant", input: "which tickets are open?" },
        bearer(admin.accessToken),
      )) {
        if (!res.event) continue;
        events.push(res.event);
        if (res.event.event.case === "textDelta") writtenAtDelta.push(written);
      }
      const final = finalOf(events);
      const deltas = events.flatMap((e) => (e.event.case === "textDelta" ? [e.event.value.text] : []));
      expect(deltas).toEqual(pieces);
      expect(final.content).toBe(pieces.join(""));
      // Each delta reached the caller before the model had written the rest of the answer.
      expect(writtenAtDelta.slice(0, -1).every((n) => n < pieces.length)).toBe(true);
      expect(final.toolCalls[0]).toMatchObject({
        id: "call_1",
        name: "list_tickets",
        argumentsJson: '{"status":"open"}',
        status: ToolCallStatus.SUCCEEDED,
      });
      expect(final.usage).toMatchObject({ modelTurns: 2, toolCalls: 1, inputTokens: 7, outputTokens: 5 });
      expect(sseServer.seen[0]).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    } finally {
      stack.useModel(undefined);
      await sseServer.close();
    }
  });

  it("reaches all 13 tools from plain sentences", async () => {
    const run = (input: string) => collectRun(stack.client, admin.accessToken, "support-assistant", input);
    const listing = finalOf(await run("What are all the tools you can call?"));
    expect(listing.toolCalls).toHaveLength(0);
    for (const name of TOOL_NAMES) expect(listing.content).toContain(name);

    const created = callsOf(await run("create a ticket: scanner jams on every page, low priority"));
    const id = structured(created[0] as ToolCall).ticket.id;
    const sentences = [
      `show ticket ${id}`,
      `update ticket ${id} title to Scanner jams constantly`,
      `mark ticket ${id} as in progress`,
      `assign ticket ${id} to agent@company.com`,
      "search tickets about scanner",
      "list open tickets",
      "list high priority tickets",
      "ticket stats",
      "file this with AI: the VPN is down for sales since 9am",
      "list integrations",
      "which integrations are active?",
      "system health",
      `close ticket ${id}`,
      `delete ticket ${id}`,
    ];
    const reached = new Map<string, ToolCallStatus>([
      ["create_ticket", created[0]?.status ?? ToolCallStatus.UNSPECIFIED],
    ]);
    for (const sentence of sentences) {
      let events = await run(sentence);
      // delete_ticket asks first (docs/agent.md, "Confirmation"): the turn stops, nothing deleted,
      // and goes on with the user's yes from where it stopped.
      const asked = events.find((e) => e.event.case === "confirmationRequired");
      if (asked?.event.case === "confirmationRequired") {
        expect(finalOf(events).stopReason, sentence).toBe(StopReason.CONFIRMATION_REQUIRED);
        expect(asked.event.value.toolCall?.name).toBe("delete_ticket");
        events = [];
        for await (const res of stack.client.run(
          {
            agentId: "support-assistant",
            input: sentence,
            resume: { state: asked.event.value.resumeState, confirmed: true },
          },
          { headers: { authorization: `Bearer ${admin.accessToken}` } },
        )) {
          if (res.event) events.push(res.event);
        }
      }
      const final = finalOf(events);
      expect(final.stopReason, sentence).toBe(StopReason.COMPLETED);
      expect(final.toolCalls, sentence).toHaveLength(1);
      const [call] = final.toolCalls;
      expect(call?.status, `${sentence}: ${call?.errorMessage}`).toBe(ToolCallStatus.SUCCEEDED);
      reached.set(call?.name ?? "", call?.status ?? ToolCallStatus.UNSPECIFIED);
    }
    expect([...reached.keys()].sort()).toEqual([...TOOL_NAMES].sort());
    const { rows } = await stack.base.mcpDb.query<{ deleted_by: string; status: string; title: string }>(
      "SELECT deleted_by, status, title FROM tickets WHERE id = $1",
      [id],
    );
    expect(rows).toEqual([{ deleted_by: admin.userId, status: "closed", title: "Scanner jams constantly" }]);
  });

  it("a viewer is not offered delete_ticket, and a forced call fails with permission_denied while the run completes", async () => {
    const created = callsOf(
      await collectRun(stack.client, admin.accessToken, "support-assistant", "create a ticket: keep me"),
    );
    const id = structured(created[0] as ToolCall).ticket.id;

    // The embedded planner sees only the viewer's tools: it says so instead of calling.
    const planned = finalOf(
      await collectRun(stack.client, viewer.accessToken, "support-assistant", `delete ticket ${id}`),
    );
    expect(planned.toolCalls).toHaveLength(0);
    expect(planned.content).toMatch(/can't delete tickets.*delete_ticket/);

    // A model that calls it anyway: the gateway and the MCP server refuse it, the loop goes on.
    let turn = 0;
    stack.scriptModel(async () => {
      turn++;
      return {
        model: "scripted",
        content: turn === 1 ? null : "The delete was refused.",
        toolCalls:
          turn === 1
            ? [{ id: "c1", name: "delete_ticket", arguments: JSON.stringify({ ticket_id: id }) }]
            : [],
        finishReason: turn === 1 ? "tool_calls" : "stop",
        usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 },
      };
    });
    try {
      const events = await collectRun(
        stack.client,
        viewer.accessToken,
        "support-assistant",
        `delete ticket ${id}`,
      );
      const final = finalOf(events);
      expect(final.stopReason).toBe(StopReason.COMPLETED);
      expect(final.content).toBe("The delete was refused.");
      expect(final.toolCalls[0]).toMatchObject({
        name: "delete_ticket",
        status: ToolCallStatus.FAILED,
        errorCode: "permission_denied",
      });
    } finally {
      stack.scriptModel(undefined);
    }
    const { rows } = await stack.base.mcpDb.query(
      "SELECT id FROM tickets WHERE id = $1 AND deleted_at IS NULL",
      [id],
    );
    expect(rows).toHaveLength(1);
  });

  it("the ticket-reader agent is not offered create_ticket and says so", async () => {
    const events = await collectRun(
      stack.client,
      admin.accessToken,
      "ticket-reader",
      "create a ticket: printer on fire, high priority",
    );
    const final = finalOf(events);
    expect(final.stopReason).toBe(StopReason.COMPLETED);
    expect(final.toolCalls).toHaveLength(0);
    expect(final.content).toMatch(/can't create tickets.*create_ticket/);
  });

  it("stops at the agent's usage limits with LimitReached and the matching stop reason", async () => {
    const limited = { description: "", systemPrompt: "", model: "default", allowedTools: [...TOOL_NAMES] };
    await insertAgent(stack.agent.database, {
      ...limited,
      id: "one-call",
      name: "One call",
      limits: { maxToolCalls: 1, maxModelTurns: 5 },
    });
    await insertAgent(stack.agent.database, {
      ...limited,
      id: "one-turn",
      name: "One turn",
      limits: { maxToolCalls: 5, maxModelTurns: 1 },
    });
    // The identity provider names only agents registered with it (docs/identity.md, "Agents").
    await stack.base.registerAgent("one-call", TOOL_NAMES);
    await stack.base.registerAgent("one-turn", TOOL_NAMES);

    const calls = await collectRun(
      stack.client,
      admin.accessToken,
      "one-call",
      "show ticket 1 and show ticket 2",
    );
    expect(kinds(calls).slice(-3)).toEqual(["limitReached", "usage", "finalMessage"]);
    const limit = calls.find((e) => e.event.case === "limitReached")?.event.value;
    expect(limit).toMatchObject({ reason: StopReason.MAX_TOOL_CALLS });
    expect(finalOf(calls).stopReason).toBe(StopReason.MAX_TOOL_CALLS);
    expect(finalOf(calls).toolCalls).toHaveLength(1);

    const turns = await collectRun(stack.client, admin.accessToken, "one-turn", "list open tickets");
    expect(finalOf(turns).stopReason).toBe(StopReason.MAX_MODEL_TURNS);
    expect(kinds(turns)).toContain("limitReached");
  });

  it("refuses bad input with invalid_argument and unknown agents with not_found", async () => {
    const run = (agentId: string, input: string) =>
      collectRun(stack.client, admin.accessToken, agentId, input).catch((e: unknown) => ConnectError.from(e));
    expect(((await run("support-assistant", "   ")) as ConnectError).code).toBe(Code.InvalidArgument);
    expect(((await run("support-assistant", "x".repeat(8_001))) as ConnectError).code).toBe(
      Code.InvalidArgument,
    );
    expect(((await run("no-such-agent", "hello")) as ConnectError).code).toBe(Code.NotFound);
    const tooLong = await (async () => {
      const history = Array.from({ length: 51 }, () => ({ role: 1, content: "hi" }));
      for await (const _ of stack.client.run(
        { agentId: "support-assistant", input: "hi", history },
        bearer(admin.accessToken),
      )) {
        // drain
      }
    })().catch((e: unknown) => ConnectError.from(e));
    expect((tooLong as ConnectError).code).toBe(Code.InvalidArgument);
    const anonymous = await (async () => {
      for await (const _ of stack.client.run({ agentId: "support-assistant", input: "hi" })) {
        // drain
      }
    })().catch((e: unknown) => ConnectError.from(e));
    expect((anonymous as ConnectError).code).toBe(Code.Unauthenticated);
    expect(REFRESH_MESSAGE).toMatch(/refresh/);
  });

  it("20 concurrent runs by different users: every ticket is created by its own runner", async () => {
    const password = "agent-concurrency-password";
    const emails = await stack.addUsers("runner", 20, "support_agent", password);
    const runners = await Promise.all(
      emails.map(async (email, i) => ({ i, ...(await stack.base.login(email, password)) })),
    );
    const results = await Promise.all(
      runners.map(async (r) => {
        const events = await collectRun(
          stack.client,
          r.accessToken,
          "support-assistant",
          `create a ticket: laptop of runner ${r.i} is broken`,
        );
        return { runner: r, final: finalOf(events) };
      }),
    );
    for (const { runner, final } of results) {
      expect(final.stopReason).toBe(StopReason.COMPLETED);
      const ticket = structured(final.toolCalls[0] as ToolCall).ticket;
      expect(ticket.created_by).toBe(runner.userId);
      expect(final.content).toContain(`#${ticket.id}`);
    }
    const { rows } = await stack.base.mcpDb.query<{ title: string; created_by: string }>(
      "SELECT title, created_by FROM tickets WHERE title LIKE 'Laptop of runner %'",
    );
    expect(rows).toHaveLength(20);
    const byUser = new Map(runners.map((r) => [r.userId, r.i]));
    for (const row of rows)
      expect(row.title).toBe(`Laptop of runner ${byUser.get(row.created_by)} is broken`);
  }, 120_000);
});
