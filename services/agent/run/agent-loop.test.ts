import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  type RunEvent,
  RunRequestSchema,
  StopReason,
  ToolCallSchema,
  ToolCallStatus,
} from "#gen/supportext/agent/v1/agent_pb.js";
import type { ChatCompletion, ChatRequest, ModelProvider } from "#kit/model/index.js";
import { ModelError } from "#kit/model/index.js";
import { decodeToolResult } from "../tool-result-content.js";
import { MAX_ARGUMENTS_BYTES, REFRESH_MESSAGE, runAgentTurn } from "./agent-loop.js";
import { validateRunRequest } from "./run-input.js";
import type { RunTools, ToolOutcome } from "./tool-gateway.js";

/** A model that asks for `get_ticket` until it has seen `answerAfter` tool results, then answers. */
function scriptedModel(answerAfter: number, seen: ChatRequest[] = []): ModelProvider {
  return {
    kind: "test",
    model: "test",
    async complete(request): Promise<ChatCompletion> {
      seen.push(request);
      const results = request.messages.filter((m) => m.role === "tool").length;
      const done = results >= answerAfter;
      return {
        model: "test",
        content: done ? "all done" : null,
        toolCalls: done ? [] : [{ id: `c${results}`, name: "get_ticket", arguments: '{"ticket_id":1}' }],
        finishReason: done ? "stop" : "tool_calls",
        usage: { promptTokens: 3, completionTokens: 2, totalTokens: 5 },
      };
    },
  };
}

function toolsAnswering(outcome: (signal: AbortSignal) => Promise<ToolOutcome>): RunTools {
  return {
    definitions: [{ name: "get_ticket", parameters: { type: "object" } }],
    call: (_name, _args, signal) => outcome(signal),
  };
}

const ok: ToolOutcome = { status: "succeeded", text: "Ticket #1", structuredJson: '{"ticket":{"id":1}}' };
const limits = { maxToolCalls: 10, maxModelTurns: 10 };
const messages = [{ role: "user" as const, content: "show ticket 1" }];

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

describe("agent loop", () => {
  it("reports a failed tool call to the model and goes on", async () => {
    const seen: ChatRequest[] = [];
    const tools = toolsAnswering(async () => ({
      status: "failed",
      text: "",
      errorCode: "permission_denied",
      errorMessage: "insufficient_scope: needs tickets:read",
    }));
    const events = await collect(
      runAgentTurn({ messages, limits }, scriptedModel(1, seen), tools, new AbortController().signal),
    );
    expect(final(events)).toMatchObject({ stopReason: StopReason.COMPLETED, content: "all done" });
    expect(final(events).toolCalls[0]).toMatchObject({
      status: ToolCallStatus.FAILED,
      errorCode: "permission_denied",
    });
    const toolMessage = seen[1]?.messages.at(-1);
    expect(toolMessage?.role).toBe("tool");
    expect(decodeToolResult(toolMessage?.content ?? "")).toEqual({
      ok: false,
      error_code: "permission_denied",
      error: "insufficient_scope: needs tickets:read",
    });
  });

  it("gives the model the summary line and the structured data of a success", async () => {
    const seen: ChatRequest[] = [];
    const tools = toolsAnswering(async () => ({ ...ok, text: 'Ticket #1\n{"ticket":{"id":1}}' }));
    await collect(
      runAgentTurn({ messages, limits }, scriptedModel(1, seen), tools, new AbortController().signal),
    );
    expect(decodeToolResult(seen[1]?.messages.at(-1)?.content ?? "")).toEqual({
      ok: true,
      text: "Ticket #1",
      data: { ticket: { id: 1 } },
    });
  });

  it("ends with unauthenticated and a refresh hint when the caller's token stops working", async () => {
    const tools = toolsAnswering(async () => ({
      status: "failed",
      text: "",
      errorCode: "unauthenticated",
      errorMessage: "expired",
    }));
    const seen: RunEvent[] = [];
    const err = await (async () => {
      for await (const e of runAgentTurn(
        { messages, limits },
        scriptedModel(1),
        tools,
        new AbortController().signal,
      ))
        seen.push(e);
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Unauthenticated);
    expect((err as ConnectError).rawMessage).toBe(REFRESH_MESSAGE);
    expect(seen.map((e) => e.event.case)).toEqual(["toolCallStarted", "toolCallFinished"]);
  });

  it("stops with CANCELLED when the caller goes away during a tool call", async () => {
    const abort = new AbortController();
    const tools = toolsAnswering(async () => {
      abort.abort();
      return { status: "failed", text: "", errorCode: "canceled", errorMessage: "cancelled" };
    });
    const events = await collect(runAgentTurn({ messages, limits }, scriptedModel(3), tools, abort.signal));
    expect(final(events).stopReason).toBe(StopReason.CANCELLED);
    expect(final(events).usage?.toolCalls).toBe(1);
  });

  it("stops at max tool calls and at max model turns", async () => {
    const tools = toolsAnswering(async () => ok);
    const byCalls = await collect(
      runAgentTurn(
        { messages, limits: { maxToolCalls: 2, maxModelTurns: 10 } },
        scriptedModel(5),
        tools,
        new AbortController().signal,
      ),
    );
    expect(byCalls.map((e) => e.event.case).slice(-3)).toEqual(["limitReached", "usage", "finalMessage"]);
    expect(final(byCalls)).toMatchObject({
      stopReason: StopReason.MAX_TOOL_CALLS,
      usage: { toolCalls: 2, modelTurns: 3 },
    });
    const byTurns = await collect(
      runAgentTurn(
        { messages, limits: { maxToolCalls: 10, maxModelTurns: 2 } },
        scriptedModel(5),
        tools,
        new AbortController().signal,
      ),
    );
    expect(final(byTurns)).toMatchObject({
      stopReason: StopReason.MAX_MODEL_TURNS,
      usage: { toolCalls: 2, modelTurns: 2 },
    });
    expect(final(byTurns).content).toMatch(/at most 2 model turn/);
  });

  it("turns a model failure into a Connect error without a stack", async () => {
    const failing: ModelProvider = {
      kind: "test",
      model: "test",
      complete: () => Promise.reject(new Error("socket hang up at /secret/path.ts:12")),
    };
    const err = await collect(
      runAgentTurn(
        { messages, limits },
        failing,
        toolsAnswering(async () => ok),
        new AbortController().signal,
      ),
    ).catch((e: unknown) => e as ConnectError);
    expect((err as ConnectError).code).toBe(Code.Internal);
    expect((err as ConnectError).rawMessage).not.toContain("secret");
  });

  it("says what failed at the model provider without its endpoint (kept as the cause, for the log)", async () => {
    const endpoint = "http://llm.internal.example:8000/v1/chat/completions";
    const failing: ModelProvider = {
      kind: "test",
      model: "test",
      complete: () =>
        Promise.reject(
          new ModelError("network", `cannot reach the model provider (POST ${endpoint}): ECONNREFUSED`),
        ),
    };
    const err = (await collect(
      runAgentTurn(
        { messages, limits },
        failing,
        toolsAnswering(async () => ok),
        new AbortController().signal,
      ),
    ).catch((e: unknown) => e)) as ConnectError;
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toBe("model: the model provider failed (network)");
    expect(err.rawMessage).not.toContain("llm.internal");
    expect((err.cause as Error).message).toContain(endpoint);
  });

  it("an untrusted model: hundreds of calls in one turn run exactly max_tool_calls; oversized arguments are never sent", async () => {
    const sent: string[] = [];
    const tools: RunTools = {
      definitions: [{ name: "get_ticket", parameters: { type: "object" } }],
      call: async (_name, args) => {
        sent.push(args);
        return ok;
      },
    };
    const flood: ModelProvider = {
      kind: "test",
      model: "test",
      complete: async () => ({
        model: "test",
        content: null,
        toolCalls: Array.from({ length: 300 }, (_, i) => ({
          id: `c${i}`,
          name: i % 2 ? "no_such_tool" : "get_ticket",
          arguments: i === 1 ? "x".repeat(MAX_ARGUMENTS_BYTES + 1) : "{not json",
        })),
        finishReason: "tool_calls",
        usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 },
      }),
    };
    const events = await collect(
      runAgentTurn(
        { messages, limits: { maxToolCalls: 3, maxModelTurns: 10 } },
        flood,
        tools,
        new AbortController().signal,
      ),
    );
    expect(final(events)).toMatchObject({
      stopReason: StopReason.MAX_TOOL_CALLS,
      usage: { toolCalls: 3, modelTurns: 1 },
    });
    expect(final(events).toolCalls).toHaveLength(3);
    // Calls 0 and 2 reach the gateway (which refuses bad JSON and unknown tools); call 1 is too big to send.
    expect(sent).toEqual(["{not json", "{not json"]);
    const big = final(events).toolCalls[1];
    expect(big).toMatchObject({ status: ToolCallStatus.FAILED, errorCode: "invalid_argument" });
    expect(big?.argumentsJson.length).toBeLessThanOrEqual(1_000);
    expect(events.filter((e) => e.event.case === "toolCallStarted")).toHaveLength(3);
  });

  it("gives every call of a run its own id, even when the model repeats ids across turns", async () => {
    const seen: ChatRequest[] = [];
    let turn = 0;
    const repeating: ModelProvider = {
      kind: "test",
      model: "test",
      async complete(request) {
        seen.push(request);
        turn++;
        const done = turn > 3;
        return {
          model: "test",
          content: done ? "done" : null,
          // What a provider without ids yields: call_0 on every turn.
          toolCalls: done ? [] : [{ id: "call_0", name: "get_ticket", arguments: "{}" }],
          finishReason: done ? "stop" : "tool_calls",
          usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 },
        };
      },
    };
    const events = await collect(
      runAgentTurn(
        { messages, limits },
        repeating,
        toolsAnswering(async () => ok),
        new AbortController().signal,
      ),
    );
    const ids = final(events).toolCalls.map((c) => c.id);
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(3);
    // The model sees each result under the id of the call it answers, in the same transcript.
    const last = seen.at(-1)?.messages ?? [];
    for (const [i, m] of last.entries()) {
      if (m.role !== "tool") continue;
      const asked = last[i - 1];
      expect(asked?.role === "assistant" ? asked.toolCalls?.map((c) => c.id) : []).toContain(m.toolCallId);
    }
    expect(last.filter((m) => m.role === "tool").map((m) => (m.role === "tool" ? m.toolCallId : ""))).toEqual(
      ids,
    );
  });
});

/** A streaming model: each turn's text in the given pieces, then `then` (a completion or a failure). */
function streamingModel(turns: { pieces: string[]; toolCall?: boolean; fail?: ModelError }[]): ModelProvider {
  let turn = 0;
  return {
    kind: "test",
    model: "test",
    complete: () => Promise.reject(new Error("a streaming provider is streamed")),
    async *stream(_request, options) {
      const script = turns[turn++];
      if (!script) throw new Error("no more turns");
      for (const text of script.pieces) {
        yield { type: "textDelta" as const, text };
        await new Promise((r) => setTimeout(r, 1));
        if (options?.signal?.aborted) throw new ModelError("aborted", "cancelled");
      }
      if (script.fail) throw script.fail;
      yield {
        type: "completion" as const,
        completion: {
          model: "test",
          content: script.pieces.join("") || null,
          toolCalls: script.toolCall ? [{ id: "s1", name: "get_ticket", arguments: '{"ticket_id":1}' }] : [],
          finishReason: script.toolCall ? "tool_calls" : "stop",
          usage: { promptTokens: 3, completionTokens: 2, totalTokens: 5 },
        },
      };
    },
  };
}

/**
 * A hosted model as the exactly-once writes meet it: it asks for `create_ticket` under an id of its
 * own choosing, new on every request (as providers' are), until it has seen a result.
 */
function hostedModel(seen: ChatRequest[]): ModelProvider {
  return {
    kind: "test",
    model: "hosted",
    async complete(request): Promise<ChatCompletion> {
      seen.push(request);
      const done = request.messages.some((m) => m.role === "tool");
      return {
        model: "hosted",
        content: done ? "Created it." : null,
        toolCalls: done
          ? []
          : [
              {
                id: `call_${Math.random().toString(36).slice(2, 10)}`,
                name: "create_ticket",
                arguments: '{"title":"VPN down"}',
              },
            ],
        finishReason: done ? "stop" : "tool_calls",
        usage: { promptTokens: 3, completionTokens: 2, totalTokens: 5 },
      };
    },
  };
}

describe("a turn run again from the calls it made (RunRequest.made_calls)", () => {
  const made = (status: ToolCallStatus) =>
    create(ToolCallSchema, {
      id: "call_first",
      name: "create_ticket",
      argumentsJson: '{"title":"VPN down"}',
      status,
      ...(status === ToolCallStatus.SUCCEEDED
        ? { resultText: "Created ticket #7", structuredResultJson: '{"ticket":{"id":7}}' }
        : {}),
    });
  const recording = (calls: { name: string; callId: string | undefined }[]): RunTools => ({
    definitions: [{ name: "create_ticket", parameters: { type: "object" } }],
    call: async (name, _args, _signal, callId) => {
      calls.push({ name, callId });
      return { status: "succeeded", text: "Created ticket #7", structuredJson: '{"ticket":{"id":7}}' };
    },
  });

  it("asked afresh, the model chooses a new id — so a new idempotency key — for the same write", async () => {
    const ids: (string | undefined)[] = [];
    for (let run = 0; run < 2; run++) {
      const calls: { name: string; callId: string | undefined }[] = [];
      await collect(
        runAgentTurn({ messages, limits }, hostedModel([]), recording(calls), new AbortController().signal),
      );
      ids.push(calls[0]?.callId);
    }
    expect(ids[0]).not.toBe(ids[1]);
  });

  it("a call that had its result is shown to the model with it, and not made again", async () => {
    const seen: ChatRequest[] = [];
    const calls: { name: string; callId: string | undefined }[] = [];
    const events = await collect(
      runAgentTurn(
        { messages, limits, madeCalls: [made(ToolCallStatus.SUCCEEDED)] },
        hostedModel(seen),
        recording(calls),
        new AbortController().signal,
      ),
    );
    expect(calls).toEqual([]);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.messages.slice(-2)).toEqual([
      {
        role: "assistant",
        content: null,
        toolCalls: [{ id: "call_first", name: "create_ticket", arguments: '{"title":"VPN down"}' }],
      },
      { role: "tool", toolCallId: "call_first", content: expect.stringContaining("Created ticket #7") },
    ]);
    expect(final(events)).toMatchObject({ content: "Created it.", stopReason: StopReason.COMPLETED });
    expect(final(events).toolCalls.map((c) => [c.id, c.status])).toEqual([
      ["call_first", ToolCallStatus.SUCCEEDED],
    ]);
    // The model turn that made the call, and the one that answered.
    expect(final(events).usage).toMatchObject({ toolCalls: 1, modelTurns: 2 });
  });

  it("whatever tool name the model writes, the recorded call can be sent back as made_calls", async () => {
    const names = ["z".repeat(300), ""];
    const model: ModelProvider = {
      kind: "test",
      model: "injected",
      async complete(request): Promise<ChatCompletion> {
        const done = request.messages.some((m) => m.role === "tool");
        return {
          model: "injected",
          content: done ? "done" : null,
          toolCalls: done ? [] : names.map((name, i) => ({ id: `c${i}`, name, arguments: "{}" })),
          finishReason: done ? "stop" : "tool_calls",
          usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 },
        };
      },
    };
    const sent: string[] = [];
    const tools: RunTools = {
      definitions: [],
      call: async (name) => {
        sent.push(name);
        return { status: "failed", text: "", errorCode: "not_found", errorMessage: `unknown tool ${name}` };
      },
    };
    const recorded = final(
      await collect(runAgentTurn({ messages, limits }, model, tools, new AbortController().signal)),
    ).toolCalls;
    expect(recorded.map((c) => c.name.length)).toEqual([128, 9]);
    expect(sent).toEqual(recorded.map((c) => c.name));
    expect(() =>
      validateRunRequest(
        create(RunRequestSchema, { agentId: "support-assistant", input: "again", madeCalls: recorded }),
      ),
    ).not.toThrow();
  });

  it("a failed call is made again under its own id (it may have run), but not one the user declined", async () => {
    const failedWith = (errorCode: string, id: string) =>
      create(ToolCallSchema, {
        ...made(ToolCallStatus.FAILED),
        id,
        errorCode,
        errorMessage: errorCode === "cancelled" ? "cancelled by the user" : "the gateway is unavailable",
      });
    const calls: { name: string; callId: string | undefined }[] = [];
    const seen: ChatRequest[] = [];
    const events = await collect(
      runAgentTurn(
        {
          messages,
          limits,
          madeCalls: [failedWith("unavailable", "call_lost"), failedWith("cancelled", "call_declined")],
        },
        hostedModel(seen),
        recording(calls),
        new AbortController().signal,
      ),
    );
    expect(calls).toEqual([{ name: "create_ticket", callId: "call_lost" }]);
    expect(final(events).toolCalls.map((c) => [c.id, c.status])).toEqual([
      ["call_declined", ToolCallStatus.FAILED],
      ["call_lost", ToolCallStatus.SUCCEEDED],
    ]);
  });

  it("a call with no outcome yet is made again under its own id, so with its own key, before the model is asked", async () => {
    const seen: ChatRequest[] = [];
    const calls: { name: string; callId: string | undefined }[] = [];
    const events = await collect(
      runAgentTurn(
        { messages, limits, madeCalls: [made(ToolCallStatus.RUNNING)] },
        hostedModel(seen),
        recording(calls),
        new AbortController().signal,
      ),
    );
    expect(calls).toEqual([{ name: "create_ticket", callId: "call_first" }]);
    expect(seen).toHaveLength(1);
    expect(final(events).toolCalls.map((c) => [c.id, c.status])).toEqual([
      ["call_first", ToolCallStatus.SUCCEEDED],
    ]);
  });
});

describe("agent loop with a streaming model", () => {
  it("relays each streamed piece as its own TextDelta; turns read as paragraphs and add up to the final content", async () => {
    const model = streamingModel([
      { pieces: ["Let me ", "look."], toolCall: true },
      { pieces: ["Ticket 1 ", "is open."] },
    ]);
    const events = await collect(
      runAgentTurn(
        { messages, limits },
        model,
        toolsAnswering(async () => ok),
        new AbortController().signal,
      ),
    );
    const deltas = events.flatMap((e) => (e.event.case === "textDelta" ? [e.event.value.text] : []));
    expect(deltas).toEqual(["Let me ", "look.", "\n\nTicket 1 ", "is open."]);
    expect(events.map((e) => e.event.case).slice(0, 3)).toEqual([
      "textDelta",
      "textDelta",
      "toolCallStarted",
    ]);
    expect(final(events)).toMatchObject({
      content: "Let me look.\n\nTicket 1 is open.",
      stopReason: StopReason.COMPLETED,
    });
  });

  it("a run cancelled mid-answer ends CANCELLED with the text the caller already saw", async () => {
    const controller = new AbortController();
    const model = streamingModel([{ pieces: ["Part ", "of ", "it"] }]);
    const events: RunEvent[] = [];
    for await (const e of runAgentTurn(
      { messages, limits },
      model,
      toolsAnswering(async () => ok),
      controller.signal,
    )) {
      events.push(e);
      if (e.event.case === "textDelta") controller.abort();
    }
    expect(final(events)).toMatchObject({ content: "Part ", stopReason: StopReason.CANCELLED });
  });

  it("a stream that fails mid-answer fails the run with the provider's kind", async () => {
    const model = streamingModel([
      { pieces: ["Half "], fail: new ModelError("network", "stream cut at http://x") },
    ]);
    const err = await collect(
      runAgentTurn(
        { messages, limits },
        model,
        toolsAnswering(async () => ok),
        new AbortController().signal,
      ),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect(err).toMatchObject({
      code: Code.Unavailable,
      rawMessage: "model: the model provider failed (network)",
    });
  });
});
