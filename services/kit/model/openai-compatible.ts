import { chatCompletionFromWire } from "./chat-completion-wire.js";
import { chatRequestToWire } from "./chat-request-wire.js";
import { completionFromChunks } from "./completion-chunks.js";
import { type ProviderPost, providerPost, readText } from "./provider-request.js";
import { sseData } from "./sse-events.js";
import type {
  ChatCompletion,
  ChatRequest,
  CompleteOptions,
  CompletionEvent,
  ModelProvider,
} from "./types.js";

export interface OpenAiCompatibleOptions {
  /** e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1; `/chat/completions` is appended. */
  readonly baseUrl: string;
  readonly model: string;
  /** Sent as `Authorization: Bearer …` when set (local servers often need none). */
  readonly apiKey?: string;
  readonly timeoutMs?: number;
  /** Injected for tests of odd transports; the global fetch otherwise. */
  readonly fetch?: typeof fetch;
}

const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * A provider for any server that speaks OpenAI chat completions (OpenAI, Azure-style proxies,
 * vLLM, llama.cpp, Ollama's /v1, LiteLLM …): one POST to `/chat/completions`, no retries (the
 * caller decides; a retried tool-calling turn is not always safe). `complete` asks for the whole
 * answer; `stream` asks for `stream: true` and relays the text as it comes (docs/agent.md).
 * `timeoutMs` bounds the whole request, streamed body included (`LLM_TIMEOUT`).
 */
export function createOpenAiCompatibleProvider(options: OpenAiCompatibleOptions): ModelProvider {
  const endpoint = `${options.baseUrl.replace(/\/+$/, "")}/chat/completions`;
  const post = providerPost({
    endpoint,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    apiKey: options.apiKey,
    fetch: options.fetch ?? fetch,
  });
  return {
    kind: "openai-compatible",
    model: options.model,
    async complete(request: ChatRequest, callOptions: CompleteOptions = {}): Promise<ChatCompletion> {
      const answer = await post(chatRequestToWire(options.model, request), callOptions, "application/json");
      return chatCompletionFromWire(await readText(answer), options.model, endpoint);
    },
    stream: (request: ChatRequest, callOptions: CompleteOptions = {}) =>
      streamCompletion(post, { request, callOptions, model: options.model, endpoint }),
  };
}

/** `ModelProvider.stream`: the answer as server-sent chunks, or whole from a server that ignores `stream`. */
async function* streamCompletion(
  post: ProviderPost,
  call: { request: ChatRequest; callOptions: CompleteOptions; model: string; endpoint: string },
): AsyncGenerator<CompletionEvent> {
  const { model, endpoint } = call;
  // OpenAI API reference, "Create chat completion": `stream` sends chunks as server-sent
  // events; `stream_options.include_usage` adds a last chunk with the token counts.
  const body = {
    ...chatRequestToWire(model, call.request),
    stream: true,
    stream_options: { include_usage: true },
  };
  const answer = await post(body, call.callOptions, "text/event-stream");
  const { response, fail } = answer;
  const type = response.headers.get("content-type") ?? "";
  if (!type.includes("text/event-stream") || !response.body) {
    // A server that ignores `stream` answers with one JSON completion: relay it whole.
    const completion = chatCompletionFromWire(await readText(answer), model, endpoint);
    if (completion.content) yield { type: "textDelta", text: completion.content };
    yield { type: "completion", completion };
    return;
  }
  const reader = response.body.getReader();
  const chunks = async function* () {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  };
  try {
    yield* completionFromChunks(sseData(chunks()), model, `POST ${endpoint}`);
  } catch (err) {
    throw fail(err);
  } finally {
    // The consumer may stop early (the run was cancelled): release the connection.
    reader.cancel().catch(() => {});
  }
}
