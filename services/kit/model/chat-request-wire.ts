import type { ChatMessage, ChatRequest } from "./types.js";

/**
 * A `ChatRequest` as the body of a chat-completions POST (OpenAI API reference, "Create chat
 * completion"): messages, tools and tool choice, response format, sampling bounds.
 */
export function chatRequestToWire(model: string, request: ChatRequest): Record<string, unknown> {
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
