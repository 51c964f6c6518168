import { ModelError } from "../model-error.js";
import type { ChatCompletion, ChatRequest, ModelProvider } from "../types.js";
import type { EmbeddedSkill } from "./skill.js";

export const EMBEDDED_MODEL = "support-ext-embedded-1";

/**
 * The default model (docs/agent.md): no key, no network, same input → same output, so the product and
 * its tests run anywhere. It answers only what one of its skills recognises and says so otherwise.
 */
export function createEmbeddedProvider(skills: readonly EmbeddedSkill[]): ModelProvider {
  return {
    kind: "embedded",
    model: EMBEDDED_MODEL,
    async complete(request: ChatRequest): Promise<ChatCompletion> {
      for (const skill of skills) {
        const answer = skill.answer(request);
        if (!answer) continue;
        const toolCalls = answer.toolCalls ?? [];
        const promptTokens = estimateTokens(request.messages.map((m) => m.content ?? "").join("\n"));
        const completionTokens = estimateTokens(
          (answer.content ?? "") + toolCalls.map((c) => c.name + c.arguments).join(""),
        );
        return {
          model: EMBEDDED_MODEL,
          content: answer.content,
          toolCalls,
          finishReason: toolCalls.length > 0 ? "tool_calls" : "stop",
          usage: { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens },
        };
      }
      throw new ModelError(
        "unsupported",
        `the embedded model cannot handle this request (its skills: ${skills.map((s) => s.name).join(", ") || "none"}); configure LLM_BASE_URL for a general model`,
      );
    },
  };
}

/** Rough token count (≈4 characters per token) so usage figures are plausible and deterministic. */
function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
