import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  type ConfirmationRequired,
  type RunEvent,
  StopReason,
  ToolCallStatus,
} from "#gen/supportext/agent/v1/agent_pb.js";
import type { ChatCompletion, ChatRequest, ModelProvider } from "#kit/model/index.js";
import { decodeToolResult } from "../tool-result-content.js";
import { runAgentTurn } from "./agent-loop.js";
import { argumentsSummary, confirmationOf } from "./confirmation.js";
import { decodePausedTurn } from "./paused-turn.js";
import type { RunTools, ToolAnswers, ToolOutcome } from "./tool-gateway.js";

/**
 * A turn that stops for a confirmation and goes on with the answer (docs/agent.md,
 * "Confirmation"), below the model: whichever model asked for the call, the loop stops at the
 * tool's question, and the resumed turn makes that very call — same id, so the same idempotency
 * key — with the answer, then the calls after it, without asking the model again.
 */
const QUESTION = JSON.stringify({
  confirm: {
    method: "elicitation/create",
    params: {
      mode: "form",
      message: 'Delete ticket #5 "VPN down"? It disappears from every listing.',
      requestedSchema: {
        type: "object",
        properties: { confirm: { type: "boolean", title: "Delete ticket #5" } },
        required: ["confirm"],
      },
    },
  },
});
const asked: ToolOutcome = {
  status: "input_required",
  inputRequestsJson: QUESTION,
  requestState: "signed-state",
};
const limits = { maxToolCalls: 10, maxModelTurns: 10 };
const messages = [{ role: "user" as const, content: "delete ticket 5 and show ticket 6" }];

/** A model that asks for delete_ticket 5 and get_ticket 6 at once, then answers from what it saw. */
function model(seen: ChatRequest[]): ModelProvider {
  return {
    kind: "test",
    model: "test",
    async complete(request): Promise<ChatCompletion> {
      seen.push(request);
      const tools = request.messages.filter((m) => m.role === "tool");
      const done = tools.length >= 2;
      return {
        model: "test",
        content: done
          ? `answered after: ${tools.map((t) => decodeToolResult(t.content)?.ok).join(",")}`
          : null,
        toolCalls: done
          ? []
          : [
              { id: "call_rnd_a1", name: "delete_ticket", arguments: '{"ticket_id":5}' },
              { id: "call_rnd_b2", name: "get_ticket", arguments: '{"ticket_id":6}' },
            ],
        finishReason: done ? "stop" : "tool_calls",
        usage: { promptTokens: 3, completionTokens: 2, totalTokens: 5 },
      };
    },
  };
}

interface Call {
  readonly name: string;
  readonly callId: string | undefined;
  readonly answers: ToolAnswers | undefined;
}

function tools(calls: Call[], onDelete: (answers: ToolAnswers | undefined) => ToolOutcome): RunTools {
  return {
    definitions: [
      { name: "delete_ticket", parameters: { type: "object" } },
      { name: "get_ticket", parameters: { type: "object" } },
    ],
    async call(name, _args, _signal, callId, answers) {
      calls.push({ name, callId, answers });
      if (name === "delete_ticket") return onDelete(answers);
      return { status: "succeeded", text: "Ticket #6", structuredJson: '{"ticket":{"id":6}}' };
    },
  };
}

async function collect(gen: AsyncGenerator<RunEvent>): Promise<RunEvent[]> {
  const out: RunEvent[] = [];
  for await (const e of gen) out.push(e);
  return out;
}
const final = (events: RunEvent[]) => {
  const last = events.at(-1)?.event;
  if (last?.case !== "finalMessage") throw new Error("no final message");
  return last.value;
};
const confirmationIn = (events: RunEvent[]): ConfirmationRequired => {
  const e = events.find((x) => x.event.case === "confirmationRequired")?.event;
  if (e?.case !== "confirmationRequired") throw new Error("no confirmation");
  return e.value;
};

describe("a turn stopped by a tool's question", () => {
  it("stops at the question, then goes on from that very call with the yes, without asking the model again", async () => {
    const seen: ChatRequest[] = [];
    const calls: Call[] = [];
    const deleteOutcome = (answers: ToolAnswers | undefined): ToolOutcome =>
      answers
        ? { status: "succeeded", text: "Ticket #5 deleted.", structuredJson: '{"deleted":true}' }
        : asked;
    const first = await collect(
      runAgentTurn(
        { messages, limits, turnId: "turn-1" },
        model(seen),
        tools(calls, deleteOutcome),
        new AbortController().signal,
      ),
    );
    expect(first.map((e) => e.event.case)).toEqual([
      "toolCallStarted",
      "confirmationRequired",
      "usage",
      "finalMessage",
    ]);
    const confirmation = confirmationIn(first);
    expect(confirmation).toMatchObject({
      question: 'Delete ticket #5 "VPN down"? It disappears from every listing.',
      action: "Delete ticket #5",
      argumentsSummary: "ticket_id: 5",
      toolCall: { id: "call_rnd_a1", name: "delete_ticket", status: ToolCallStatus.AWAITING_CONFIRMATION },
    });
    expect(final(first)).toMatchObject({
      stopReason: StopReason.CONFIRMATION_REQUIRED,
      content: confirmation.question,
      usage: { modelTurns: 1, toolCalls: 1 },
    });
    // get_ticket waits behind the question; nothing else ran.
    expect(calls.map((c) => c.name)).toEqual(["delete_ticket"]);
    const state = decodePausedTurn(confirmation.resumeState);
    expect(state.turnId).toBe("turn-1");

    const resumed = await collect(
      runAgentTurn(
        { messages: [], limits },
        model(seen),
        tools(calls, deleteOutcome),
        new AbortController().signal,
        { state, confirmed: true },
      ),
    );
    // The same call (same id: same idempotency key) with the yes and the server's state; then the rest.
    expect(calls.slice(1)).toEqual([
      {
        name: "delete_ticket",
        callId: "call_rnd_a1",
        answers: {
          inputResponsesJson: JSON.stringify({ confirm: { action: "accept", content: { confirm: true } } }),
          requestState: "signed-state",
        },
      },
      { name: "get_ticket", callId: "call_rnd_b2", answers: undefined },
    ]);
    // One model request for the answer: what to do was decided before the question.
    expect(seen).toHaveLength(2);
    expect(final(resumed)).toMatchObject({
      stopReason: StopReason.COMPLETED,
      content: "answered after: true,true",
      usage: { modelTurns: 2, toolCalls: 2 },
    });
    expect(final(resumed).toolCalls.map((c) => [c.id, c.status])).toEqual([
      ["call_rnd_a1", ToolCallStatus.SUCCEEDED],
      ["call_rnd_b2", ToolCallStatus.SUCCEEDED],
    ]);
  });

  it("a no is sent as the user's decline, and the model is told the call was cancelled by the user", async () => {
    const seen: ChatRequest[] = [];
    const calls: Call[] = [];
    // Whatever the server says to the decline (its refusal, or the question again), the call is not made.
    for (const afterNo of [
      {
        status: "failed",
        text: "cancelled_by_user: …",
        errorCode: "cancelled",
        errorMessage: "cancelled by the user",
      },
      asked,
    ] as ToolOutcome[]) {
      const first = await collect(
        runAgentTurn(
          { messages, limits },
          model(seen),
          tools(calls, (a) => (a ? afterNo : asked)),
          new AbortController().signal,
        ),
      );
      const state = decodePausedTurn(confirmationIn(first).resumeState);
      const resumed = await collect(
        runAgentTurn(
          { messages: [], limits },
          model(seen),
          tools(calls, (a) => (a ? afterNo : asked)),
          new AbortController().signal,
          {
            state,
            confirmed: false,
          },
        ),
      );
      expect(calls.at(-2)?.answers?.inputResponsesJson).toBe(
        JSON.stringify({ confirm: { action: "decline" } }),
      );
      expect(final(resumed).toolCalls[0]).toMatchObject({
        status: ToolCallStatus.FAILED,
        errorCode: "cancelled",
        errorMessage: "cancelled by the user",
      });
      const toModel = seen.at(-1)?.messages.find((m) => m.role === "tool");
      expect(decodeToolResult(toModel?.content ?? "")).toEqual({
        ok: false,
        error_code: "cancelled",
        error: "cancelled by the user",
      });
    }
  });

  it("reads only yes/no questions; anything else fails the call with a plain reason", async () => {
    expect(confirmationOf(QUESTION)).toEqual({
      key: "confirm",
      field: "confirm",
      message: 'Delete ticket #5 "VPN down"? It disappears from every listing.',
      action: "Delete ticket #5",
    });
    const text = JSON.stringify({
      q: {
        method: "elicitation/create",
        params: { message: "Why?", requestedSchema: { properties: { why: { type: "string" } } } },
      },
    });
    expect(confirmationOf(text)).toBeUndefined();
    expect(confirmationOf("not json")).toBeUndefined();
    const calls: Call[] = [];
    const events = await collect(
      runAgentTurn(
        { messages, limits },
        model([]),
        tools(calls, () => ({ status: "input_required", inputRequestsJson: text, requestState: "" })),
        new AbortController().signal,
      ),
    );
    expect(final(events).stopReason).toBe(StopReason.COMPLETED);
    expect(final(events).toolCalls[0]).toMatchObject({
      status: ToolCallStatus.FAILED,
      errorCode: "unimplemented",
    });
    expect(argumentsSummary('{"ticket_id":5,"reason":"dup"}')).toBe('ticket_id: 5, reason: "dup"');
  });

  it("a state this agent did not make is invalid_argument", () => {
    const err = (() => {
      try {
        decodePausedTurn(new TextEncoder().encode('{"v":2}'));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
  });
});
