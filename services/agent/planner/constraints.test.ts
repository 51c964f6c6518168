import { describe, expect, it } from "vitest";
import { TOOL_NAMES } from "#kit/contract/index.js";
import type { ChatMessage, ChatRequest, ToolDefinition } from "#kit/model/index.js";
import { runContextMessage } from "../registry/run-context.js";
import { encodeToolResult } from "../tool-result-content.js";
import { plannerSkill } from "./planner-skill.js";

/** Every constraint is applied or named; error text says each thing once. */
const ALL: ToolDefinition[] = TOOL_NAMES.map((name) => ({ name, description: name, parameters: {} }));
const CLOCK = { now: "2026-03-18T23:30:00.000Z", timeZone: "Europe/Berlin" };
const context = runContextMessage({
  agent: { id: "support-assistant", name: "Support Assistant", tools: [...TOOL_NAMES] },
  caller: { roles: ["admin"], scopes: [] },
  agents: [],
  clock: CLOCK,
});
const request = (text: string, withClock = true): ChatRequest => ({
  messages: [
    { role: "system", content: "be helpful" },
    ...(withClock ? [context] : []),
    { role: "user", content: text },
  ],
  tools: ALL,
});

/** The first call, then the answer once `result` comes back for it. */
function turn(text: string, result: string, withClock = true) {
  const first = request(text, withClock);
  const calls = plannerSkill.answer(first)?.toolCalls ?? [];
  const messages: ChatMessage[] = [
    ...first.messages,
    { role: "assistant", content: null, toolCalls: calls },
    ...calls.map((c) => ({ role: "tool" as const, toolCallId: c.id, content: result })),
  ];
  return { calls, answer: plannerSkill.answer({ ...first, messages })?.content };
}

const listed = encodeToolResult({ ok: true, text: "0 ticket(s) match.", data: { tickets: [] } });
const counted = encodeToolResult({ ok: true, text: "4 ticket(s), 2 still active." });

describe("constraints: applied, or named as not applied", () => {
  it("a relative date becomes `since` at local midnight in the run context's zone", () => {
    const { calls, answer } = turn("stats since last week", counted);
    expect(calls[0]?.arguments).toBe('{"since":"2026-03-09T00:00:00+01:00"}');
    expect(answer).toBe("4 ticket(s), 2 still active.");
  });

  it("a period that is over is applied as a start and its missing end is said", () => {
    const { calls, answer } = turn("stats for yesterday", counted);
    expect(calls[0]?.arguments).toBe('{"since":"2026-03-18T00:00:00+01:00"}');
    expect(answer).toBe(
      '"for yesterday" is applied only as a start: get_ticket_stats has no end date, so these counts run from 2026-03-18 until now.\n4 ticket(s), 2 still active.',
    );
  });

  it("a date a listing cannot filter on is named before the list, not dropped", () => {
    const { calls, answer } = turn("open tickets since last week", listed);
    expect(calls[0]?.arguments).toBe('{"status":["open"]}');
    expect(answer).toBe(
      '"since last week" is not applied: list_tickets has no date filter, so these tickets are from any date.\n0 ticket(s) match.',
    );
  });

  it("without a clock in the run context, the date is named as unknown rather than guessed", () => {
    const { calls, answer } = turn("how many tickets today?", counted, false);
    expect(calls[0]?.arguments).toBe("{}");
    expect(answer).toMatch(/^"today" is not applied: I don't know today's date/);
  });
});

describe("error text says each thing once", () => {
  it("the code in parentheses, the tool's words once, no hint that repeats them", () => {
    const missing = encodeToolResult({
      ok: false,
      error_code: "not_found",
      error: "not_found: ticket 3 does not exist (or was deleted)",
    });
    expect(turn("delete ticket 3", missing).answer).toBe(
      "delete_ticket failed (not_found): ticket 3 does not exist (or was deleted).",
    );
    const denied = encodeToolResult({
      ok: false,
      error_code: "permission_denied",
      error: "agent_not_allowed: no",
    });
    expect(turn("delete ticket 3", denied).answer).toBe(
      "delete_ticket failed (permission_denied): agent_not_allowed: no. You (or this agent) are not allowed to do that.",
    );
  });
});
