import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModelError } from "./model-error.js";
import { createOpenAiCompatibleProvider } from "./openai-compatible.js";

/**
 * A loopback server that speaks the chat-completions wire format: it records each request and
 * answers with whatever the current test scripted, like a real OpenAI-compatible server would.
 */
interface Seen {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
}
let server: http.Server;
let baseUrl: string;
const seen: Seen[] = [];
let respond: (body: Record<string, unknown>, res: http.ServerResponse) => void;

function completion(message: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    id: "chatcmpl-test",
    object: "chat.completion",
    created: 1_700_000_000,
    model: "test-model-2024",
    choices: [
      { index: 0, message: { role: "assistant", ...message }, finish_reason: extra.finish_reason ?? "stop" },
    ],
    usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 },
  };
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let data = "";
    req.on("data", (c: Buffer) => {
      data += c.toString();
    });
    req.on("end", () => {
      const body = JSON.parse(data) as Record<string, unknown>;
      seen.push({ path: req.url ?? "", headers: req.headers, body });
      respond(body, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const json = (res: http.ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
};

describe("OpenAI-compatible provider", () => {
  it("posts a chat completion and maps content and usage", async () => {
    respond = (_b, res) => json(res, 200, completion({ content: "Hello there" }));
    const provider = createOpenAiCompatibleProvider({
      baseUrl: `${baseUrl}/`,
      model: "test-model",
      apiKey: "sk-test-123",
    });
    const out = await provider.complete({
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: "hi" },
      ],
      temperature: 0,
      maxTokens: 50,
    });
    expect(out).toEqual({
      model: "test-model-2024",
      content: "Hello there",
      toolCalls: [],
      finishReason: "stop",
      usage: { promptTokens: 12, completionTokens: 5, totalTokens: 17 },
    });
    const req = seen.at(-1) as Seen;
    expect(req.path).toBe("/v1/chat/completions");
    expect(req.headers.authorization).toBe("Bearer sk-test-123");
    expect(req.body).toEqual({
      model: "test-model",
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: "hi" },
      ],
      temperature: 0,
      max_tokens: 50,
    });
  });

  it("sends tools and maps tool calls both ways", async () => {
    respond = (_b, res) =>
      json(
        res,
        200,
        completion(
          {
            content: null,
            tool_calls: [
              {
                id: "call_1",
                type: "function",
                function: { name: "get_ticket", arguments: '{"ticket_id":12}' },
              },
            ],
          },
          { finish_reason: "tool_calls" },
        ),
      );
    const provider = createOpenAiCompatibleProvider({ baseUrl, model: "m" });
    const out = await provider.complete({
      messages: [
        { role: "user", content: "show ticket 12" },
        {
          role: "assistant",
          content: null,
          toolCalls: [{ id: "call_0", name: "list_tickets", arguments: "{}" }],
        },
        { role: "tool", toolCallId: "call_0", content: '{"tickets":[]}' },
      ],
      tools: [
        { name: "get_ticket", description: "Get one ticket", parameters: { type: "object", properties: {} } },
      ],
      toolChoice: "auto",
    });
    expect(out.toolCalls).toEqual([{ id: "call_1", name: "get_ticket", arguments: '{"ticket_id":12}' }]);
    expect(out.finishReason).toBe("tool_calls");
    expect(out.content).toBeNull();
    const body = (seen.at(-1) as Seen).body;
    expect(seen.at(-1)?.headers.authorization).toBeUndefined();
    expect(body.tools).toEqual([
      {
        type: "function",
        function: {
          name: "get_ticket",
          description: "Get one ticket",
          parameters: { type: "object", properties: {} },
        },
      },
    ]);
    expect(body.tool_choice).toBe("auto");
    expect(body.messages).toEqual([
      { role: "user", content: "show ticket 12" },
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "call_0", type: "function", function: { name: "list_tickets", arguments: "{}" } }],
      },
      { role: "tool", tool_call_id: "call_0", content: '{"tickets":[]}' },
    ]);
  });

  it("asks for structured output with a json_schema response format and returns the model's text", async () => {
    respond = (b, res) => {
      const format = b.response_format as {
        type: string;
        json_schema: { name: string; strict: boolean; schema: Record<string, unknown> };
      };
      expect(format.type).toBe("json_schema");
      expect(format.json_schema.name).toBe("weather");
      expect(format.json_schema.strict).toBe(true);
      expect(format.json_schema.schema).toEqual({ type: "object", required: ["sky"] });
      json(res, 200, completion({ content: '{"sky":"blue"}' }));
    };
    const provider = createOpenAiCompatibleProvider({ baseUrl, model: "m" });
    const out = await provider.complete({
      messages: [{ role: "user", content: "how is the sky?" }],
      responseFormat: {
        type: "json_schema",
        name: "weather",
        strict: true,
        schema: { type: "object", required: ["sky"] },
      },
    });
    expect(out.content).toBe('{"sky":"blue"}');
  });

  it("reports an HTTP error with the provider's message and without the API key", async () => {
    respond = (_b, res) =>
      json(res, 401, {
        error: { message: "Incorrect API key provided: sk-secret-999", type: "invalid_request_error" },
      });
    const provider = createOpenAiCompatibleProvider({ baseUrl, model: "m", apiKey: "sk-secret-999" });
    const err = (await provider
      .complete({ messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e)) as ModelError;
    expect(err).toBeInstanceOf(ModelError);
    expect(err.kind).toBe("http");
    expect(err.status).toBe(401);
    expect(err.message).toMatch(/HTTP 401 .*Incorrect API key provided/);
    expect(err.message).not.toContain("sk-secret-999");
  });

  it("times out with a clear error", async () => {
    respond = (_b, res) => setTimeout(() => json(res, 200, completion({ content: "late" })), 1_000);
    const provider = createOpenAiCompatibleProvider({ baseUrl, model: "m", timeoutMs: 100 });
    const err = (await provider
      .complete({ messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e)) as ModelError;
    expect(err.kind).toBe("timeout");
    expect(err.message).toMatch(/did not answer within 100 ms/);
  });

  it("honours the caller's abort signal", async () => {
    respond = (_b, res) => setTimeout(() => json(res, 200, completion({ content: "late" })), 1_000);
    const provider = createOpenAiCompatibleProvider({ baseUrl, model: "m" });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const err = (await provider
      .complete({ messages: [{ role: "user", content: "x" }] }, { signal: controller.signal })
      .catch((e: unknown) => e)) as ModelError;
    expect(err.kind).toBe("aborted");
  });

  it("rejects a body that is not a chat completion", async () => {
    respond = (_b, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<html>proxy login</html>");
    };
    const provider = createOpenAiCompatibleProvider({ baseUrl, model: "m" });
    const err = (await provider
      .complete({ messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e)) as ModelError;
    expect(err.kind).toBe("bad_response");
    respond = (_b, res) => json(res, 200, { choices: [] });
    const err2 = (await provider
      .complete({ messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e)) as ModelError;
    expect(err2.message).toMatch(/no choices\[0\]\.message/);
  });

  it("reports an unreachable server as a network error", async () => {
    const provider = createOpenAiCompatibleProvider({ baseUrl: "http://127.0.0.1:1/v1", model: "m" });
    const err = (await provider
      .complete({ messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e)) as ModelError;
    expect(err.kind).toBe("network");
    expect(err.message).toMatch(/cannot reach the model provider/);
  });
});
