import type { Config } from "../config/config.js";
import { createEmbeddedProvider } from "../model/embedded/embedded-provider.js";
import type { EmbeddedSkill } from "../model/embedded/skill.js";
import { createOpenAiCompatibleProvider } from "../model/openai-compatible.js";
import type { ModelProvider } from "../model/types.js";

type ModelConfig = Pick<Config, "LLM_BASE_URL" | "LLM_API_KEY" | "LLM_MODEL" | "LLM_TIMEOUT">;

/**
 * The configured model: an OpenAI-compatible server when `LLM_BASE_URL` is set, the embedded
 * deterministic provider otherwise (docs/agent.md). Throws when the configuration is half done.
 * `skills` are what the embedded provider can do, given by the service that needs them (the MCP
 * server's ticket triage, the agent's planner); a general model needs none.
 */
export function createModelProvider(
  config: ModelConfig,
  skills: readonly EmbeddedSkill[] = [],
): ModelProvider {
  if (!config.LLM_BASE_URL) return createEmbeddedProvider(skills);
  if (!config.LLM_MODEL) {
    throw new Error(
      "LLM_BASE_URL is set but LLM_MODEL is not: name the model to call (e.g. LLM_MODEL=gpt-4o-mini)",
    );
  }
  return createOpenAiCompatibleProvider({
    baseUrl: config.LLM_BASE_URL,
    model: config.LLM_MODEL,
    timeoutMs: config.LLM_TIMEOUT * 1000,
    ...(config.LLM_API_KEY ? { apiKey: config.LLM_API_KEY } : {}),
  });
}
