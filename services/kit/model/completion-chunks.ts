import { finishReason } from "./finish-reason.js";
import { ModelError } from "./model-error.js";
import { tokenUsage } from "./token-usage.js";
import { type ToolCallFragment, ToolCallFragments } from "./tool-call-fragments.js";
import type { ChatCompletion, CompletionEvent } from "./types.js";

/** One `chat.completion.chunk` (OpenAI API reference, "The chat completion chunk object"). */
interface WireChunk {
  model?: unknown;
  choices?: {
    delta?: { content?: unknown; tool_calls?: ToolCallFragment[] };
    finish_reason?: unknown;
  }[];
  usage?: Record<string, unknown> | null;
  error?: { message?: unknown } | string;
}

/** What the chunks have said so far. */
interface StreamedAnswer {
  model: string;
  content: string | null;
  readonly toolCalls: ToolCallFragments;
  rawFinish: unknown;
  usage: Record<string, unknown>;
}

/**
 * Turns the `data` of a chat-completions stream into text deltas and, at `data: [DONE]`, the whole
 * completion. Tool calls come in fragments (`ToolCallFragments`); usage comes in a last chunk with
 * no choices when `stream_options.include_usage` is asked for. `describe` names the request in errors.
 */
export async function* completionFromChunks(
  data: AsyncIterable<string>,
  configuredModel: string,
  describe: string,
): AsyncGenerator<CompletionEvent> {
  const bad = (why: string) => new ModelError("bad_response", `model provider sent ${why} (${describe})`);
  const answer: StreamedAnswer = {
    model: configuredModel,
    content: null,
    toolCalls: new ToolCallFragments(),
    rawFinish: undefined,
    usage: {},
  };
  for await (const text of data) {
    if (text.trim() === "[DONE]") {
      yield { type: "completion", completion: completedAnswer(answer, bad) };
      return;
    }
    const delta = absorbChunk(answer, parseChunk(text, bad));
    if (isText(delta?.content)) yield { type: "textDelta", text: delta.content };
    answer.toolCalls.add(delta?.tool_calls ?? []);
  }
  throw new ModelError(
    "network",
    `the model provider's stream ended before data: [DONE] — the answer is incomplete (${describe})`,
  );
}

function parseChunk(text: string, bad: (why: string) => ModelError): WireChunk {
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
  return chunk;
}

type WireDelta = NonNullable<NonNullable<WireChunk["choices"]>[number]["delta"]>;

/** Adds the model, usage, finish reason and text of `chunk` to `answer`; returns its delta. */
function absorbChunk(answer: StreamedAnswer, chunk: WireChunk): WireDelta | undefined {
  if (typeof chunk.model === "string" && chunk.model) answer.model = chunk.model;
  if (chunk.usage && typeof chunk.usage === "object") answer.usage = chunk.usage;
  const choice = Array.isArray(chunk.choices) ? chunk.choices[0] : undefined;
  if (!choice) return undefined;
  if (choice.finish_reason !== undefined && choice.finish_reason !== null)
    answer.rawFinish = choice.finish_reason;
  const delta = choice.delta;
  if (isText(delta?.content)) answer.content = (answer.content ?? "") + delta.content;
  return delta;
}

function isText(content: unknown): content is string {
  return typeof content === "string" && content !== "";
}

function completedAnswer(answer: StreamedAnswer, bad: (why: string) => ModelError): ChatCompletion {
  const toolCalls = answer.toolCalls.complete(bad);
  return {
    model: answer.model,
    content: answer.content,
    toolCalls,
    finishReason: finishReason(answer.rawFinish, toolCalls.length > 0),
    usage: tokenUsage(answer.usage),
  };
}
