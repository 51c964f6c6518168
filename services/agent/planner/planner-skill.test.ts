import { describe, expect, it } from "vitest";
import type { ChatRequest, ToolDefinition } from "../../kit/model/types.js";
import { encodeToolResult } from "../tool-result-content.js";
import { plannerSkill } from "./planner-skill.js";

const def = (name: string, description = `${name} does things.`): ToolDefinition => ({
  name,
  description,
  parameters: { type: "object" },
});
const TOOLS = [
  def("create_ticket", "Create a support ticket. The caller is recorded."),
  def("get_ticket"),
  def("list_tickets"),
];
const ask = (content: string, tools = TOOLS): ChatRequest => ({
  messages: [
    { role: "system", content: "be helpful" },
    { role: "user", content },
  ],
  tools,
});

describe("planner skill", () => {
  it("lists exactly the offered tools with their descriptions, without a call", () => {
    const answer = plannerSkill.answer(ask("what tools can you call?"));
    expect(answer?.toolCalls).toBeUndefined();
    expect(answer?.content).toBe(
      "I can call these 3 tools:\n- create_ticket: Create a support ticket.\n- get_ticket: get_ticket does things.\n- list_tickets: list_tickets does things.",
    );
  });

  it("calls an offered tool with valid arguments", () => {
    expect(plannerSkill.answer(ask("show ticket 12"))).toEqual({
      content: null,
      toolCalls: [{ id: "call_1", name: "get_ticket", arguments: '{"ticket_id":12}' }],
    });
  });

  it("says so when the tool is not offered", () => {
    expect(plannerSkill.answer(ask("delete ticket 12"))?.content).toBe(
      "I can't delete tickets here: the delete_ticket tool is not available to you with this agent.",
    );
  });

  it("answers what it can do when it understands nothing", () => {
    const content = plannerSkill.answer(ask("write me a poem"))?.content ?? "";
    expect(content).toMatch(/^I did not understand that/);
    expect(content).toContain("show ticket 12");
    expect(content).not.toContain("delete ticket");
  });

  it("summarizes tool results, successes and failures", () => {
    const request: ChatRequest = {
      messages: [
        { role: "user", content: "show ticket 3 and show ticket 4" },
        {
          role: "assistant",
          content: null,
          toolCalls: [
            { id: "call_1", name: "get_ticket", arguments: '{"ticket_id":3}' },
            { id: "call_2", name: "get_ticket", arguments: '{"ticket_id":4}' },
          ],
        },
        {
          role: "tool",
          toolCallId: "call_1",
          content: encodeToolResult({ ok: true, text: 'Ticket #3 "Printer": open.' }),
        },
        {
          role: "tool",
          toolCallId: "call_2",
          content: encodeToolResult({ ok: false, error_code: "not_found", error: "ticket 4 does not exist" }),
        },
      ],
      tools: TOOLS,
    };
    expect(plannerSkill.answer(request)).toEqual({
      content:
        'Ticket #3 "Printer": open.\n\nget_ticket failed (not_found): ticket 4 does not exist. It does not exist.',
    });
  });

  it("lists the tickets of a listing", () => {
    const request: ChatRequest = {
      messages: [
        { role: "user", content: "list open tickets" },
        {
          role: "assistant",
          content: null,
          toolCalls: [{ id: "call_1", name: "list_tickets", arguments: "{}" }],
        },
        {
          role: "tool",
          toolCallId: "call_1",
          content: encodeToolResult({
            ok: true,
            text: "1 ticket(s) match; showing 1 from offset 0.",
            data: { tickets: [{ id: 9, title: "VPN down", status: "open", priority: "urgent" }] },
          }),
        },
      ],
      tools: TOOLS,
    };
    expect(plannerSkill.answer(request)?.content).toBe(
      "1 ticket(s) match; showing 1 from offset 0.\n- #9 VPN down (open, urgent)",
    );
  });

  it("leaves structured-output tasks to their own skills", () => {
    expect(
      plannerSkill.answer({
        ...ask("x"),
        responseFormat: { type: "json_schema", name: "ticket_triage", schema: {} },
      }),
    ).toBeUndefined();
  });
});
