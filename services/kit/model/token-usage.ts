import type { Usage } from "./types.js";

/**
 * The wire `usage` object (chat completions, and the last chunk of a stream) as ours: a count
 * that is missing or not a finite number is 0, and a missing total is the sum of the two others.
 */
export function tokenUsage(usage: Record<string, unknown>): Usage {
  const promptTokens = count(usage.prompt_tokens);
  const completionTokens = count(usage.completion_tokens);
  return {
    promptTokens,
    completionTokens,
    totalTokens: count(usage.total_tokens) || promptTokens + completionTokens,
  };
}

function count(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}
