import { completionFromChunks } from "./completion-chunks.js";
import { finishReason } from "./finish-reason.js";
import { ModelError } from "./model-error.js";
import { sseData } from "./sse-events.js";
import type {
  ChatCompletion,
  ChatMessage,
  ChatRequest,
  CompleteOptions,
  CompletionEvent,
  ModelProvider,
  ToolCall,
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
/** How much of an error body goes into the message: enough to diagnose, not a whole HTML page. */
const MAX_ERROR_BODY = 300;

/**
 * A provider for any server that speaks OpenAI chat completions (OpenAI, Azure-style proxies,
 * vLLM, llama.cpp, Ollama's /v1, LiteLLM …): one POST to `/chat/completions`, no retries (the
 * caller decides; a retried tool-calling turn is not always safe). `complete` asks for the whole
 * answer; `stream` asks for `stream: true` and relays the text as it comes (docs/agent.md).
 * `timeoutMs` bounds the whole request, streamed body included (`LLM_TIMEOUT`).
 */
export function createOpenAiCompatibleProvider(options: OpenAiCompatibleOptions): ModelProvider {
  const endpoint = `${options.baseUrl.replace(/\/+$/, "")}/chat/completions`;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const doFetch = options.fetch ?? fetch;
  const secrets = options.apiKey ? [options.apiKey] : [];
  const scrub = (text: string) => secrets.reduce((t, s) => t.split(s).join("[REDACTED]"), text);

  /** Posts the request; resolves once the status is known and OK, with a way to map body-read errors. */
  async function post(body: Record<string, unknown>, callOptions: CompleteOptions, accept: string) {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = callOptions.signal ? AbortSignal.any([timeout, callOptions.signal]) : timeout;
    const fail = (err: unknown) =>
      err instanceof ModelError ? err : failure(err, timeout, callOptions.signal, endpoint, timeoutMs, scrub);
    let response: Response;
    try {
      response = await doFetch(endpoint, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept,
          ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
        },
        body: JSON.stringify(body),
        signal,
      });
    } catch (err) {
      throw fail(err);
    }
    if (!response.ok) {
      let text = "";
      try {
        text = await response.text();
      } catch (err) {
        throw fail(err);
      }
      throw new ModelError(
        "http",
        scrub(`model provider answered HTTP ${response.status} (POST ${endpoint}): ${errorDetail(text)}`),
        response.status,
      );
    }
    return { response, fail };
  }

  async function readText(response: Response, fail: (err: unknown) => ModelError): Promise<string> {
    try {
      return await response.text();
    } catch (err) {
      throw fail(err);
    }
  }

  return {
    kind: "openai-compatible",
    model: options.model,
    async complete(request: ChatRequest, callOptions: CompleteOptions = {}): Promise<ChatCompletion> {
      const { response, fail } = await post(toWire(options.model, request), callOptions, "application/json");
      return fromWire(await readText(response, fail), options.model, endpoint);
    },
    async *stream(request: ChatRequest, callOptions: CompleteOptions = {}): AsyncGenerator<CompletionEvent> {
      // OpenAI API reference, "Create chat completion": `stream` sends chunks as server-sent
      // events; `stream_options.include_usage` adds a last chunk with the token counts.
      const body = {
        ...toWire(options.model, request),
        stream: true,
        stream_options: { include_usage: true },
      };
      const { response, fail } = await post(body, callOptions, "text/event-stream");
      const type = response.headers.get("content-type") ?? "";
      if (!type.includes("text/event-stream") || !response.body) {
        // A server that ignores `stream` answers with one JSON completion: relay it whole.
        const completion = fromWire(await readText(response, fail), options.model, endpoint);
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
        yield* completionFromChunks(sseData(chunks()), options.model, `POST ${endpoint}`);
      } catch (err) {
        throw fail(err);
      } finally {
        // The consumer may stop early (the run was cancelled): release the connection.
        reader.cancel().catch(() => {});
      }
    },
  };
}

function failure(
  err: unknown,
  timeout: AbortSignal,
  callerSignal: AbortSignal | undefined,
  endpoint: string,
  timeoutMs: number,
  scrub: (t: string) => string,
): ModelError {
  if (callerSignal?.aborted)
    return new ModelError("aborted", `model request was cancelled (POST ${endpoint})`);
  if (timeout.aborted)
    return new ModelError(
      "timeout",
      `model provider did not answer within ${timeoutMs} ms (POST ${endpoint})`,
    );
  const cause =
    err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
  return new ModelError("network", scrub(`cannot reach the model provider (POST ${endpoint}): ${cause}`));
}

/** The provider's own error message when the body is the usual `{error: {message}}`, else the text. */
function errorDetail(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } | string };
    const msg = typeof parsed.error === "string" ? parsed.error : parsed.error?.message;
    if (typeof msg === "string" && msg) return msg.slice(0, MAX_ERROR_BODY);
  } catch {
    // not JSON: fall through to the raw text
  }
  return body.trim().slice(0, MAX_ERROR_BODY) || "(empty body)";
}

// ---- request mapping -------------------------------------------------------------------------

function toWire(model: string, request: ChatRequest): Record<string, unknown> {
  const body: Record<string, unknown> = { model, messages: request.messages.map(messageToWire) };
  if (request.tools && request.tools.length > 0) {
    body.tools = request.tools.map((t) => ({
      type: "function",
      function: {
        name: t.name,
        ...(t.description ? { description: t.description } : {}),
        parameters: t.parameters,
      },
    }));
    if (request.toolChoice) {
      body.tool_choice =
        typeof request.toolChoice === "string"
          ? request.toolChoice
          : { type: "function", function: { name: request.toolChoice.name } };
    }
  }
  const format = request.responseFormat;
  if (format?.type === "json_schema") {
    body.response_format = {
      type: "json_schema",
      json_schema: {
        name: format.name,
        schema: format.schema,
        ...(format.strict !== undefined ? { strict: format.strict } : {}),
      },
    };
  } else if (format) {
    body.response_format = { type: format.type };
  }
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.maxTokens !== undefined) body.max_tokens = request.maxTokens;
  return body;
}

function messageToWire(m: ChatMessage): Record<string, unknown> {
  switch (m.role) {
    case "assistant":
      return {
        role: "assistant",
        content: m.content,
        ...(m.toolCalls && m.toolCalls.length > 0
          ? {
              tool_calls: m.toolCalls.map((c) => ({
                id: c.id,
                type: "function",
                function: { name: c.name, arguments: c.arguments },
              })),
            }
          : {}),
      };
    case "tool":
      return { role: "tool", tool_call_id: m.toolCallId, content: m.content };
    default:
      return { role: m.role, content: m.content };
  }
}

// ---- response mapping ------------------------------------------------------------------------

interface WireChoice {
  message?: {
    content?: unknown;
    tool_calls?: { id?: unknown; type?: unknown; function?: { name?: unknown; arguments?: unknown } }[];
  };
  finish_reason?: unknown;
}

function fromWire(text: string, configuredModel: string, endpoint: string): ChatCompletion {
  const bad = (why: string) =>
    new ModelError("bad_response", `model provider sent ${why} (POST ${endpoint})`);
  let body: { model?: unknown; choices?: WireChoice[]; usage?: Record<string, unknown> };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw bad("a body that is not JSON");
  }
  const choice = Array.isArray(body.choices) ? body.choices[0] : undefined;
  if (!choice?.message) throw bad("no choices[0].message");
  const content = typeof choice.message.content === "string" ? choice.message.content : null;
  const toolCalls: ToolCall[] = [];
  for (const [i, c] of (choice.message.tool_calls ?? []).entries()) {
    if (typeof c.function?.name !== "string") throw bad(`tool call ${i} without a function name`);
    const args = c.function.arguments;
    toolCalls.push({
      id: typeof c.id === "string" && c.id ? c.id : `call_${i}`,
      name: c.function.name,
      // Some servers send parsed objects instead of JSON text; normalise to text.
      arguments: typeof args === "string" ? args : JSON.stringify(args ?? {}),
    });
  }
  const usage = body.usage ?? {};
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
  const promptTokens = num(usage.prompt_tokens);
  const completionTokens = num(usage.completion_tokens);
  return {
    model: typeof body.model === "string" && body.model ? body.model : configuredModel,
    content,
    toolCalls,
    finishReason: finishReason(choice.finish_reason, toolCalls.length > 0),
    usage: {
      promptTokens,
      completionTokens,
      totalTokens: num(usage.total_tokens) || promptTokens + completionTokens,
    },
  };
}
