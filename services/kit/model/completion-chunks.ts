import { finishReason } from "./finish-reason.js";
import { ModelError } from "./model-error.js";
import type { CompletionEvent, ToolCall } from "./types.js";

/** One `chat.completion.chunk` (OpenAI API reference, "The chat completion chunk object"). */
interface WireChunk {
  model?: unknown;
  choices?: {
    delta?: {
      content?: unknown;
      tool_calls?: { index?: unknown; id?: unknown; function?: { name?: unknown; arguments?: unknown } }[];
    };
    finish_reason?: unknown;
  }[];
  usage?: Record<string, unknown> | null;
  error?: { message?: unknown } | string;
}

interface PartialCall {
  id: string;
  name: string;
  arguments: string;
}

/**
 * Turns the `data` of a chat-completions stream into text deltas and, at `data: [DONE]`, the whole
 * completion. Tool calls come in fragments keyed by `index` (id and name in the first, `arguments`
 * as pieces of JSON text to concatenate), possibly interleaved; usage comes in a last chunk with no
 * choices when `stream_options.include_usage` is asked for. `describe` names the request in errors.
 */
export async function* completionFromChunks(
  data: AsyncIterable<string>,
  configuredModel: string,
  describe: string,
): AsyncGenerator<CompletionEvent> {
  const bad = (why: string) => new ModelError("bad_response", `model provider sent ${why} (${describe})`);
  let model = configuredModel;
  let content: string | null = null;
  const calls = new Map<number, PartialCall>();
  let rawFinish: unknown;
  let usage: Record<string, unknown> = {};

  for await (const text of data) {
    if (text.trim() === "[DONE]") {
      const toolCalls: ToolCall[] = [...calls.entries()]
        .sort(([a], [b]) => a - b)
        .map(([i, c]) => {
          if (!c.name) throw bad(`tool call ${i} without a function name`);
          return { id: c.id || `call_${i}`, name: c.name, arguments: c.arguments || "{}" };
        });
      const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
      const promptTokens = num(usage.prompt_tokens);
      const completionTokens = num(usage.completion_tokens);
      yield {
        type: "completion",
        completion: {
          model,
          content,
          toolCalls,
          finishReason: finishReason(rawFinish, toolCalls.length > 0),
          usage: {
            promptTokens,
            completionTokens,
            totalTokens: num(usage.total_tokens) || promptTokens + completionTokens,
          },
        },
      };
      return;
    }
    let chunk: WireChunk;
    try {
      chunk = JSON.parse(text) as WireChunk;
    } catch {
      throw bad("a stream chunk that is not JSON");
    }
    if (typeof chunk !== "object" || chunk === null) throw bad("a stream chunk that is not an object");
    // Servers report a failure after the stream started as an `error` object in place of a chunk.
    if (chunk.error !== undefined) {
      const msg = typeof chunk.error === "string" ? chunk.error : chunk.error?.message;
      throw bad(`an error mid-stream: ${typeof msg === "string" ? msg.slice(0, 300) : "(no message)"}`);
    }
    if (typeof chunk.model === "string" && chunk.model) model = chunk.model;
    if (chunk.usage && typeof chunk.usage === "object") usage = chunk.usage;
    const choice = Array.isArray(chunk.choices) ? chunk.choices[0] : undefined;
    if (!choice) continue;
    if (choice.finish_reason !== undefined && choice.finish_reason !== null) rawFinish = choice.finish_reason;
    const delta = choice.delta;
    if (typeof delta?.content === "string" && delta.content !== "") {
      content = (content ?? "") + delta.content;
      yield { type: "textDelta", text: delta.content };
    }
    for (const [position, fragment] of (delta?.tool_calls ?? []).entries()) {
      // Some servers leave out `index` when they send whole calls; their position stands in.
      const index = typeof fragment.index === "number" ? fragment.index : position;
      const call = calls.get(index) ?? { id: "", name: "", arguments: "" };
      calls.set(index, call);
      if (typeof fragment.id === "string" && !call.id) call.id = fragment.id;
      if (typeof fragment.function?.name === "string" && !call.name) call.name = fragment.function.name;
      const args = fragment.function?.arguments;
      // Some servers send parsed objects instead of JSON text; normalise to text.
      if (typeof args === "string") call.arguments += args;
      else if (args !== undefined && args !== null) call.arguments += JSON.stringify(args);
    }
  }
  throw new ModelError(
    "network",
    `the model provider's stream ended before data: [DONE] — the answer is incomplete (${describe})`,
  );
}
