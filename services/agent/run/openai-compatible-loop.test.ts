import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StopReason, ToolCallStatus } from "#gen/supportext/agent/v1/agent_pb.js";
import { createModelProvider } from "#kit/service/index.js";
import { runAgentTurn } from "./agent-loop.js";
import type { RunTools } from "./tool-gateway.js";

/** A loopback server speaking the chat-completions wire format: a tool call first, then an answer. */
let server: http.Server;
let baseUrl: string;
const bodies: Record<string, unknown>[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let data = "";
    req.on("data", (c: Buffer) => {
      data += c.toString();
    });
    req.on("end", () => {
      const body = JSON.parse(data) as { messages: { role: string }[] };
      bodies.push(body);
      const sawTool = body.messages.some((m) => m.role === "tool");
      const message = sawTool
        ? { role: "assistant", content: "Ticket 12 is open." }
        : {
            role: "assistant",
            content: null,
            tool_calls: [
              {
                id: "call_a",
                type: "function",
                function: { name: "get_ticket", arguments: '{"ticket_id":12}' },
              },
            ],
          };
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          id: "x",
          object: "chat.completion",
          model: "wire-model",
          choices: [{ index: 0, message, finish_reason: sawTool ? "stop" : "tool_calls" }],
          usage: { prompt_tokens: 10, completion_tokens: 4, total_tokens: 14 },
        }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe("agent loop with the OpenAI-compatible provider", () => {
  it("sends the tools, runs the requested call, returns its result and ends with the model's answer", async () => {
    const model = createModelProvider({
      LLM_BASE_URL: baseUrl,
      LLM_MODEL: "m",
      LLM_API_KEY: undefined,
      LLM_TIMEOUT: 5,
    });
    const tools: RunTools = {
      definitions: [{ name: "get_ticket", description: "Get one ticket", parameters: { type: "object" } }],
      call: async () => ({
        status: "succeeded",
        text: "Ticket #12 open",
        structuredJson: '{"ticket":{"id":12}}',
      }),
    };
    const events = [];
    for await (const e of runAgentTurn(
      {
        messages: [{ role: "user", content: "show ticket 12" }],
        limits: { maxToolCalls: 5, maxModelTurns: 5 },
      },
      model,
      tools,
      new AbortController().signal,
    )) {
      events.push(e);
    }
    const last = events.at(-1)?.event;
    expect(last?.case).toBe("finalMessage");
    if (last?.case !== "finalMessage") return;
    expect(last.value).toMatchObject({ content: "Ticket 12 is open.", stopReason: StopReason.COMPLETED });
    expect(last.value.usage).toMatchObject({ modelTurns: 2, toolCalls: 1, inputTokens: 20, outputTokens: 8 });
    expect(last.value.toolCalls[0]).toMatchObject({
      id: "call_a",
      name: "get_ticket",
      status: ToolCallStatus.SUCCEEDED,
    });
    expect((bodies[0] as { tools: unknown[] }).tools).toHaveLength(1);
    const second = bodies[1] as { messages: Record<string, unknown>[] };
    expect(second.messages.at(-1)).toMatchObject({ role: "tool", tool_call_id: "call_a" });
    expect(JSON.parse(String(second.messages.at(-1)?.content))).toEqual({
      ok: true,
      text: "Ticket #12 open",
      data: { ticket: { id: 12 } },
    });
  });
});
