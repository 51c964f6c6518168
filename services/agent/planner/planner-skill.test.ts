import { describe, expect, it } from "vitest";
import { TOOL_NAMES, TOOL_SCOPES } from "#kit/contract/index.js";
import type { ChatMessage, ChatRequest, ToolCall, ToolDefinition } from "#kit/model/index.js";
import { runContextMessage } from "../registry/run-context.js";
import { encodeToolResult } from "../tool-result-content.js";
import { plannerSkill } from "./planner-skill.js";

const def = (name: string, description = `${name} does things.`): ToolDefinition => ({
  name,
  description,
  parameters: { type: "object" },
});
const ALL = TOOL_NAMES.map((n) => def(n));
const READ_ONLY = ALL.filter((t) => TOOL_SCOPES[t.name as keyof typeof TOOL_SCOPES].endsWith(":read"));
const ask = (content: string, tools = ALL, before: ChatMessage[] = []): ChatRequest => ({
  messages: [{ role: "system", content: "be helpful" }, ...before, { role: "user", content }],
  tools,
});
const ok = (text: string, data?: unknown) => encodeToolResult({ ok: true, text, data });

/** Plays the agent loop: each call gets the result `results` gives for it. */
function converse(request: ChatRequest, results: (call: ToolCall) => string) {
  const messages = [...request.messages];
  const calls: ToolCall[] = [];
  for (let turn = 0; turn < 8; turn++) {
    const answer = plannerSkill.answer({ ...request, messages });
    if (!answer?.toolCalls?.length) return { calls, answer: answer?.content ?? "", turns: turn + 1 };
    messages.push({ role: "assistant", content: answer.content, toolCalls: answer.toolCalls });
    for (const call of answer.toolCalls) {
      calls.push(call);
      messages.push({ role: "tool", toolCallId: call.id, content: results(call) });
    }
  }
  throw new Error("no answer within 8 turns");
}

describe("planner skill: calls and answers", () => {
  it("lists exactly the offered tools with their descriptions, without a call", () => {
    const tools = [
      def("create_ticket", "Create a support ticket. The caller is recorded."),
      def("get_ticket"),
    ];
    const answer = plannerSkill.answer(ask("what tools can you call?", tools));
    expect(answer?.toolCalls).toBeUndefined();
    expect(answer?.content).toBe(
      "I can call these 2 tools:\n- create_ticket: Create a support ticket.\n- get_ticket: get_ticket does things.",
    );
  });

  it("calls an offered tool with valid arguments", () => {
    expect(plannerSkill.answer(ask("show tkt 12 pls"))).toEqual({
      content: null,
      toolCalls: [{ id: "step_1", name: "get_ticket", arguments: '{"ticket_id":12}' }],
    });
  });

  it("asks one short question naming what it can do when it cannot read the request", () => {
    for (const text of ["write me a poem", "printer on fire", "fix the printer", "do the thing with 5"]) {
      const answer = plannerSkill.answer(ask(text, READ_ONLY));
      expect(answer?.toolCalls, text).toBeUndefined();
      expect(answer?.content, text).toBe(
        "I'm not sure what you mean. I can show, search or list tickets, give ticket stats, check integrations or check system health: which do you want?",
      );
    }
  });

  it("never guesses a write: a missing ticket or detail is a question", () => {
    expect(plannerSkill.answer(ask("close it"))?.content).toBe(
      "Which ticket do you mean? Give its number, e.g. #12?",
    );
    expect(plannerSkill.answer(ask("assign ticket 4"))?.content).toBe(
      'Who should it go to: an email address, or "me"?',
    );
    expect(plannerSkill.answer(ask("close all open tickets"))?.toolCalls).toBeUndefined();
  });

  it("reads 'it' as the ticket the thread was about", () => {
    const thread: ChatMessage[] = [
      { role: "user", content: "create a ticket: VPN down" },
      { role: "assistant", content: 'Created ticket #55 "VPN down" (medium).' },
    ];
    expect(plannerSkill.answer(ask("close it", ALL, thread))?.toolCalls).toEqual([
      { id: "step_1", name: "update_ticket_status", arguments: '{"ticket_id":55,"status":"closed"}' },
    ]);
  });

  it("runs compound steps in order, carrying the created ticket forward, and reports each", () => {
    const run = converse(
      ask("create a ticket: printer on fire, then assign it to me and mark it in progress"),
      (call) =>
        call.name === "create_ticket"
          ? ok('Created ticket #41 "Printer on fire" (medium).', { ticket: { id: 41 } })
          : ok(`${call.name} done on ${JSON.parse(call.arguments).ticket_id}.`),
    );
    expect(run.calls.map((c) => [c.name, JSON.parse(c.arguments)])).toEqual([
      ["create_ticket", { title: "Printer on fire" }],
      ["assign_ticket", { ticket_id: 41, assignee: "me" }],
      ["update_ticket_status", { ticket_id: 41, status: "in_progress" }],
    ]);
    expect(run.turns).toBe(3);
    expect(run.answer).toBe(
      'Created ticket #41 "Printer on fire" (medium).\n\nassign_ticket done on 41.\n\nupdate_ticket_status done on 41.',
    );
  });

  it("leaves a step undone, and says so, when the ticket it needs was not created", () => {
    const run = converse(ask("create a ticket: printer on fire, then assign it to me"), () =>
      encodeToolResult({ ok: false, error_code: "permission_denied", error: "not allowed" }),
    );
    expect(run.calls.map((c) => c.name)).toEqual(["create_ticket"]);
    expect(run.answer).toContain("create_ticket failed (permission_denied)");
    expect(run.answer).toContain(
      'Not done: "assign it to me", because create_ticket failed (permission_denied).',
    );
  });

  it("does not pick one of several found tickets for a write: it asks which", () => {
    const tickets = [{ id: 3 }, { id: 4 }];
    const run = converse(ask("find the VPN ticket and close it"), () =>
      ok("2 ticket(s) match.", { tickets }),
    );
    expect(run.calls.map((c) => c.name)).toEqual(["search_tickets"]);
    expect(run.answer).toContain(
      '2 tickets matched "VPN" (#3, #4), so I did not pick one: which ticket do you mean?',
    );
  });

  it("answers from tool results, successes and failures, with ticket lines for listings", () => {
    const run = converse(ask("show ticket 3 and 4, then list open tickets"), (call) =>
      call.name === "list_tickets"
        ? ok("1 ticket(s) match.", {
            tickets: [{ id: 9, title: "VPN down", status: "open", priority: "urgent" }],
          })
        : JSON.parse(call.arguments).ticket_id === 3
          ? ok('Ticket #3 "Printer": open.')
          : encodeToolResult({ ok: false, error_code: "not_found", error: "ticket 4 does not exist" }),
    );
    expect(run.answer).toBe(
      'Ticket #3 "Printer": open.\n\nget_ticket failed (not_found): ticket 4 does not exist.\n\n1 ticket(s) match.\n- #9 VPN down (open, urgent)',
    );
  });

  it("calls nothing when told not to, and leaves structured-output tasks to their own skills", () => {
    expect(plannerSkill.answer({ ...ask("show ticket 3"), toolChoice: "none" })?.toolCalls).toBeUndefined();
    expect(
      plannerSkill.answer({
        ...ask("x"),
        responseFormat: { type: "json_schema", name: "ticket_triage", schema: {} },
      }),
    ).toBeUndefined();
  });

  it("is deterministic", () => {
    const request = ask("new tkt: projector dead, asign to me and mark it in progress");
    expect(plannerSkill.answer(request)).toEqual(plannerSkill.answer(request));
  });
});

describe("planner skill: refusals say who lacks the tool", () => {
  const agents: { id: string; name: string; tools: string[] }[] = [
    { id: "support-assistant", name: "Support Assistant", tools: [...TOOL_NAMES] },
    { id: "ticket-reader", name: "Ticket Reader", tools: READ_ONLY.map((t) => t.name) },
  ];
  const withContext = (
    text: string,
    prompt: string,
    agent: 0 | 1,
    roles: string[],
    scopes: string[],
    tools: ToolDefinition[],
  ) => ({
    messages: [
      { role: "system" as const, content: prompt },
      runContextMessage({
        agent: agents[agent] as (typeof agents)[number],
        caller: { roles, scopes },
        agents,
      }),
      { role: "user" as const, content: text },
    ],
    tools,
  });
  const viewerScopes = ["tickets:read", "integrations:read"];
  const adminScopes = [
    "tickets:read",
    "tickets:write",
    "tickets:delete",
    "integrations:read",
    "system:read",
    "audit:read",
  ];

  it("the user's role: switching agents would not help", () => {
    const answer = plannerSkill.answer(
      withContext("delete ticket 12", "be helpful", 0, ["viewer"], viewerScopes, READ_ONLY),
    );
    expect(answer?.toolCalls).toBeUndefined();
    expect(answer?.content).toBe(
      "I can't delete tickets for you: your role (viewer) lacks the tickets:delete permission that the delete_ticket tool needs, so switching agents will not help; someone with the admin role can.",
    );
  });

  it("the agent: in its own words (the Ticket Reader is read-only), naming the agent that can", () => {
    const prompt =
      "You are a read-only helpdesk assistant. When asked to change anything, say that this agent is read-only.";
    const answer = plannerSkill.answer(
      withContext("close #12 pls", prompt, 1, ["admin"], adminScopes, READ_ONLY),
    );
    expect(answer?.content).toBe(
      "Ticket Reader is read-only, so I can't change a ticket's status (update_ticket_status). Your role allows it: switch to Support Assistant (support-assistant) to do that.",
    );
  });

  it("without a run context, says what the offered tools show", () => {
    expect(plannerSkill.answer(ask("delete ticket 12", READ_ONLY))?.content).toBe(
      "I can't delete tickets here: the delete_ticket tool is not offered, because your role or this agent lacks it.",
    );
    const noUpdate = ALL.filter((t) => t.name !== "update_ticket");
    expect(plannerSkill.answer(ask("set prio of 4 to high", noUpdate))?.content).toBe(
      "I can't edit tickets: this agent does not have the update_ticket tool, though your role allows it; another agent may.",
    );
  });

  it("does what it may and refuses the rest of a compound request", () => {
    const run = converse(
      withContext("show ticket 3 and delete it", "be helpful", 0, ["viewer"], viewerScopes, READ_ONLY),
      () => ok('Ticket #3 "Printer": open.'),
    );
    expect(run.calls.map((c) => c.name)).toEqual(["get_ticket"]);
    expect(run.answer).toMatch(
      /^Ticket #3 "Printer": open\.\n\nI can't delete tickets for you: your role \(viewer\)/,
    );
  });
});
