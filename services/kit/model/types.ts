/**
 * The one model interface (docs/agent.md), shaped like OpenAI chat completions so that an
 * OpenAI-compatible server is a thin mapping and the embedded provider speaks the same language.
 * Field names are camelCase here; the wire mapping lives in `openai-compatible.ts`.
 */

export interface ToolCall {
  readonly id: string;
  readonly name: string;
  /** JSON text of the arguments, exactly as chat completions carries them. */
  readonly arguments: string;
}

export type ChatMessage =
  | { readonly role: "system"; readonly content: string }
  | { readonly role: "user"; readonly content: string }
  | { readonly role: "assistant"; readonly content: string | null; readonly toolCalls?: readonly ToolCall[] }
  | { readonly role: "tool"; readonly toolCallId: string; readonly content: string };

export interface ToolDefinition {
  readonly name: string;
  readonly description?: string;
  /** JSON Schema of the arguments object. */
  readonly parameters: Record<string, unknown>;
}

/** Structured output request; `name` also tells the embedded provider which task it is asked to do. */
export type ResponseFormat =
  | { readonly type: "text" }
  | { readonly type: "json_object" }
  | {
      readonly type: "json_schema";
      readonly name: string;
      readonly schema: Record<string, unknown>;
      readonly strict?: boolean;
    };

export interface ChatRequest {
  readonly messages: readonly ChatMessage[];
  readonly tools?: readonly ToolDefinition[];
  /** "auto" (default when tools are given), "none", "required", or one named tool. */
  readonly toolChoice?: "auto" | "none" | "required" | { readonly name: string };
  readonly responseFormat?: ResponseFormat;
  readonly temperature?: number;
  readonly maxTokens?: number;
}

export interface Usage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly totalTokens: number;
}

export type FinishReason = "stop" | "tool_calls" | "length" | "content_filter" | "other";

export interface ChatCompletion {
  /** The model that answered (as reported by the provider). */
  readonly model: string;
  readonly content: string | null;
  readonly toolCalls: readonly ToolCall[];
  readonly finishReason: FinishReason;
  readonly usage: Usage;
}

export interface CompleteOptions {
  /** Cancels the request (the caller went away, a run was stopped). */
  readonly signal?: AbortSignal;
}

/**
 * What a streamed completion delivers: text as the model writes it, then the whole completion
 * (whose `content` is the deltas joined). Exactly one `completion`, always last.
 */
export type CompletionEvent =
  | { readonly type: "textDelta"; readonly text: string }
  | { readonly type: "completion"; readonly completion: ChatCompletion };

export interface ModelProvider {
  /** "embedded" or "openai-compatible". */
  readonly kind: string;
  /** The configured model name. */
  readonly model: string;
  complete(request: ChatRequest, options?: CompleteOptions): Promise<ChatCompletion>;
  /**
   * The same completion, streamed (OpenAI chat completions with `stream: true`), so a chat can show
   * the answer as it is written. Optional: a provider without it (the embedded planner answers
   * in well under a millisecond) is called through `complete`. Fails with the same ModelError kinds.
   */
  stream?(request: ChatRequest, options?: CompleteOptions): AsyncIterable<CompletionEvent>;
}
