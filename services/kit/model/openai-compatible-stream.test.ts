import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModelError } from "./model-error.js";
import { createOpenAiCompatibleProvider } from "./openai-compatible.js";
import {
  type ChatStreamServer,
  chunk,
  pause,
  sse,
  startChatStreamServer,
  startEventStream,
  writeEach,
} from "./testing/chat-stream-server.js";
import type { ChatCompletion, CompletionEvent, ModelProvider } from "./types.js";

let server: ChatStreamServer;
beforeAll(async () => {
  server = await startChatStreamServer();
});
afterAll(() => server.close());

const provider = (timeoutMs = 5_000): ModelProvider =>
  createOpenAiCompatibleProvider({ baseUrl: server.baseUrl, model: "m", apiKey: "sk-secret", timeoutMs });

const ask = { messages: [{ role: "user" as const, content: "hi" }] };

async function drain(p: ModelProvider, signal?: AbortSignal) {
  const deltas: string[] = [];
  let completion: ChatCompletion | undefined;
  const stream = p.stream?.(ask, signal ? { signal } : {});
  if (!stream) throw new Error("the provider does not stream");
  for await (const e of stream) {
    if (e.type === "textDelta") deltas.push(e.text);
    else completion = e.completion;
  }
  return { deltas, completion };
}

async function failureOf(run: Promise<unknown>): Promise<ModelError> {
  const err = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ModelError);
  return err as ModelError;
}

describe("OpenAI-compatible provider, streaming", () => {
  it("asks for stream: true with usage and relays each text delta before the next one is even written", async () => {
    const pieces = ["Hel", "lo, ", "wörld", "!"];
    let written = 0;
    let release: (() => void) | undefined;
    // The server writes the next piece only once the client has seen the previous delta.
    const gate = () =>
      new Promise<void>((r) => {
        release = r;
        setTimeout(r, 2_000);
      });
    server.respond = async (_b, res) => {
      startEventStream(res);
      res.write(sse(chunk({ role: "assistant", content: "" })));
      for (const text of pieces) {
        written++;
        res.write(sse(chunk({ content: text })));
        await gate();
      }
      res.write(sse(chunk({}, { finish_reason: "stop" })));
      res.write(
        sse(chunk(undefined, { usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 } })),
      );
      res.end(sse("[DONE]"));
    };
    const seenAt: number[] = [];
    const deltas: string[] = [];
    let completion: ChatCompletion | undefined;
    for await (const e of provider().stream?.(ask) ?? []) {
      if (e.type === "textDelta") {
        deltas.push(e.text);
        seenAt.push(written);
        release?.();
      } else completion = e.completion;
    }
    expect(deltas).toEqual(pieces);
    expect(seenAt).toEqual([1, 2, 3, 4]);
    expect(completion).toEqual({
      model: "stream-model-2024",
      content: "Hello, wörld!",
      toolCalls: [],
      finishReason: "stop",
      usage: { promptTokens: 12, completionTokens: 5, totalTokens: 17 },
    });
    expect(server.seen.at(-1)).toMatchObject({
      model: "m",
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "hi" }],
    });
  });

  it("reassembles two parallel tool calls whose fragments interleave by index, even split mid-event", async () => {
    const call = (index: number, fn: Record<string, string>, id?: string) =>
      chunk({ tool_calls: [{ index, ...(id ? { id, type: "function" } : {}), function: fn }] });
    const bytes = [
      sse(chunk({ role: "assistant", content: null })),
      sse(call(0, { name: "get_ticket", arguments: "" }, "call_A")),
      sse(call(1, { name: "list_tickets", arguments: "" }, "call_B")),
      sse(call(0, { arguments: '{"ticket' })),
      sse(call(1, { arguments: '{"status":' })),
      sse(call(0, { arguments: '_id": 12}' })),
      sse(call(1, { arguments: ' "open"}' })),
      sse(chunk({}, { finish_reason: "tool_calls" })),
      sse(chunk(undefined, { usage: { prompt_tokens: 40, completion_tokens: 20, total_tokens: 60 } })),
      sse("[DONE]"),
    ]
      .join("")
      // CRLF line ends, and TCP writes that cut events, lines and CRLFs anywhere.
      .replaceAll("\n", "\r\n");
    const cuts: string[] = [];
    for (let i = 0; i < bytes.length; i += 37) cuts.push(bytes.slice(i, i + 37));
    server.respond = async (_b, res) => {
      startEventStream(res);
      await writeEach(res, cuts, pause(2));
      res.end();
    };
    const { deltas, completion } = await drain(provider());
    expect(deltas).toEqual([]);
    expect(completion).toMatchObject({
      content: null,
      finishReason: "tool_calls",
      toolCalls: [
        { id: "call_A", name: "get_ticket", arguments: '{"ticket_id": 12}' },
        { id: "call_B", name: "list_tickets", arguments: '{"status": "open"}' },
      ],
      usage: { promptTokens: 40, completionTokens: 20, totalTokens: 60 },
    });
  });

  it("a stream cut mid-way (connection reset) is a network error after the deltas already sent", async () => {
    server.respond = async (_b, res) => {
      startEventStream(res);
      await writeEach(res, [sse(chunk({ content: "Partial " })), sse(chunk({ content: "answ" }))], pause(20));
      res.socket?.destroy();
    };
    const deltas: string[] = [];
    const err = await failureOf(
      (async () => {
        for await (const e of provider().stream?.(ask) ?? []) if (e.type === "textDelta") deltas.push(e.text);
      })(),
    );
    expect(deltas).toEqual(["Partial ", "answ"]);
    expect(err.kind).toBe("network");
    expect(err.message).not.toContain("sk-secret");
  });

  it("a stream that ends cleanly but before data: [DONE] is a network error, not a short answer", async () => {
    server.respond = async (_b, res) => {
      startEventStream(res);
      await writeEach(res, [sse(chunk({ content: "Half" }))], pause(5));
      res.end();
    };
    const err = await failureOf(drain(provider()));
    expect(err.kind).toBe("network");
    expect(err.message).toMatch(/ended before data: \[DONE\]/);
  });

  it("a malformed chunk and an error object mid-stream are bad_response", async () => {
    server.respond = async (_b, res) => {
      startEventStream(res);
      await writeEach(res, [sse(chunk({ content: "ok" })), "data: {not json\n\n"], pause(5));
      res.end();
    };
    expect((await failureOf(drain(provider()))).kind).toBe("bad_response");

    server.respond = async (_b, res) => {
      startEventStream(res);
      await writeEach(res, [sse({ error: { message: "overloaded", type: "server_error" } })], pause(5));
      res.end();
    };
    const err = await failureOf(drain(provider()));
    expect(err.kind).toBe("bad_response");
    expect(err.message).toContain("overloaded");
  });

  it("an HTTP error before the stream is an http error with its status and message", async () => {
    server.respond = (_b, res) => {
      res.writeHead(401, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: "Incorrect API key provided: sk-secret" } }));
    };
    const err = await failureOf(drain(provider()));
    expect(err).toMatchObject({ kind: "http", status: 401 });
    expect(err.message).toContain("Incorrect API key");
    expect(err.message).not.toContain("sk-secret");
  });

  it("a stream that stalls is a timeout (LLM_TIMEOUT bounds the whole answer), a caller's abort is aborted", async () => {
    server.respond = (_b, res) => {
      startEventStream(res);
      res.write(sse(chunk({ content: "thinking" })));
      // …and nothing more: the connection stays open.
    };
    const started = Date.now();
    expect((await failureOf(drain(provider(300)))).kind).toBe("timeout");
    expect(Date.now() - started).toBeLessThan(3_000);

    const controller = new AbortController();
    const events: CompletionEvent[] = [];
    const err = await failureOf(
      (async () => {
        for await (const e of provider().stream?.(ask, { signal: controller.signal }) ?? []) {
          events.push(e);
          controller.abort();
        }
      })(),
    );
    expect(events).toHaveLength(1);
    expect(err.kind).toBe("aborted");
  });

  it("a server that ignores stream: true and answers with one JSON completion still works", async () => {
    server.respond = (_b, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          model: "plain",
          choices: [
            { index: 0, message: { role: "assistant", content: "All at once" }, finish_reason: "stop" },
          ],
          usage: { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 },
        }),
      );
    };
    const { deltas, completion } = await drain(provider());
    expect(deltas).toEqual(["All at once"]);
    expect(completion).toMatchObject({ model: "plain", content: "All at once", usage: { totalTokens: 6 } });
  });
});
