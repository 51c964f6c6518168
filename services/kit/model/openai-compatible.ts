import { ModelError } from "./model-error.js";
import type {
  ChatCompletion,
  ChatMessage,
  ChatRequest,
  CompleteOptions,
  FinishReason,
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
 * vLLM, llama.cpp, Ollama's /v1, LiteLLM …): one POST to `/chat/completions`, no streaming, no
 * retries (the caller decides; a retried tool-calling turn is not always safe).
 */
export function createOpenAiCompatibleProvider(options: OpenAiCompatibleOptions): ModelProvider {
  const endpoint = `${options.baseUrl.replace(/\/+$/, "")}/chat/completions`;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const doFetch = options.fetch ?? fetch;
  const secrets = options.apiKey ? [options.apiKey] : [];
  const scrub = (text: string) => secrets.reduce((t, s) => t.split(s).join("[REDACTED]"), text);

  return {
    kind: "openai-compatible",
    model: options.model,
    async complete(request: ChatRequest, callOptions: CompleteOptions = {}): Promise<ChatCompletion> {
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = callOptions.signal ? AbortSignal.any([timeout, callOptions.signal]) : timeout;
      let response: Response;
      try {
        response = await doFetch(endpoint, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            accept: "application/json",
            ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
          },
          body: JSON.stringify(toWire(options.model, request)),
          signal,
        });
      } catch (err) {
        throw failure(err, timeout, callOptions.signal, endpoint, timeoutMs, scrub);
      }
      let text: string;
      try {
        text = await response.text();
      } catch (err) {
        throw failure(err, timeout, callOptions.signal, endpoint, timeoutMs, scrub);
      }
      if (!response.ok) {
        throw new ModelError(
          "http",
          scrub(`model provider answered HTTP ${response.status} (POST ${endpoint}): ${errorDetail(text)}`),
          response.status,
        );
      }
      return fromWire(text, options.model, endpoint);
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

function finishReason(raw: unknown, hasToolCalls: boolean): FinishReason {
  switch (raw) {
    case "stop":
    case "tool_calls":
    case "length":
    case "content_filter":
      return raw;
    case "function_call":
      return "tool_calls";
    default:
      return hasToolCalls ? "tool_calls" : raw === undefined || raw === null ? "stop" : "other";
  }
}
